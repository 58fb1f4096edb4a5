"""The division importer: the shipped extracts, paths and full names, idempotence, and
malformed files that are refused with their file and line while the table stays as it was.

The module's database is a copy of the template, which imported the demo extract
(db/data/divisions) and tests/fixtures/divisions. Tests that import more do it inside a
transaction they roll back.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from db import divisions, embedded
from db.setup import Database, migrate_and_grant

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "divisions"
FILES = [spec.file for spec in divisions.LEVEL_FILES]
HEADERS = {spec.file: ",".join(spec.header) for spec in divisions.LEVEL_FILES}

CHECKSUM = (
    "SELECT count(*) AS n, md5(string_agg(r::text, E'\\n' ORDER BY code)) AS md5 FROM region r"
)
COUNT_BY_LEVEL = "SELECT level::text, count(*) FROM region GROUP BY level"
COUNT_UNDER_BY_LEVEL = (
    "SELECT level::text, count(*) FROM region WHERE path <@ $1::ltree GROUP BY level"
)
REGION = (
    "SELECT code, parent_code, level::text, name, full_name, path::text FROM region WHERE code = $1"
)
FULL_NAME = "SELECT full_name FROM region WHERE code = $1"
PATHS_NOT_FROM_PARENT = """
SELECT count(*) FROM region c JOIN region p ON p.code = c.parent_code
WHERE c.path <> p.path || c.code OR NOT c.code LIKE p.code || '%' AND p.level <> 'NATION'
   OR nlevel(c.path) <> nlevel(p.path) + 1
"""
REBUILDABLE_DEFINITIONS = """
SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'region'::regclass
UNION ALL
SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'region'::regclass
ORDER BY 1
"""


# -- helpers -------------------------------------------------------------------------------


def write_divisions(folder: Path, rows: dict[str, list[str]]) -> Path:
    """Five gzip CSV files in the shared format; `rows` holds data lines per file name."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in FILES:
        lines = [HEADERS[file], *rows.get(file, [])]
        (folder / file).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return folder


def valid_rows() -> dict[str, list[str]]:
    """A new township with three villages under the demo county, above it the real rows."""
    return {
        "provinces.csv.gz": ['34,"安徽省"'],
        "cities.csv.gz": ['3411,"滁州市",34'],
        "areas.csv.gz": ['341126,"凤阳县",3411,34'],
        "streets.csv.gz": ['341126990,"试验镇",341126,34,3411'],
        "villages.csv.gz": [
            '341126990001,"东村村民委员会",341126990,34,3411,341126',
            '341126990002,"西村村民委员会",341126990,34,3411,341126',
            '341126990003,"南村村民委员会",341126990,34,3411,341126',
        ],
    }


@asynccontextmanager
async def rolled_back(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Run the block in a transaction that is always rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield
    finally:
        await transaction.rollback()


async def checksum(conn: asyncpg.Connection) -> tuple[int, str]:
    row = await conn.fetchrow(CHECKSUM)
    assert row is not None
    return row["n"], row["md5"]


# -- the shipped data ----------------------------------------------------------------------


async def test_demo_extract_holds_fengyang_county_with_all_its_townships_and_villages(
    owner: asyncpg.Connection,
) -> None:
    under = {r[0]: r[1] for r in await owner.fetch(COUNT_UNDER_BY_LEVEL, "100000.34.3411.341126")}
    assert under == {"COUNTY": 1, "TOWNSHIP": 18, "VILLAGE": 250}


async def test_demo_and_fixture_extracts_import_the_expected_counts_per_level(
    owner: asyncpg.Connection,
) -> None:
    # demo 341126 (18 townships, 250 villages); fixtures 341125 (25, 260) and 110107 (9, 153)
    assert {r[0]: r[1] for r in await owner.fetch(COUNT_BY_LEVEL)} == {
        "NATION": 1,
        "PROVINCE": 2,
        "CITY": 2,
        "COUNTY": 3,
        "TOWNSHIP": 52,
        "VILLAGE": 663,
    }


async def test_the_root_is_the_nation_with_code_100000(owner: asyncpg.Connection) -> None:
    root = await owner.fetchrow(REGION, "100000")
    assert root is not None
    assert tuple(root) == ("100000", None, "NATION", "中华人民共和国", "中华人民共和国", "100000")


async def test_each_path_is_its_parents_path_followed_by_its_code(
    owner: asyncpg.Connection,
) -> None:
    assert await owner.fetchval(PATHS_NOT_FROM_PARENT) == 0
    village = await owner.fetchrow(REGION, "341126101001")
    assert village is not None
    assert village["parent_code"] == "341126101"
    assert village["path"] == "100000.34.3411.341126.341126101.341126101001"


@pytest.mark.parametrize(
    ("code", "full_name"),
    [
        ("34", "安徽省"),
        ("3411", "安徽省滁州市"),
        ("341126", "安徽省滁州市凤阳县"),
        ("341126101", "安徽省滁州市凤阳县临淮关镇"),
        ("341125", "安徽省滁州市定远县"),
        ("1101", "北京市市辖区"),  # a placeholder keeps its own name
        ("110107", "北京市石景山区"),  # … which its children skip
        ("110107001", "北京市石景山区八宝山街道"),
    ],
)
async def test_full_names_join_the_names_from_the_province_down_skipping_placeholders(
    owner: asyncpg.Connection, code: str, full_name: str
) -> None:
    assert await owner.fetchval(FULL_NAME, code) == full_name


async def test_only_a_placeholder_region_itself_carries_its_placeholder_name(
    owner: asyncpg.Connection,
) -> None:
    carrying = await owner.fetch("SELECT code FROM region WHERE full_name LIKE '%市辖区%'")
    assert [r["code"] for r in carrying] == ["1101"]


async def test_extracts_are_unchanged_rows_of_the_national_files(
    shared_divisions: Path,
) -> None:
    for file in FILES:
        national = gzip.decompress((shared_divisions / file).read_bytes()).decode().split("\n")
        national_rows = set(national[1:])
        for extract in (divisions.DEMO_DIVISIONS, FIXTURES):
            lines = gzip.decompress((extract / file).read_bytes()).decode().split("\n")
            assert lines[0] == national[0], (extract, file)
            assert lines[-1] == ""
            assert set(lines[1:-1]) <= national_rows, (extract, file)
        demo = gzip.decompress((divisions.DEMO_DIVISIONS / file).read_bytes()).decode()
        if file in ("streets.csv.gz", "villages.csv.gz"):
            in_county = [line for line in national if line.startswith("341126")]
            assert demo.split("\n")[1:-1] == in_county


# -- importing -----------------------------------------------------------------------------


async def test_reimporting_the_same_files_adds_nothing(owner: asyncpg.Connection) -> None:
    before = await checksum(owner)
    for folder in (divisions.DEMO_DIVISIONS, FIXTURES):
        report = await divisions.import_divisions(owner, folder)
        assert sum(report.added.values()) == 0
        assert report.total == before[0]
    assert await checksum(owner) == before


async def test_new_regions_under_parents_already_in_the_table_are_added_and_counted(
    owner: asyncpg.Connection, tmp_path: Path
) -> None:
    rows = valid_rows()
    rows["areas.csv.gz"] = ['110199,"试验区",1101,11']  # under the placeholder 市辖区
    rows["provinces.csv.gz"] = []
    rows["cities.csv.gz"] = []
    before = await checksum(owner)
    async with rolled_back(owner):
        report = await divisions.import_divisions(owner, write_divisions(tmp_path, rows))
        assert report.added == {
            "NATION": 0,
            "PROVINCE": 0,
            "CITY": 0,
            "COUNTY": 1,
            "TOWNSHIP": 1,
            "VILLAGE": 3,
        }
        assert report.total == before[0] + 5
        assert await owner.fetchval(FULL_NAME, "110199") == "北京市试验区"
        village = await owner.fetchrow(REGION, "341126990002")
        assert village is not None
        assert village["full_name"] == "安徽省滁州市凤阳县试验镇西村村民委员会"
        assert village["path"] == "100000.34.3411.341126.341126990.341126990002"
    assert await checksum(owner) == before


async def test_a_failure_while_writing_leaves_the_table_as_it_was(
    owner: asyncpg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_copy = divisions._copy

    async def copy_then_fail(conn: asyncpg.Connection, plan: divisions.Plan) -> None:
        await real_copy(conn, plan)
        raise RuntimeError("disk full")

    monkeypatch.setattr(divisions, "_copy", copy_then_fail)
    before = await checksum(owner)
    with pytest.raises(RuntimeError, match="disk full"):
        await divisions.import_divisions(owner, write_divisions(tmp_path, valid_rows()))
    assert await checksum(owner) == before


async def test_a_bulk_import_into_an_empty_table_rebuilds_indexes_and_keys_as_migrated(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert database.server is not None
    name = f"hub_divisions_{uuid.uuid4().hex[:8]}"
    superuser = await asyncpg.connect(database.server.superuser_dsn())
    try:
        await superuser.execute(f"CREATE DATABASE {name} OWNER {embedded.OWNER}")
        dsn = database.server.owner_dsn(name)
        await migrate_and_grant(dsn, None)
        conn = await asyncpg.connect(dsn)
        try:
            migrated = [r[0] for r in await conn.fetch(REBUILDABLE_DEFINITIONS)]
            monkeypatch.setattr(divisions, "BULK_MIN_ROWS", 1)
            report = await divisions.import_divisions(conn, divisions.DEMO_DIVISIONS)
            assert report.bulk
            assert report.total == 272
            assert [r[0] for r in await conn.fetch(REBUILDABLE_DEFINITIONS)] == migrated
            assert await conn.fetchval(PATHS_NOT_FROM_PARENT) == 0
            assert await conn.fetchval(FULL_NAME, "341126101") == "安徽省滁州市凤阳县临淮关镇"
        finally:
            await conn.close()
    finally:
        await superuser.execute(f"DROP DATABASE IF EXISTS {name}")
        await superuser.close()


# -- malformed files -----------------------------------------------------------------------

Edit = Callable[[dict[str, list[str]]], None]


def _set(file: str, index: int, line: str) -> Edit:
    def edit(rows: dict[str, list[str]]) -> None:
        rows[file][index] = line

    return edit


def _append(file: str, line: str) -> Edit:
    def edit(rows: dict[str, list[str]]) -> None:
        rows[file].append(line)

    return edit


VILLAGES = "villages.csv.gz"
STREETS = "streets.csv.gz"

# (case, edit, file, line, words in the reason); data line i of a file is line i + 2.
MALFORMED: list[tuple[str, Edit, str, int, str]] = [
    (
        "code too short",
        _set(VILLAGES, 1, '34112699000,"西村村民委员会",341126990,34,3411,341126'),
        VILLAGES,
        3,
        "is not 12 digits",
    ),
    (
        "code not digits",
        _set(STREETS, 0, '34112699x,"试验镇",341126,34,3411'),
        STREETS,
        2,
        "is not 9 digits",
    ),
    (
        "unknown parent",
        _set(VILLAGES, 2, '341126991003,"南村村民委员会",341126991,34,3411,341126'),
        VILLAGES,
        4,
        "streetCode '341126991' of code 341126991003 does not exist",
    ),
    (
        "parent of the wrong level",
        _set(VILLAGES, 2, '341126990003,"南村村民委员会",341126,34,3411,341126'),
        VILLAGES,
        4,
        "does not exist",
    ),
    (
        "broken line",
        _set(VILLAGES, 1, '341126990002,"西村村民委员会,341126990,34,3411,341126'),
        VILLAGES,
        3,
        "broken CSV line",
    ),
    (
        "broken last line",
        _set(VILLAGES, 2, '341126990003,"南村村民委员会,341126990,34,3411,341126'),
        VILLAGES,
        4,
        "broken CSV line",
    ),
    (
        "stray quote",
        _set(VILLAGES, 0, '341126990001,"东村"村民委员会,341126990,34,3411,341126'),
        VILLAGES,
        2,
        "broken CSV line",
    ),
    (
        "missing column",
        _set(STREETS, 0, '341126990,"试验镇",341126,34'),
        STREETS,
        2,
        "expected 5 columns, found 4",
    ),
    (
        "duplicate code",
        _append(VILLAGES, '341126990002,"又一村",341126990,34,3411,341126'),
        VILLAGES,
        5,
        "duplicate code 341126990002 (first on line 3)",
    ),
    (
        "code not under its parent",
        _set(VILLAGES, 2, '341127990003,"南村村民委员会",341126990,34,3411,341127'),
        VILLAGES,
        4,
        "does not start with its parent's code 341126990",
    ),
    (
        "ancestor column inconsistent",
        _set(VILLAGES, 2, '341126990003,"南村村民委员会",341126990,34,3412,341126'),
        VILLAGES,
        4,
        "cityCode '3412' does not match code 341126990003",
    ),
    (
        "empty name",
        _set(STREETS, 0, '341126990,"",341126,34,3411'),
        STREETS,
        2,
        "empty name",
    ),
    (
        "control character in a name",
        _set(VILLAGES, 0, '341126990001,"东村\t村民委员会",341126990,34,3411,341126'),
        VILLAGES,
        2,
        "control character U+0009",
    ),
    (
        "city under an unknown province",
        _append("cities.csv.gz", '3499,"无省市",35'),
        "cities.csv.gz",
        3,
        "provinceCode '35' of code 3499 does not exist",
    ),
]


@pytest.mark.parametrize(
    ("edit", "file", "line", "reason"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
async def test_a_malformed_file_is_refused_naming_file_and_line_and_nothing_changes(
    owner: asyncpg.Connection, tmp_path: Path, edit: Edit, file: str, line: int, reason: str
) -> None:
    rows = valid_rows()
    edit(rows)
    before = await checksum(owner)
    with pytest.raises(divisions.DivisionImportError) as raised:
        await divisions.import_divisions(owner, write_divisions(tmp_path, rows))
    error = raised.value
    assert (error.file, error.line) == (file, line)
    assert str(error).startswith(f"{file} line {line}: ")
    assert reason in error.reason
    assert await checksum(owner) == before


async def test_a_bad_header_is_refused_on_line_1(owner: asyncpg.Connection, tmp_path: Path) -> None:
    folder = write_divisions(tmp_path, valid_rows())
    data = gzip.decompress((folder / STREETS).read_bytes()).replace(b"areaCode", b"countyCode")
    (folder / STREETS).write_bytes(gzip.compress(data))
    before = await checksum(owner)
    with pytest.raises(divisions.DivisionImportError, match=r"^streets\.csv\.gz line 1: header"):
        await divisions.import_divisions(owner, folder)
    assert await checksum(owner) == before


async def test_a_missing_file_is_named(owner: asyncpg.Connection, tmp_path: Path) -> None:
    folder = write_divisions(tmp_path, valid_rows())
    (folder / "areas.csv.gz").unlink()
    before = await checksum(owner)
    with pytest.raises(divisions.DivisionImportError, match=r"^areas\.csv\.gz: file is missing"):
        await divisions.import_divisions(owner, folder)
    assert await checksum(owner) == before


async def test_a_file_that_is_not_gzip_is_named(owner: asyncpg.Connection, tmp_path: Path) -> None:
    folder = write_divisions(tmp_path, valid_rows())
    (folder / VILLAGES).write_text("code,name\n")
    with pytest.raises(divisions.DivisionImportError, match=r"^villages\.csv\.gz: not a readable"):
        await divisions.import_divisions(owner, folder)
