"""Roll-ups stay exact: every figure of the nation, a province and a city equals a direct count
over the base rows after scoped writes, and the roll-up tables equal a rebuild from scratch.

The tests of this module share one database and run in order: later ones see the writes of
earlier ones, as the figures of a live hub would.
"""

import asyncio
import datetime as dt
import json
from typing import Any

import asyncpg
import pytest

from db import clock, rollups
from db.setup import Database
from tests.conftest import Hub
from tests.server.test_cli import grassroots

CST = dt.timezone(dt.timedelta(hours=8))
NATION, PROVINCE, CITY, COUNTY, TOWNSHIP = "100000", "34", "3411", "341126", "341126101"
VILLAGE = "341126101001"
REGIONS = [NATION, PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE]

STATS = """query ($code: String!, $from: Date, $to: Date) { region(code: $code) {
  stats(from: $from, to: $to) { ...figures } } }
fragment figures on RegionStats { organizations partyMembers organizationsByKind { key count }
  serviceRequests { total open resolved overdue responseRate resolutionRate satisfactionRate
    responseDue respondedInTime resolvable rated satisfied
    averageHoursToResolve byStatus { key count } byCategory { key count } }
  participation { events participants byKind { key count } resolutionsAdopted
    resolutionsImplemented } }"""

BREAKDOWN = """query ($code: String!, $by: Breakdown!, $from: Date, $to: Date) {
  region(code: $code) { breakdown(by: $by, from: $from, to: $to) { key stats { ...figures } } } }
""" + STATS[STATS.index("fragment") :]

# The figures of DESIGN.md §5, counted from base rows: the subtree of region $1, requests
# submitted and events started in days [$2, $3] (China Standard Time), with "now" $4.
PERIOD = """($2::date is null or (%(at)s at time zone 'Asia/Shanghai')::date >= $2)
    and ($3::date is null or (%(at)s at time zone 'Asia/Shanghai')::date <= $3)"""
KEYS = {
    "": "''",
    "CHILD": "(select c.code from region c where c.path @> t.path and nlevel(c.path) = "
    "nlevel(r.path) + 1)",
    "MONTH_S": "to_char(t.submitted_at at time zone 'Asia/Shanghai', 'YYYY-MM')",
    "MONTH_E": "to_char(t.starts_at at time zone 'Asia/Shanghai', 'YYYY-MM')",
    "CATEGORY": "t.category::text",
    "KIND": "t.kind::text",
}
SERVICES = """
select {key} as key, count(*) as total,
  count(*) filter (where status in ('SUBMITTED','ACCEPTED','IN_PROGRESS','ESCALATED')) as open,
  count(*) filter (where status in ('RESOLVED','CLOSED')) as resolved,
  count(*) filter (where status in ('SUBMITTED','ACCEPTED','IN_PROGRESS','ESCALATED')
                   and due_at < $4) as overdue,
  count(*) filter (where status = 'REJECTED') as rejected,
  count(*) filter (where first_responded_at - submitted_at <= interval '24 hours') as in_time,
  count(*) filter (where first_responded_at - submitted_at <= interval '24 hours'
                   or submitted_at + interval '24 hours' <= $4) as due,
  count(*) filter (where satisfaction is not null) as rated,
  count(*) filter (where satisfaction >= 4) as satisfied,
  avg(extract(epoch from resolved_at - submitted_at) / 3600)
      filter (where status in ('RESOLVED','CLOSED')) as hours,
  jsonb_object_agg(status, 1) as statuses
from service_request t, region r
where r.code = $1 and t.path <@ r.path and t.status <> 'WITHDRAWN' and {period}
group by 1
"""
BY_STATUS = """
select {key} as key, t.status::text as status, t.category::text as category, count(*) as n
from service_request t, region r
where r.code = $1 and t.path <@ r.path and t.status <> 'WITHDRAWN' and {period}
group by 1, 2, 3
"""
EVENTS = """
select {key} as key, t.kind::text as kind, count(*) as n, sum(t.participant_count) as p
from participation_event t, region r
where r.code = $1 and t.path <@ r.path and {period}
group by 1, 2
"""
RESOLUTIONS = """
select {key} as key, count(*) filter (where t.status in ('ADOPTED', 'IMPLEMENTED')
      and t.decided_on between coalesce($2::date, '-infinity')
      and coalesce($3::date, 'infinity')) as adopted,
  count(*) filter (where t.implemented_on between coalesce($2::date, '-infinity')
      and coalesce($3::date, 'infinity')) as implemented
from resolution t, region r
where r.code = $1 and t.path <@ r.path
group by 1
"""
ORGANIZATIONS = """
select {key} as key, t.kind::text as kind, count(*) as n, sum(t.party_member_count) as p
from organization t, region r
where r.code = $1 and t.path <@ r.path
group by 1, 2
"""


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


async def expected(
    owner: asyncpg.Connection, code: str, start: str | None, end: str | None, by: str = ""
) -> dict[str, dict[str, Any]]:
    """The figures of `code`'s subtree keyed by `by` (a key of KEYS), from base rows."""
    args = (code, _day(start), _day(end))
    services_key = KEYS["MONTH_S" if by == "MONTH" else by] if by != "KIND" else None
    events_key = KEYS["MONTH_E" if by == "MONTH" else by] if by != "CATEGORY" else None
    found: dict[str, dict[str, Any]] = {}

    def row(key: str) -> dict[str, Any]:
        return found.setdefault(
            key,
            {
                "organizations": 0,
                "partyMembers": 0,
                "organizationsByKind": {},
                "serviceRequests": {"total": 0, "byStatus": {}, "byCategory": {}},
                "participation": {"events": 0, "participants": 0, "byKind": {}},
            },
        )

    period = PERIOD % {"at": "t.submitted_at"}
    services = SERVICES.format(key=services_key, period=period) if services_key else None
    for e in await owner.fetch(services, *args, clock.now()) if services else []:
        s = row(e["key"])["serviceRequests"]
        s.update(
            total=e["total"],
            open=e["open"],
            resolved=e["resolved"],
            overdue=e["overdue"],
            responseDue=e["due"],
            respondedInTime=e["in_time"],
            resolvable=e["total"] - e["rejected"],
            rated=e["rated"],
            satisfied=e["satisfied"],
            responseRate=_rate(e["in_time"], e["due"]),
            resolutionRate=_rate(e["resolved"], e["total"] - e["rejected"]),
            satisfactionRate=_rate(e["satisfied"], e["rated"]),
            averageHoursToResolve=float(e["hours"]) if e["hours"] is not None else None,
        )
    by_status = BY_STATUS.format(key=services_key, period=period) if services_key else None
    for e in await owner.fetch(by_status, *args) if by_status else []:
        s = row(e["key"])["serviceRequests"]
        s["byStatus"][e["status"]] = s["byStatus"].get(e["status"], 0) + e["n"]
        s["byCategory"][e["category"]] = s["byCategory"].get(e["category"], 0) + e["n"]
    period = PERIOD % {"at": "t.starts_at"}
    events = EVENTS.format(key=events_key, period=period) if events_key else None
    for e in await owner.fetch(events, *args) if events else []:
        p = row(e["key"])["participation"]
        p["events"] += e["n"]
        p["participants"] += e["p"]
        p["byKind"][e["kind"]] = e["n"]
    if by in ("", "CHILD"):
        for e in await owner.fetch(RESOLUTIONS.format(key=KEYS[by]), *args):
            p = row(e["key"])["participation"]
            p["resolutionsAdopted"], p["resolutionsImplemented"] = e["adopted"], e["implemented"]
    if by in ("", "CHILD", "KIND"):
        for e in await owner.fetch(ORGANIZATIONS.format(key=KEYS[by]), code):
            r = row(e["key"])
            r["organizations"] += e["n"]
            r["partyMembers"] += e["p"]
            r["organizationsByKind"][e["kind"]] = e["n"]
    return found


def assert_figures(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    services, wanted = got["serviceRequests"], want["serviceRequests"]
    assert services["total"] == wanted["total"], where
    if wanted["total"]:
        for name in ("open", "resolved", "overdue", "responseDue", "respondedInTime"):
            assert services[name] == wanted[name], (where, name)
        for name in ("resolvable", "rated", "satisfied"):
            assert services[name] == wanted[name], (where, name)
        for name in (
            "responseRate",
            "resolutionRate",
            "satisfactionRate",
            "averageHoursToResolve",
        ):
            if wanted[name] is None:
                assert services[name] is None, (where, name)
            else:
                assert services[name] == pytest.approx(wanted[name], rel=1e-9), (where, name)
    assert {r["key"]: r["count"] for r in services["byStatus"] if r["count"]} == (
        wanted["byStatus"]
    ), where
    assert {r["key"]: r["count"] for r in services["byCategory"] if r["count"]} == (
        wanted["byCategory"]
    ), where
    part, wanted_part = got["participation"], want["participation"]
    assert (part["events"], part["participants"]) == (
        wanted_part["events"],
        wanted_part["participants"],
    ), where
    assert {r["key"]: r["count"] for r in part["byKind"] if r["count"]} == wanted_part["byKind"]
    if "resolutionsAdopted" in wanted_part:
        assert (part["resolutionsAdopted"], part["resolutionsImplemented"]) == (
            wanted_part["resolutionsAdopted"],
            wanted_part["resolutionsImplemented"],
        ), where
    if got.get("organizations") is not None:
        assert (got["organizations"], got["partyMembers"]) == (
            want["organizations"],
            want["partyMembers"],
        ), where
        by_kind = {r["key"]: r["count"] for r in got["organizationsByKind"] if r["count"]}
        assert by_kind == want["organizationsByKind"], where


def periods() -> list[tuple[str | None, str | None]]:
    today = clock.now().astimezone(CST).date()
    return [
        (None, None),
        ("2026-03-01", "2026-03-31"),
        ("2026-02-15", "2026-05-10"),
        ("2025-12-20", str(today)),
        (str(today.replace(day=1)), None),
        (str(today - dt.timedelta(days=1)), str(today)),
    ]


async def assert_all_figures_exact(hub: Hub, owner: asyncpg.Connection) -> None:
    for code in REGIONS:
        for start, end in periods():
            body = await hub.query(STATS, {"code": code, "from": start, "to": end}, as_=NATION)
            assert "errors" not in body, body
            want = (await expected(owner, code, start, end)).get("")
            assert want is not None, code
            if start is None and end is None:  # every figure has something to count
                participation = want["participation"]
                assert want["serviceRequests"]["satisfactionRate"] is not None, code
                assert participation["events"], code
                assert participation["resolutionsImplemented"] or code == VILLAGE, code
            assert_figures(body["data"]["region"]["stats"], want, f"{code} {start}..{end}")


async def assert_rollups_equal_a_rebuild(owner: asyncpg.Connection) -> None:
    assert await rollups.check(owner) == dict.fromkeys(rollups.TABLES, 0)
    for table in rollups.TABLES:
        assert await owner.fetchval(f"select count(*) from {table}") > 0, table


async def test_roll_ups_after_seeding_equal_a_rebuild(owner: asyncpg.Connection) -> None:
    await assert_rollups_equal_a_rebuild(owner)


async def test_rows_near_the_clock_are_counted_exactly(hub: Hub, owner: asyncpg.Connection) -> None:
    """Requests whose 24 hours or due time fall today, yesterday or just ahead."""
    now = clock.now().astimezone(CST)
    cases = [  # hours before now: submitted, first answer (None: not yet), due (negative: ahead)
        (23, None, -200),
        (25, None, 1),
        (30, 2, 0.02),
        (40, 1, -0.02),
        (47, None, 30),
        (60, 30, 36),
        (3, 1, -0.5),
    ]
    for i, (submitted, answered, due) in enumerate(cases):
        await owner.execute(
            """insert into service_request (reference, region_code, handling_region_code,
                 category, channel, status, title, submitted_at, first_responded_at,
                 accepted_at, due_at)
               values ($1, $2, $2, 'HEALTH', 'HOTLINE', $3, '时钟边界', $4, $5, $5, $6)""",
            f"{VILLAGE}-2026-9{i:05d}",
            VILLAGE,
            "SUBMITTED" if answered is None else "ACCEPTED",
            now - dt.timedelta(hours=submitted),
            None if answered is None else now - dt.timedelta(hours=submitted - answered),
            now - dt.timedelta(hours=due),
        )
    await assert_all_figures_exact(hub, owner)


async def test_a_village_editors_writes_move_the_nations_figures(
    hub: Hub, owner: asyncpg.Connection, database: Database
) -> None:
    before = await hub.query(STATS, {"code": NATION}, as_=NATION)
    token = hub.token(VILLAGE, roles=("viewer", "editor"), sub="village-clerk")

    async def call(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = (await hub.post(query, variables, token=token)).json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    submit = """mutation ($code: String!, $title: String!) { submitServiceRequest(input: {
        regionCode: $code, category: ELDERLY_CARE, channel: WALK_IN, title: $title}) { id } }"""
    kept = (await call(submit, {"code": VILLAGE, "title": "老人助餐"}))["submitServiceRequest"][
        "id"
    ]
    gone = (await call(submit, {"code": VILLAGE, "title": "撤回的请求"}))["submitServiceRequest"][
        "id"
    ]
    for action in ("acceptServiceRequest(id: $id)", "startServiceRequest(id: $id)",
                   'resolveServiceRequest(id: $id, note: "已送餐")',
                   "rateServiceRequest(id: $id, satisfaction: 5)"):  # fmt: skip
        await call(f"mutation ($id: ID!) {{ {action} {{ id }} }}", {"id": kept})
    await call(
        'mutation ($id: ID!) { withdrawServiceRequest(id: $id, reason: "不需要了") { id } }',
        {"id": gone},
    )
    org = await call(
        """mutation ($code: String!) { createOrganization(input: {regionCode: $code,
           kind: VOLUNTEER_TEAM, name: "助老志愿队", memberCount: 12, partyMemberCount: 3}) {
           id } }""",
        {"code": VILLAGE},
    )
    assert org["createOrganization"]["id"]
    event = await call(
        """mutation ($code: String!, $at: DateTime!) { recordParticipationEvent(input: {
           regionCode: $code, kind: DELIBERATION, title: "助餐点选址议事", startsAt: $at,
           participants: [{group: "VILLAGERS", count: 40}]}) { id } }""",
        {"code": VILLAGE, "at": clock.now().astimezone(CST).isoformat()},
    )
    resolution = await call(
        'mutation ($id: ID!) { addResolution(eventId: $id, text: "设在村委会") { id } }',
        {"id": event["recordParticipationEvent"]["id"]},
    )
    rid = resolution["addResolution"]["id"]
    for status in ("ADOPTED", "IMPLEMENTED"):
        await call(
            f"mutation ($id: ID!) {{ setResolutionStatus(id: $id, status: {status}) {{ id }} }}",
            {"id": rid},
        )

    after = await hub.query(STATS, {"code": NATION}, as_=NATION)
    was, now = before["data"]["region"]["stats"], after["data"]["region"]["stats"]
    assert now["serviceRequests"]["total"] == was["serviceRequests"]["total"] + 1
    assert now["serviceRequests"]["resolved"] == was["serviceRequests"]["resolved"] + 1
    assert now["organizations"] == was["organizations"] + 1
    assert now["partyMembers"] == was["partyMembers"] + 3
    assert now["participation"]["events"] == was["participation"]["events"] + 1
    assert now["participation"]["participants"] == was["participation"]["participants"] + 40
    assert (
        now["participation"]["resolutionsImplemented"]
        == was["participation"]["resolutionsImplemented"] + 1
    )

    # The editor's own scope never showed those roll-up rows.
    conn = await asyncpg.connect(database.runtime_dsn)
    try:
        async with conn.transaction():
            await conn.execute(
                "select set_config('hub.read_scope', $1, true)",
                "{100000.34.3411.341126.341126101.341126101001}",
            )
            for table in rollups.TABLES:
                assert await conn.fetchval(f"select count(*) from {table}") == 0, table
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("select rebuild_rollups()")
    finally:
        await conn.close()
    await assert_all_figures_exact(hub, owner)


async def test_breakdowns_equal_direct_counts(hub: Hub, owner: asyncpg.Connection) -> None:
    cases = [
        (NATION, "CHILD", "CHILD", None, None),
        (PROVINCE, "CHILD", "CHILD", "2026-02-15", "2026-05-10"),
        (CITY, "CHILD", "CHILD", None, None),
        (PROVINCE, "MONTH", "MONTH", "2025-12-20", None),
        (NATION, "SERVICE_CATEGORY", "CATEGORY", "2026-03-01", "2026-08-31"),
        (PROVINCE, "PARTICIPATION_KIND", "KIND", None, None),
        (CITY, "ORGANIZATION_KIND", "KIND", None, None),
    ]
    for code, by, key, start, end in cases:
        body = await hub.query(
            BREAKDOWN, {"code": code, "by": by, "from": start, "to": end}, as_=NATION
        )
        assert "errors" not in body, body
        rows = body["data"]["region"]["breakdown"]
        want = await expected(owner, code, start, end, key)
        assert {k for k, w in want.items() if w["serviceRequests"]["total"]} <= {
            r["key"] for r in rows
        }, (code, by)
        for r in rows:
            own = by == "CHILD" and r["key"] == code  # the own row: records keyed by no child
            stats, wanted = r["stats"], want.get(None if own else r["key"])  # type: ignore[arg-type]
            where = f"{code} {by} {r['key']}"
            if wanted is None:
                sections = [s for s in (stats["serviceRequests"], stats["participation"]) if s]
                assert all(not (s.get("total") or s.get("events")) for s in sections), where
                continue
            if by == "ORGANIZATION_KIND":
                assert stats["organizations"] == wanted["organizations"], where
            elif by == "PARTICIPATION_KIND":
                assert stats["participation"]["events"] == wanted["participation"]["events"]
            elif by == "SERVICE_CATEGORY":
                assert stats["serviceRequests"]["total"] == wanted["serviceRequests"]["total"]
                assert stats["serviceRequests"]["overdue"] == wanted["serviceRequests"]["overdue"]
            else:
                if by == "MONTH":
                    wanted["participation"].pop("resolutionsAdopted", None)
                assert_figures(stats, wanted, where)
    national = await hub.query(BREAKDOWN, {"code": NATION, "by": "CHILD"}, as_=NATION)
    provinces = await owner.fetch("select code from region where level = 'PROVINCE' order by 1")
    assert [r["key"] for r in national["data"]["region"]["breakdown"]] == [NATION] + [
        p["code"] for p in provinces
    ]


async def test_concurrent_writers_lose_no_increment(hub: Hub, owner: asyncpg.Connection) -> None:
    villages = [
        r["code"]
        for r in await owner.fetch(
            "select code from region where level = 'VILLAGE' and code like '34112610%' "
            "order by code limit 8"
        )
    ]
    before = await hub.query(STATS, {"code": PROVINCE}, as_=NATION)

    async def submit(village: str, n: int) -> None:
        token = hub.token(village, roles=("viewer", "editor"), sub=f"clerk-{village}")
        body = (
            await hub.post(
                """mutation ($code: String!, $title: String!) { submitServiceRequest(input: {
                   regionCode: $code, category: HOUSING, channel: ONLINE, title: $title}) {
                   id } }""",
                {"code": village, "title": f"并发{n}"},
                token=token,
            )
        ).json()
        assert "errors" not in body, body

    await asyncio.gather(*(submit(v, n) for n in range(3) for v in villages))
    after = await hub.query(STATS, {"code": PROVINCE}, as_=NATION)

    def total(body: dict[str, Any]) -> int:
        return int(body["data"]["region"]["stats"]["serviceRequests"]["total"])

    assert total(after) == total(before) + 3 * len(villages)
    await assert_rollups_equal_a_rebuild(owner)


async def test_owner_changes_and_deletions_keep_roll_ups_exact(owner: asyncpg.Connection) -> None:
    """What only maintenance does: an event changing kind, records deleted."""
    await owner.execute(
        """update participation_event set kind = 'HEARING', version = version + 1
           where id = (select event_id from resolution where status = 'IMPLEMENTED'
                       and region_code like '3411%' limit 1)"""
    )
    await owner.execute(
        """delete from service_request where id in (select id from service_request
           where region_code like '341126%' order by submitted_at limit 50)"""
    )
    await assert_rollups_equal_a_rebuild(owner)


async def test_a_write_chosen_to_break_a_deadlock_is_run_again(
    hub: Hub, owner: asyncpg.Connection, database: Database
) -> None:
    """A maintenance transaction takes the nation's roll-up rows in the other order than a
    submission does; PostgreSQL aborts one of them, and the submission goes through."""
    today = clock.now().astimezone(CST).date()
    due = today + dt.timedelta(days=15)  # deadline_days('OTHER')
    for sql, args in (
        (
            "insert into rollup_service (region_code, path, grain, bucket, category) "
            "values ('100000', '100000', 'd', $1, 'OTHER') on conflict do nothing",
            (today,),
        ),
        (
            "insert into rollup_open (region_code, path, grain, bucket, category, due_day) "
            "values ('100000', '100000', 'd', $1, 'OTHER', $2) on conflict do nothing",
            (today, due),
        ),
    ):
        await owner.execute(sql, *args)
    before = await hub.query(STATS, {"code": NATION}, as_=NATION)
    other = await asyncpg.connect(database.owner_dsn)
    try:
        async with other.transaction():
            await other.execute(
                "select 1 from rollup_open where region_code = '100000' and grain = 'd' "
                "and bucket = $1 and category = 'OTHER' and due_day = $2 for update",
                today,
                due,
            )
            token = hub.token(VILLAGE, roles=("viewer", "editor"), sub="deadlocked-clerk")
            submitting = asyncio.create_task(
                hub.post(
                    """mutation { submitServiceRequest(input: {regionCode: "341126101001",
                       category: OTHER, channel: HOTLINE, title: "死锁后重试"}) { id } }""",
                    token=token,
                )
            )
            await asyncio.sleep(0.5)  # the submission holds the day's row, waits for ours
            await other.execute(
                "select 1 from rollup_service where region_code = '100000' and grain = 'd' "
                "and bucket = $1 and category = 'OTHER' for update",
                today,
            )
        body = (await submitting).json()
    finally:
        await other.close()
    assert "errors" not in body, body
    after = await hub.query(STATS, {"code": NATION}, as_=NATION)

    def total(body: dict[str, Any]) -> int:
        return int(body["data"]["region"]["stats"]["serviceRequests"]["total"])

    assert total(after) == total(before) + 1
    await assert_rollups_equal_a_rebuild(owner)


async def test_check_rollups_finds_a_drifted_row_and_rebuild_rollups_mends_it(
    owner: asyncpg.Connection, database: Database
) -> None:
    code, out, _ = await grassroots("db", "check-rollups", database=database)
    assert code == 0 and set(json.loads(out)["differences"].values()) == {0}
    await owner.execute(
        "update rollup_service set submitted = submitted + 1 where region_code = '34' "
        "and grain = 'm' and bucket = '2026-03-01' and category = 'HEALTH'"
    )
    code, out, _ = await grassroots("db", "check-rollups", database=database)
    assert code == 1 and json.loads(out)["differences"]["rollup_service"] == 2
    code, out, _ = await grassroots("db", "rebuild-rollups", database=database)
    assert code == 0 and json.loads(out)["rows"]["rollup_service"] > 0
    code, out, _ = await grassroots("db", "check-rollups", database=database)
    assert code == 0 and set(json.loads(out)["differences"].values()) == {0}
