"""The enumerated values agree wherever they are written: PostgreSQL's enum types, the GraphQL
enums (the Python classes and the committed SDL), the Chinese labels, and the status sets and
workflow tables that Python and SQL each spell out. A failure names each value that differs
and where it is missing or extra.

The SQL side is read from the migrated database (`pg_enum`, function bodies and view
definitions), so a later migration that replaces a function is what is compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum

import asyncpg
import graphql
import pytest

from resolvers import exports, figures, labels, services, workflow
from resolvers.mutations import participation
from schema import enums
from schema.build import SDL_PATH
from server import export_figures

# Each PostgreSQL enum type with the GraphQL enum and the labels that spell its values.
BACKED: dict[str, tuple[type[Enum], dict[str, str]]] = {
    "region_level": (enums.RegionLevel, labels.REGION_LEVEL),
    "organization_kind": (enums.OrganizationKind, labels.ORGANIZATION_KIND),
    "service_category": (enums.ServiceCategory, labels.SERVICE_CATEGORY),
    "service_channel": (enums.ServiceChannel, labels.SERVICE_CHANNEL),
    "service_status": (enums.ServiceStatus, labels.SERVICE_STATUS),
    "participation_kind": (enums.ParticipationKind, labels.PARTICIPATION_KIND),
    "resolution_status": (enums.ResolutionStatus, labels.RESOLUTION_STATUS),
}
# GraphQL enums with no column behind them: arguments and views of the API only.
GRAPHQL_ONLY = {
    "RegionAccess",
    "ServiceRequestOrder",
    "Breakdown",
    "BreakdownOrder",
    "IngestFormat",
    "ServiceRequestAction",
    "OrganizationOrder",
    "ParticipationEventOrder",
    "FigureNoteKind",
}
# PostgreSQL enum types the API never shows (none yet).
SQL_ONLY: set[str] = set()

SQL_ENUMS = """
select t.typname, array_agg(e.enumlabel order by e.enumsortorder) as labels
from pg_type t
join pg_enum e on e.enumtypid = t.oid
join pg_namespace n on n.oid = t.typnamespace
where n.nspname = 'public'
group by t.typname
"""
# Every function body and view definition of the hub's schemas, as the database holds them.
DEFINITIONS = """
select p.proname as name, 'function' as kind, p.prosrc as text
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where n.nspname in ('public', 'reporting') and p.prolang <> 13  -- 13: C
union all
select c.relname, 'view', pg_get_viewdef(c.oid)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname in ('public', 'reporting') and c.relkind in ('v', 'm')
"""
FUNCTION = "select prosrc from pg_proc where proname = $1"

# A list of quoted values: ('A', 'B') in SQL we wrote, ARRAY['A'::t, 'B'::t] as PostgreSQL
# prints a view.
LISTS = re.compile(r"\(\s*'[A-Z_]+'(?:\s*,\s*'[A-Z_]+')*\s*\)|ARRAY\[[^\]]*\]")
VALUE = re.compile(r"'([A-Z_]+)'")
PAIR = re.compile(r"\(\s*'([A-Z_]+)'\s*,\s*'([A-Z_]+)'\s*\)")


def differences(reference: str, expected: Sequence[str], **others: Sequence[str]) -> list[str]:
    """What each of `others` lacks, adds, or orders differently from `expected`."""
    problems = []
    for where, values in others.items():
        if lacking := [v for v in expected if v not in values]:
            problems.append(f"{where} lacks {', '.join(lacking)} (in {reference})")
        if extra := [v for v in values if v not in expected]:
            problems.append(f"{where} has {', '.join(extra)}, not in {reference}")
        if not lacking and not extra and list(values) != list(expected):
            problems.append(f"{where} orders them {list(values)}, {reference} {list(expected)}")
    return problems


def sdl_enums() -> dict[str, list[str]]:
    document = graphql.parse(SDL_PATH.read_text(encoding="utf-8"))
    return {
        node.name.value: [value.name.value for value in node.values or ()]
        for node in document.definitions
        if isinstance(node, graphql.EnumTypeDefinitionNode)
    }


async def sql_enums(conn: asyncpg.Connection) -> dict[str, list[str]]:
    return {row["typname"]: list(row["labels"]) for row in await conn.fetch(SQL_ENUMS)}


async def function_text(conn: asyncpg.Connection, name: str) -> str:
    text: str | None = await conn.fetchval(FUNCTION, name)
    assert text is not None, f"no function {name} in the database"
    return text


def quoted_lists(text: str) -> Iterable[list[str]]:
    for match in LISTS.finditer(text):
        yield VALUE.findall(match[0])


def allowed_moves(text: str, function: str) -> set[tuple[str, str]]:
    """The (old, new) status pairs of a trigger's `(old.status, new.status) not in (…)`."""
    block = re.search(r"\(old\.status,\s*new\.status\)\s+not\s+in\s*\((.*?)\)\s*then", text, re.S)
    assert block is not None, f"{function} has no `(old.status, new.status) not in (…)` table"
    return set(PAIR.findall(block[1]))


def moves_differ(python: set[tuple[str, str]], sql: set[tuple[str, str]], names: str) -> list[str]:
    return [f"{a} → {b} is allowed by {names} only" for a, b in sorted(python - sql)] + [
        f"{a} → {b} is allowed by the SQL trigger only" for a, b in sorted(sql - python)
    ]


async def test_every_sql_enum_is_compared_or_known_to_stay_in_sql(
    owner: asyncpg.Connection,
) -> None:
    in_sql, known = set(await sql_enums(owner)), set(BACKED) | SQL_ONLY
    assert in_sql == known, (
        f"SQL enum types unknown to this test (add them to BACKED or SQL_ONLY): "
        f"{sorted(in_sql - known)}; known here but not in the database: {sorted(known - in_sql)}"
    )


def test_every_graphql_enum_is_backed_by_sql_or_known_to_be_graphql_only() -> None:
    known = {cls.__name__ for cls, _ in BACKED.values()} | GRAPHQL_ONLY
    in_sdl = set(sdl_enums())
    assert in_sdl == known, (
        f"GraphQL enums in schema.graphql unknown to this test (add them to BACKED or "
        f"GRAPHQL_ONLY): {sorted(in_sdl - known)}; "
        f"known here but not in schema.graphql: {sorted(known - in_sdl)}"
    )


@pytest.mark.parametrize("sql_type", sorted(BACKED))
async def test_sql_graphql_and_label_values_agree(owner: asyncpg.Connection, sql_type: str) -> None:
    cls, label = BACKED[sql_type]
    expected = (await sql_enums(owner)).get(sql_type, [])
    problems = differences(
        f"SQL enum {sql_type}",
        expected,
        **{
            f"schema/enums.py {cls.__name__} (names)": [m.name for m in cls],
            f"schema/enums.py {cls.__name__} (values)": [m.value for m in cls],
            f"schema.graphql {cls.__name__}": sdl_enums().get(cls.__name__, []),
            f"resolvers/labels.py {sql_type.upper()}": list(label),
        },
    )
    assert not problems, "\n".join(problems)


async def test_open_and_resolved_statuses_are_the_same_sets_in_python_and_sql(
    owner: asyncpg.Connection,
) -> None:
    statuses = (await sql_enums(owner))["service_status"]
    open_, resolved = list(figures.OPEN), list(figures.RESOLVED)
    problems: list[str] = []
    rest = [s for s in statuses if s not in (*open_, *resolved)]
    if sorted(rest) != ["REJECTED", "WITHDRAWN"]:
        problems.append(f"statuses neither open nor resolved: {rest}, not REJECTED, WITHDRAWN")
    problems += [f"{s} is not a service_status" for s in (*open_, *resolved) if s not in statuses]
    problems += differences(
        "resolvers/figures.py OPEN",
        open_,
        **{
            "resolvers/exports.py OPEN": list(exports.OPEN),
            "resolvers/services.py OPEN": VALUE.findall(services.OPEN),
        },
    )
    # The roll-ups' functions and the reporting views are the figures' definitions in SQL:
    # every list of statuses in them is the open or the resolved one.
    figures_in_sql = [
        row
        for row in await owner.fetch(DEFINITIONS)
        if row["name"].startswith("rollup_") or row["kind"] == "view"
    ]
    assert len(figures_in_sql) >= 2, "no roll-up functions or reporting views found"
    for row in figures_in_sql:
        for values in quoted_lists(row["text"]):
            listed = set(values)
            if listed <= set(statuses) and listed not in (set(open_), set(resolved)):
                problems.append(
                    f"SQL {row['name']} lists {', '.join(values)}: neither resolvers/figures.py "
                    f"OPEN ({', '.join(open_)}) nor RESOLVED ({', '.join(resolved)})"
                )
    assert not problems, "\n".join(problems)


async def test_counted_statuses_are_the_roll_up_columns_and_the_export_columns(
    owner: asyncpg.Connection,
) -> None:
    counted = [s for s in (await sql_enums(owner))["service_status"] if s != "WITHDRAWN"]
    columns = [
        row["column_name"]
        for row in await owner.fetch(
            "select column_name from information_schema.columns"
            " where table_name = 'rollup_service' order by ordinal_position"
        )
    ]
    problems = differences(
        "service_status without WITHDRAWN",
        counted,
        **{
            "resolvers/figures.py STATUS_COLUMNS": list(figures.STATUS_COLUMNS),
            "server/export_figures.py SERVICE_STATUS": list(export_figures.SERVICE_STATUS),
        },
    )
    problems += differences(
        "resolvers/figures.py STATUS_COLUMNS",
        list(figures.STATUS_COLUMNS.values()),
        **{
            "rollup_service's columns": [c for c in columns if c in figures.STATUS_COLUMNS.values()]
        },
    )
    assert not problems, "\n".join(problems)


async def test_request_actions_allow_the_moves_the_workflow_trigger_allows(
    owner: asyncpg.Connection,
) -> None:
    statuses = set((await sql_enums(owner))["service_status"])
    python = {
        (source, action.target or source)
        for action in workflow.ACTIONS.values()
        for source in action.sources
    }
    function = "check_service_request_change"
    sql = allowed_moves(await function_text(owner, function), function)
    problems = moves_differ(python, sql, "resolvers/workflow.py ACTIONS")
    unknown = {s for pair in python | sql for s in pair} - statuses
    problems += [f"{s} is not a service_status" for s in sorted(unknown)]
    assert not problems, "\n".join(problems)


async def test_resolution_moves_are_the_same_in_python_and_the_workflow_trigger(
    owner: asyncpg.Connection,
) -> None:
    statuses = set((await sql_enums(owner))["resolution_status"])
    python = {(old, new) for old, targets in participation.NEXT.items() for new in targets}
    function = "check_resolution_change"
    sql = allowed_moves(await function_text(owner, function), function)
    problems = moves_differ(python, sql, "resolvers/mutations/participation.py NEXT")
    unknown = {s for pair in python | sql for s in pair} - statuses
    problems += [f"{s} is not a resolution_status" for s in sorted(unknown)]
    assert not problems, "\n".join(problems)


async def test_participant_groups_are_the_ones_ingestion_accepts(
    owner: asyncpg.Connection,
) -> None:
    text = await function_text(owner, "ingest_batch")
    lists = [v for v in quoted_lists(text) if "PARTY_MEMBERS" in v]
    assert len(lists) == 1, f"ingest_batch names participant groups in {len(lists)} lists"
    problems = differences(
        "resolvers/labels.py PARTICIPANT_GROUP",
        list(labels.PARTICIPANT_GROUP),
        **{"SQL ingest_batch": lists[0]},
    )
    assert not problems, "\n".join(problems)
