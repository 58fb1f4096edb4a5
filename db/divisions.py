"""Import China's statistical divisions into `region`.

The input is a folder of five gzip CSV files, one per level, in the format of
`../shared/data/divisions` (see its README): `provinces.csv.gz`, `cities.csv.gz`,
`areas.csv.gz`, `streets.csv.gz` and `villages.csv.gz`.

Everything is read and validated in Python before anything is written; the first error
raises `DivisionImportError` naming the file and line. The import runs in one transaction
with the table locked against other writers, so it lands whole or not at all: codes
already present are left alone (re-running adds nothing), the NATION root is created when
missing, and the new rows go in with one `COPY`, parents before children.

A bulk import (at least `BULK_MIN_ROWS` new rows, and no fewer than the table held) drops
the table's secondary indexes, its unique constraint on `path` and its parent foreign key,
and rebuilds them after the `COPY`: building the ltree GiST index and checking the foreign
key once is several times faster than maintaining them row by row. The definitions are
read back from the catalog, so they stay those of the migrations. Rebuilding needs the
table's ACCESS EXCLUSIVE lock, so readers wait for a bulk import to commit.
"""

from __future__ import annotations

import csv
import gzip
import re
import time
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, NoReturn

import asyncpg

DEMO_DIVISIONS: Path = Path(__file__).parent / "data" / "divisions"

ROOT_CODE = "100000"
ROOT_NAME = "中华人民共和国"
# City names in the division files that stand for "the districts/counties under it";
# full names skip them.
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

LEVELS = ("NATION", "PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE")
COLUMN_DIGITS = {"provinceCode": 2, "cityCode": 4, "areaCode": 6, "streetCode": 9}
COPY_COLUMNS = ["code", "parent_code", "level", "name", "full_name", "path"]
COPY_CHUNK_ROWS = 20_000
BULK_MIN_ROWS = 50_000
BULK_MAINTENANCE_WORK_MEM = "256MB"

LOCK_REGION = "LOCK TABLE region IN SHARE ROW EXCLUSIVE MODE"
LOCK_REGION_EXCLUSIVE = "LOCK TABLE region IN ACCESS EXCLUSIVE MODE"
SELECT_PARENTS = """
SELECT code, name, full_name, path::text AS path
FROM region
WHERE level <> $1::region_level
ORDER BY nlevel(path)
"""
SELECT_CODES_AT_LEVEL = "SELECT code FROM region WHERE level = $1::region_level"
INSERT_ROOT = """
INSERT INTO region (code, parent_code, level, name, full_name, path)
VALUES ($1::text, NULL, 'NATION', $2::text, $2::text, $1::text::ltree)
ON CONFLICT DO NOTHING
"""
# What a bulk import drops and rebuilds, as DDL generated from the catalog: indexes that
# back no constraint, unique constraints no foreign key relies on, and the foreign keys
# from region to itself.
SELECT_REBUILDABLE = """
SELECT c.relname::text AS name,
       format('DROP INDEX %I.%I', n.nspname, c.relname) AS drop_sql,
       pg_get_indexdef(i.indexrelid) AS create_sql
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = 'region'::regclass
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
UNION ALL
SELECT k.conname::text,
       format('ALTER TABLE region DROP CONSTRAINT %I', k.conname),
       format('ALTER TABLE region ADD CONSTRAINT %I %s', k.conname, pg_get_constraintdef(k.oid))
FROM pg_constraint k
WHERE k.conrelid = 'region'::regclass
  AND (k.contype = 'f' AND k.confrelid = 'region'::regclass
       OR k.contype = 'u' AND NOT EXISTS (
           SELECT FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = k.conindid))
ORDER BY drop_sql
"""
SET_MAINTENANCE_WORK_MEM = "SELECT set_config('maintenance_work_mem', $1, true)"
COUNT_REGIONS = "SELECT count(*) FROM region"
ANALYZE_REGION = "ANALYZE region"


class DivisionImportError(ValueError):
    """A division file is missing or malformed; nothing was imported."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        self.file = file
        self.line = line
        self.reason = reason
        where = f"{file} line {line}" if line else file
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class ImportReport:
    added: dict[str, int]  # regions inserted, per level name (NATION … VILLAGE)
    read: dict[str, int]  # data rows read from the files, per level name
    total: int  # regions in the table after the import
    bulk: bool = False  # whether indexes and the parent foreign key were rebuilt
    seconds: dict[str, float] = field(default_factory=dict)  # per phase, for benchmarks


@dataclass(frozen=True)
class LevelFile:
    file: str
    level: str
    digits: int
    header: tuple[str, ...]

    @property
    def parent_column(self) -> str | None:
        return self.header[2] if len(self.header) > 2 else None

    @property
    def parent_path_format(self) -> str:
        """The parent's path spelled from a row's ancestor columns, root first (after `{0}`)."""
        ancestors = sorted(range(2, len(self.header)), key=lambda i: COLUMN_DIGITS[self.header[i]])
        return "{0}" + "".join(f".{{{i + 1}}}" for i in ancestors)


LEVEL_FILES = (
    LevelFile("provinces.csv.gz", "PROVINCE", 2, ("code", "name")),
    LevelFile("cities.csv.gz", "CITY", 4, ("code", "name", "provinceCode")),
    LevelFile("areas.csv.gz", "COUNTY", 6, ("code", "name", "cityCode", "provinceCode")),
    LevelFile(
        "streets.csv.gz", "TOWNSHIP", 9, ("code", "name", "areaCode", "provinceCode", "cityCode")
    ),
    LevelFile(
        "villages.csv.gz",
        "VILLAGE",
        12,
        ("code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"),
    ),
)


class Known(NamedTuple):
    """What a child needs of its parent."""

    path: str
    full_name: str
    prefix: str  # the start of its children's full names (placeholder names skipped)


@dataclass
class Plan:
    """The validated import: new rows per level as lines of COPY text, rows read per level."""

    root_missing: bool
    lines: dict[str, list[str]] = field(default_factory=dict)
    read: dict[str, int] = field(default_factory=dict)

    @property
    def new_rows(self) -> int:
        return sum(map(len, self.lines.values())) + self.root_missing


# -- reading -------------------------------------------------------------------------------

# Control characters other than the line feed; a name may not contain them (COPY's text
# format would need them escaped, and no real name has one).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _read_lines(directory: Path, spec: LevelFile) -> list[str]:
    path = directory / spec.file
    if not path.is_file():
        raise DivisionImportError(spec.file, 0, f"file is missing from {directory}")
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as error:
        raise DivisionImportError(spec.file, 0, f"not a readable gzip file ({error})") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DivisionImportError(spec.file, line, "not valid UTF-8") from None
    control = _CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        code_point = f"U+{ord(control.group()):04X}"
        raise DivisionImportError(spec.file, line, f"control character {code_point}")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise DivisionImportError(spec.file, 1, "file is empty (no header line)")
    if lines[0] != ",".join(spec.header):
        expected = ",".join(spec.header)
        raise DivisionImportError(spec.file, 1, f"header is {lines[0]!r}, expected {expected!r}")
    return lines


# -- validation ----------------------------------------------------------------------------


def _plan_level(
    spec: LevelFile, lines: list[str], known: dict[str, Known], root: Known, existing: set[str]
) -> tuple[list[str], int]:
    """The new rows of one level as COPY text lines, and how many rows the file has.

    New regions that can be parents are added to `known`. This loop runs 665,276 times for
    the national files, so its happy path is one condition; any row that fails it goes to
    `_row_error`, which finds the first rule it breaks.
    """
    out: list[str] = []
    seen: set[str] = set()
    columns, digits, level = len(spec.header), spec.digits, spec.level
    spell_parent = spec.parent_path_format.format
    keep = level != "VILLAGE"
    has_parent = spec.parent_column is not None
    reader = csv.reader(lines, strict=True)
    next(reader)
    line = 1
    try:
        for row in reader:
            line += 1
            if reader.line_num != line:
                raise DivisionImportError(spec.file, line, "broken CSV line (unterminated quote)")
            if len(row) != columns:
                _row_error(spec, line, row, lines, known, root, seen)
            code, name = row[0], row[1]
            parent_code = row[2] if has_parent else ROOT_CODE
            parent = known.get(parent_code) if has_parent else root
            if (
                parent is None
                or len(code) != digits
                or not code.isdigit()
                or not code.isascii()
                or not name
                or name.isspace()
                or code in seen
                or not code.startswith(parent_code if has_parent else "")
                or parent.path != spell_parent(root.path, *row)
            ):
                _row_error(spec, line, row, lines, known, root, seen)
            seen.add(code)
            if code in existing:
                continue
            if name in PLACEHOLDER_NAMES:
                full_name, prefix = parent.full_name + name, parent.prefix
            else:
                full_name = prefix = parent.prefix + name
            path = f"{parent.path}.{code}"
            out.append(f"{code}\t{parent_code}\t{level}\t{name}\t{full_name}\t{path}\n")
            if keep:
                known[code] = Known(path, full_name, prefix)
    except csv.Error as error:
        raise DivisionImportError(spec.file, line + 1, f"broken CSV line ({error})") from None
    return out, len(seen)


def _row_error(
    spec: LevelFile,
    line: int,
    row: list[str],
    lines: list[str],
    known: dict[str, Known],
    root: Known,
    seen: set[str],
) -> NoReturn:
    """Raise the error of a row that failed the fast check, for the first rule it breaks."""

    def fail(reason: str) -> NoReturn:
        raise DivisionImportError(spec.file, line, reason)

    if len(row) != len(spec.header):
        fail(f"expected {len(spec.header)} columns, found {len(row)}")
    code, name = row[0], row[1]
    if len(code) != spec.digits or not (code.isascii() and code.isdigit()):
        fail(f"code {code!r} is not {spec.digits} digits")
    if not name.strip():
        fail(f"code {code} has an empty name")
    if code in seen:
        first = next((i for i, text in enumerate(lines, 1) if text.startswith(f"{code},")), 0)
        fail(f"duplicate code {code}" + (f" (first on line {first})" if first else ""))
    for index, column in enumerate(spec.header[3:], 3):
        if row[index] != code[: COLUMN_DIGITS[column]]:
            fail(f"{column} {row[index]!r} does not match code {code}")
    parent = root
    if spec.parent_column is not None:
        parent_code = row[2]
        found = known.get(parent_code)
        if found is None or len(parent_code) != COLUMN_DIGITS[spec.parent_column]:
            fail(f"{spec.parent_column} {parent_code!r} of code {code} does not exist")
        if not code.startswith(parent_code):
            fail(f"code {code} does not start with its parent's code {parent_code}")
        parent = found
    fail(f"the ancestor columns of code {code} do not spell its parent's path {parent.path}")


async def _known_regions(conn: asyncpg.Connection) -> tuple[Known | None, dict[str, Known]]:
    """The root and the possible parents already in the table, as children see them."""
    root: Known | None = None
    known: dict[str, Known] = {}
    for row in await conn.fetch(SELECT_PARENTS, "VILLAGE"):
        code, name, full_name, path = row["code"], row["name"], row["full_name"], row["path"]
        if code == ROOT_CODE:
            root = Known(path, full_name, "")
            continue
        parent = known.get(path.rsplit(".", 2)[-2]) if path.count(".") > 1 else root
        prefix = parent.prefix if parent is not None and name in PLACEHOLDER_NAMES else full_name
        known[code] = Known(path, full_name, prefix)
    return root, known


async def _plan(conn: asyncpg.Connection, files: Sequence[tuple[LevelFile, list[str]]]) -> Plan:
    root, known = await _known_regions(conn)
    existing = set(known)
    existing.update(row["code"] for row in await conn.fetch(SELECT_CODES_AT_LEVEL, "VILLAGE"))
    plan = Plan(root_missing=root is None)
    root = root or Known(ROOT_CODE, ROOT_NAME, "")
    for spec, lines in files:
        plan.lines[spec.level], plan.read[spec.level] = _plan_level(
            spec, lines, known, root, existing
        )
    return plan


# -- writing -------------------------------------------------------------------------------


async def _copy_text(lines: Sequence[str]) -> AsyncIterator[bytes]:
    """COPY text-format data in chunks; names were checked free of control characters."""
    for start in range(0, len(lines), COPY_CHUNK_ROWS):
        chunk = "".join(lines[start : start + COPY_CHUNK_ROWS])
        yield chunk.replace("\\", "\\\\").encode("utf-8")


async def _copy(conn: asyncpg.Connection, plan: Plan) -> None:
    lines = [text for level in LEVELS[1:] for text in plan.lines.get(level, ())]
    if lines:
        await conn.copy_to_table(
            "region", source=_copy_text(lines), columns=COPY_COLUMNS, format="text"
        )


async def _bulk_copy(conn: asyncpg.Connection, plan: Plan, clock: _Clock) -> None:
    """COPY with the secondary indexes and the parent foreign key rebuilt afterwards."""
    await conn.execute(LOCK_REGION_EXCLUSIVE)
    rebuild = await conn.fetch(SELECT_REBUILDABLE)
    for row in rebuild:
        await conn.execute(row["drop_sql"])
    await _copy(conn, plan)
    clock.lap("copy")
    await conn.fetchval(SET_MAINTENANCE_WORK_MEM, BULK_MAINTENANCE_WORK_MEM)
    for row in rebuild:
        await conn.execute(row["create_sql"])
        clock.lap(f"rebuild {row['name']}")


def _is_bulk(plan: Plan, regions_before: int) -> bool:
    return plan.new_rows >= max(BULK_MIN_ROWS, regions_before)


class _Clock:
    """Seconds per phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._last, 3)
        self._last = now


async def import_divisions(conn: asyncpg.Connection, directory: Path) -> ImportReport:
    """Import the five division files of `directory` into `region`, all or nothing.

    `conn` is the owner's login (row-level security does not apply to it).
    """
    clock = _Clock()
    files = [(spec, _read_lines(directory, spec)) for spec in LEVEL_FILES]
    clock.lap("read")
    async with conn.transaction():
        await conn.execute(LOCK_REGION)
        before = int(await conn.fetchval(COUNT_REGIONS))
        plan = await _plan(conn, files)
        clock.lap("validate")
        if plan.root_missing:
            await conn.execute(INSERT_ROOT, ROOT_CODE, ROOT_NAME)
        bulk = _is_bulk(plan, before)
        if bulk:
            await _bulk_copy(conn, plan, clock)
        else:
            await _copy(conn, plan)
            clock.lap("copy")
    clock.lap("commit")
    await conn.execute(ANALYZE_REGION)
    total = int(await conn.fetchval(COUNT_REGIONS))
    clock.lap("analyze")
    added = dict.fromkeys(LEVELS, 0)
    added["NATION"] = int(plan.root_missing)
    added.update({level: len(lines) for level, lines in plan.lines.items()})
    return ImportReport(added, plan.read, total, bulk, clock.seconds)
