"""Deterministic synthetic demo data for one real county.

The county's regions (the county, its townships and villages) must already be imported.
`seed_demo` adds organizations of every kind, a year of service requests that follow the
workflow of DESIGN.md §5, participation events with their resolutions, and the reference
counters, all in one transaction. Names of regions are real; everything else is made up.

Every value comes from `random.Random` streams seeded from `seed` and from the fixed
`ANCHOR` (the data's "now"), never from the wall clock, so two runs write identical rows.
"""

from __future__ import annotations

import json
import random
import uuid
from bisect import bisect_right
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache
from itertools import accumulate
from typing import Generic, NamedTuple, TypeVar, cast

import asyncpg

CST = timezone(timedelta(hours=8))
ANCHOR = datetime(2026, 11, 15, 12, 0, tzinfo=CST)
WINDOW_DAYS = 365
WINDOW_START = ANCHOR - timedelta(days=WINDOW_DAYS)
GO_LIVE = datetime(2025, 9, 1, 9, 0, tzinfo=CST)

REQUEST_COUNT = 30_000
EVENT_COUNT = 3_000

DEADLINE_DAYS: dict[str, int] = {
    "SOCIAL_SECURITY": 15,
    "ELDERLY_CARE": 10,
    "HEALTH": 7,
    "EDUCATION": 15,
    "EMPLOYMENT": 15,
    "HOUSING": 30,
    "INFRASTRUCTURE": 30,
    "ENVIRONMENT": 15,
    "PUBLIC_SAFETY": 3,
    "DISPUTE_MEDIATION": 15,
    "LEGAL_AID": 15,
    "OTHER": 15,
}

PARTY_KINDS = frozenset({"PARTY_COMMITTEE", "PARTY_GENERAL_BRANCH", "PARTY_BRANCH"})
PARTICIPANT_GROUPS = (
    "VILLAGERS",
    "PARTY_MEMBERS",
    "REPRESENTATIVES",
    "OFFICIALS",
    "EXPERTS",
    "OTHERS",
)
DELIBERATIVE_KINDS = frozenset({"DELIBERATION", "VILLAGERS_ASSEMBLY", "JOINT_MEETING", "HEARING"})
VOTING_KINDS = frozenset({"DELIBERATION", "VILLAGERS_ASSEMBLY"})

# A county's subtree is the range of codes [code, code || ':'): its codes all start with it.
SELECT_REGIONS = """
select code, level::text as level, name, parent_code
from region
where code >= $1 and code < $1 || ':'
order by code
"""
SELECT_SEEDED = """
select exists (select 1 from organization where region_code >= $1 and region_code < $1 || ':')
"""
LOCK_SEEDING = "select pg_advisory_xact_lock(7311020261)"
ANALYZE_TABLES = (
    "analyze organization, service_request, reference_counter, participation_event, resolution"
)

ORGANIZATION_COLUMNS = (
    "id",
    "region_code",
    "parent_id",
    "kind",
    "name",
    "member_count",
    "party_member_count",
    "leader_name",
    "leader_role",
    "leader_phone",
    "founded_on",
    "version",
    "created_at",
    "updated_at",
)
REQUEST_COLUMNS = (
    "id",
    "reference",
    "region_code",
    "handling_region_code",
    "handled_by",
    "category",
    "channel",
    "status",
    "title",
    "description",
    "requester_name",
    "requester_phone",
    "submitted_at",
    "first_responded_at",
    "accepted_at",
    "due_at",
    "resolved_at",
    "closed_at",
    "satisfaction",
    "history",
    "version",
    "created_at",
    "updated_at",
)
COUNTER_COLUMNS = ("region_code", "year", "last")
EVENT_COLUMNS = (
    "id",
    "region_code",
    "organizer_id",
    "kind",
    "title",
    "topic",
    "starts_at",
    "participant_count",
    "participants_by_group",
    "version",
    "created_at",
    "updated_at",
)
RESOLUTION_COLUMNS = (
    "id",
    "event_id",
    "region_code",
    "position",
    "text",
    "status",
    "decided_on",
    "implemented_on",
    "votes_for",
    "votes_against",
    "version",
    "created_at",
    "updated_at",
)

Row = tuple[object, ...]
T = TypeVar("T")


@dataclass(frozen=True)
class DemoReport:
    organizations: int = 0
    service_requests: int = 0
    reference_counters: int = 0
    participation_events: int = 0
    resolutions: int = 0


# -- regions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    code: str
    level: str
    name: str
    parent_code: str | None

    @property
    def base(self) -> str:
        """The name as organizations use it: 北墙村委会 → 北墙村, 中都城社区居委会 → 中都城社区."""
        for suffix, replacement in (
            ("村委会", "村"),
            ("社区居委会", "社区"),
            ("居委会", ""),
            ("管理委员会", ""),
        ):
            if self.name.endswith(suffix) and len(self.name) > len(suffix):
                return self.name[: -len(suffix)] + replacement
        return self.name

    @property
    def is_rural(self) -> bool:
        return self.level == "VILLAGE" and self.name.endswith("村委会")

    @property
    def resident_word(self) -> str:
        if self.level != "VILLAGE":
            return "群众"
        return "村民" if self.is_rural else "居民"


@dataclass(frozen=True)
class County:
    county: Region
    townships: tuple[Region, ...]
    villages: dict[str, tuple[Region, ...]]  # by township code
    by_code: dict[str, Region]

    @property
    def all_villages(self) -> list[Region]:
        return [v for t in self.townships for v in self.villages[t.code]]


async def _load_county(conn: asyncpg.Connection, county_code: str) -> County:
    rows = await conn.fetch(SELECT_REGIONS, county_code)
    regions = [Region(r["code"], r["level"], r["name"], r["parent_code"]) for r in rows]
    by_code = {r.code: r for r in regions}
    county = by_code.get(county_code)
    if county is None or county.level != "COUNTY":
        raise ValueError(f"county {county_code} is not in the region table; import divisions first")
    townships = tuple(r for r in regions if r.level == "TOWNSHIP")
    villages = {t.code: tuple(r for r in regions if r.parent_code == t.code) for t in townships}
    return County(county, townships, villages, by_code)


# -- people and small draws ------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力永志春梅海燕宏亮"
    "云飞鹏斌波宁浩凯俊峰林婷倩雪琳晨欣怡子涵雨轩博宇诚德福寿胜利庆荣家兴长松成"
)
MOBILE_PREFIXES = (
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def _one(rng: random.Random, items: Sequence[T]) -> T:
    # Faster than Random.choice, which matters over a few hundred thousand draws.
    return items[int(rng.random() * len(items))]


def _person(rng: random.Random) -> str:
    given = _one(rng, GIVEN) + (_one(rng, GIVEN) if rng.random() < 0.7 else "")
    return _one(rng, SURNAMES) + given


def _mobile(rng: random.Random) -> str:
    return _one(rng, MOBILE_PREFIXES) + f"{int(rng.random() * 10**8):08d}"


def _id_number(rng: random.Random, region_code: str) -> str:
    born = date(1945, 1, 1) + timedelta(days=rng.randrange(60 * 365))
    body = f"{region_code[:6]}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=int(rng.uniform(low, high) * 3600))


def _at(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(seconds=seconds)


class Weighted(Generic[T]):
    """Items drawn with fixed relative weights."""

    def __init__(self, weights: Mapping[T, float]) -> None:
        self.items = tuple(weights)
        self.cumulative = list(accumulate(weights.values()))

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


def _stream(seed: int, county: County, name: str) -> random.Random:
    # One stream per county and section: counties seeded alike get distinct ids, and changing
    # one section's data leaves the others' ids alone.
    return random.Random(f"{seed}:{county.county.code}:{name}")


# -- organizations ---------------------------------------------------------------------------


@dataclass
class Organization:
    id: uuid.UUID
    region: Region
    parent_id: uuid.UUID | None
    kind: str
    name: str
    member_count: int
    party_member_count: int
    leader_name: str
    leader_role: str
    leader_phone: str
    founded_on: date
    version: int = 1
    created_at: datetime = GO_LIVE
    updated_at: datetime = GO_LIVE

    def record(self) -> Row:
        return (
            self.id,
            self.region.code,
            self.parent_id,
            self.kind,
            self.name,
            self.member_count,
            self.party_member_count,
            self.leader_name,
            self.leader_role,
            self.leader_phone,
            self.founded_on,
            self.version,
            self.created_at,
            self.updated_at,
        )


@dataclass
class Directory:
    """The organizations, and which one plays which part in each region."""

    organizations: list[Organization] = field(default_factory=list)
    roles: dict[str, dict[str, Organization]] = field(default_factory=dict)

    def role(self, region: Region, role: str) -> Organization | None:
        return self.roles.get(region.code, {}).get(role)

    def handler(self, region: Region) -> Organization:
        found = self.role(region, "committee") or self.role(region, "service")
        assert found is not None, region.code
        return found


class OrganizationFactory:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.directory = Directory()

    def add(
        self,
        region: Region,
        kind: str,
        name: str,
        *,
        parent: Organization | None,
        members: int,
        party_members: int = 0,
        role: str | None = None,
        leader_role: str,
        founded: tuple[int, int],
        leader: tuple[str, str] | None = None,
    ) -> Organization:
        rng = self.rng
        name_phone = leader or (_person(rng), _mobile(rng))
        created = GO_LIVE + timedelta(seconds=rng.randrange(30 * 86400))
        org = Organization(
            _uuid(rng),
            region,
            parent.id if parent else None,
            kind,
            name,
            members,
            party_members,
            name_phone[0],
            leader_role,
            name_phone[1],
            _day(rng, date(founded[0], 1, 1), date(founded[1], 12, 31)),
            created_at=created,
            updated_at=created,
        )
        if rng.random() < 0.25:
            org.updated_at = min(created + _hours(rng, 24, 24 * 420), ANCHOR - timedelta(hours=1))
            org.version = 2
        self.directory.organizations.append(org)
        if role:
            self.directory.roles.setdefault(region.code, {})[role] = org
        return org


COUNTY_SOCIETIES = (
    ("SOCIAL_ORGANIZATION", "{c}慈善协会", "会长", (120, 400)),
    ("SOCIAL_ORGANIZATION", "{c}老年人体育协会", "会长", (60, 300)),
    ("SOCIAL_ORGANIZATION", "{c}社会工作协会", "理事长", (30, 120)),
    ("SOCIAL_ORGANIZATION", "{c}个体劳动者协会", "会长", (200, 900)),
    ("VOLUNTEER_TEAM", "{c}新时代文明实践志愿服务总队", "队长", (300, 1200)),
    ("VOLUNTEER_TEAM", "{c}应急救援志愿服务队", "队长", (40, 150)),
)


def _county_organizations(make: OrganizationFactory, county: Region) -> Organization:
    rng, c = make.rng, county.name
    party_members = rng.randint(180, 320)
    committee = make.add(
        county,
        "PARTY_COMMITTEE",
        f"中共{c}委员会",
        parent=None,
        members=party_members,
        party_members=party_members,
        role="party",
        leader_role="书记",
        founded=(1949, 1949),
    )
    make.add(
        county,
        "SERVICE_CENTRE",
        f"{c}政务服务中心",
        parent=committee,
        members=rng.randint(40, 90),
        role="service",
        leader_role="主任",
        founded=(2015, 2018),
    )
    make.add(
        county,
        "SUPERVISION_COMMITTEE",
        f"{c}监察委员会",
        parent=committee,
        members=rng.randint(15, 30),
        role="supervision",
        leader_role="主任",
        founded=(2018, 2018),
    )
    for index, (kind, name, leader_role, size) in enumerate(COUNTY_SOCIETIES):
        role = "volunteer" if index == 4 else "social" if index == 0 else None
        make.add(
            county,
            kind,
            name.format(c=c),
            parent=committee,
            members=rng.randint(*size),
            role=role,
            leader_role=leader_role,
            founded=(2005, 2021),
        )
    return committee


def _township_names(county: Region, township: Region) -> tuple[str, str]:
    """(party committee, service centre) names: 镇/乡 have 委员会, 街道 and zones 工作委员会."""
    base = township.base
    if township.name.endswith("管理委员会"):
        return f"中共{base}工作委员会", f"{base}企业服务中心"
    if base.endswith("街道"):
        return f"中共{county.name}{base}工作委员会", f"{base}党群服务中心"
    return f"中共{county.name}{base}委员会", f"{base}便民服务中心"


def _township_organizations(
    make: OrganizationFactory, county: Region, township: Region, above: Organization
) -> Organization:
    rng, base = make.rng, township.base
    party_name, service_name = _township_names(county, township)
    party_members = rng.randint(25, 80)
    committee = make.add(
        township,
        "PARTY_COMMITTEE",
        party_name,
        parent=above,
        members=party_members,
        party_members=party_members,
        role="party",
        leader_role="书记",
        founded=(1950, 2005),
    )
    make.add(
        township,
        "SERVICE_CENTRE",
        service_name,
        parent=committee,
        members=rng.randint(8, 20),
        role="service",
        leader_role="主任",
        founded=(2012, 2020),
    )
    make.add(
        township,
        "SUPERVISION_COMMITTEE",
        f"{base}纪检监察办公室",
        parent=committee,
        members=rng.randint(3, 6),
        role="supervision",
        leader_role="主任",
        founded=(2018, 2019),
    )
    make.add(
        township,
        "SOCIAL_ORGANIZATION",
        f"{base}社会工作站",
        parent=committee,
        members=rng.randint(5, 20),
        role="social",
        leader_role="站长",
        founded=(2020, 2023),
    )
    if rng.random() < 0.5:
        make.add(
            township,
            "SOCIAL_ORGANIZATION",
            f"{base}老年人协会",
            parent=committee,
            members=rng.randint(30, 200),
            leader_role="会长",
            founded=(2000, 2020),
        )
    make.add(
        township,
        "VOLUNTEER_TEAM",
        f"{base}新时代文明实践志愿服务队",
        parent=committee,
        members=rng.randint(20, 150),
        role="volunteer",
        leader_role="队长",
        founded=(2018, 2022),
    )
    return committee


ORDINALS = "一二三四五六"


def _village_party(make: OrganizationFactory, village: Region, above: Organization) -> Organization:
    rng, base = make.rng, village.base
    party_members = int(rng.triangular(15, 130, 35))
    if party_members < 50:
        return make.add(
            village,
            "PARTY_BRANCH",
            f"{base}党支部",
            parent=above,
            members=party_members,
            party_members=party_members,
            role="party",
            leader_role="书记",
            founded=(1950, 2005),
        )
    general = make.add(
        village,
        "PARTY_GENERAL_BRANCH",
        f"{base}党总支",
        parent=above,
        members=party_members,
        party_members=0,
        role="party",
        leader_role="书记",
        founded=(1955, 2010),
    )
    parts = rng.randint(2, 4)
    # Party members are counted once, at the lowest organization: here the branches.
    sizes = [party_members // parts + (1 if i < party_members % parts else 0) for i in range(parts)]
    for i, size in enumerate(sizes):
        make.add(
            village,
            "PARTY_BRANCH",
            f"{base}党总支第{ORDINALS[i]}党支部",
            parent=general,
            members=size,
            party_members=size,
            leader_role="书记",
            founded=(general.founded_on.year, 2015),
        )
    return general


def _village_organizations(make: OrganizationFactory, village: Region, above: Organization) -> None:
    rng, base = make.rng, village.base
    party = _village_party(make, village, above)
    # Often one person is both party secretary and committee director (一肩挑).
    leader = (party.leader_name, party.leader_phone) if rng.random() < 0.7 else None
    if village.is_rural:
        make.add(
            village,
            "VILLAGE_COMMITTEE",
            f"{base}村民委员会",
            parent=party,
            members=rng.randint(3, 7),
            role="committee",
            leader_role="主任",
            founded=(1983, 1999),
            leader=leader,
        )
        supervision = f"{base}村务监督委员会"
    else:
        make.add(
            village,
            "RESIDENTS_COMMITTEE",
            f"{base}居民委员会",
            parent=party,
            members=rng.randint(5, 9),
            role="committee",
            leader_role="主任",
            founded=(1985, 2015),
            leader=leader,
        )
        supervision = f"{base}居务监督委员会"
    make.add(
        village,
        "SUPERVISION_COMMITTEE",
        supervision,
        parent=party,
        members=rng.randint(3, 5),
        role="supervision",
        leader_role="主任",
        founded=(2010, 2019),
    )
    if village.is_rural or rng.random() < 0.4:
        make.add(
            village,
            "COLLECTIVE_ECONOMY",
            f"{base}股份经济合作社",
            parent=party,
            members=rng.randint(300, 3000),
            role="economy",
            leader_role="理事长",
            founded=(2017, 2021),
            leader=leader,
        )
    if rng.random() < 0.4:
        make.add(
            village,
            "VOLUNTEER_TEAM",
            f"{base}志愿服务队",
            parent=party,
            members=rng.randint(10, 60),
            role="volunteer",
            leader_role="队长",
            founded=(2016, 2024),
        )


def build_organizations(rng: random.Random, county: County) -> Directory:
    make = OrganizationFactory(rng)
    top = _county_organizations(make, county.county)
    for township in county.townships:
        committee = _township_organizations(make, county.county, township, top)
        for village in county.villages[township.code]:
            _village_organizations(make, village, committee)
    return make.directory


# -- service requests: what they say ---------------------------------------------------------

REQUEST_TEXTS: dict[str, tuple[tuple[str, str], ...]] = {
    "SOCIAL_SECURITY": (
        (
            "咨询城乡居民养老保险缴费档次",
            "{who}想了解今年城乡居民基本养老保险的缴费档次和政府补贴标准，希望工作人员讲解。",
        ),
        (
            "申请办理最低生活保障",
            "{who}家中主要劳动力因病丧失劳动能力，生活困难，申请纳入最低生活保障。",
        ),
        ("医保关系转移接续", "{who}在外务工多年，现返乡，需要办理基本医疗保险关系转移接续。"),
        ("残疾人两项补贴未到账", "{who}反映本季度残疾人生活补贴和护理补贴未按时发放，请帮助查询。"),
        ("社保卡遗失补办", "{who}的社会保障卡遗失，需挂失补办并激活金融功能。"),
    ),
    "ELDERLY_CARE": (
        ("申请居家养老上门服务", "{spot}一位独居老人行动不便，{who}代为申请助餐、助洁上门服务。"),
        ("高龄津贴资格认证", "{who}家中老人年满八十周岁，需办理高龄津贴资格认证。"),
        ("养老服务站设施损坏", "{place}养老服务站活动室空调和座椅损坏，影响老人日常活动。"),
        ("申请入住敬老院", "{who}家中特困老人生活不能自理，申请入住{upper}敬老院。"),
    ),
    "HEALTH": (
        ("家庭医生签约咨询", "{who}想为家中慢性病老人签约家庭医生，咨询签约流程和服务内容。"),
        ("卫生室常用药品短缺", "{place}卫生室降压药、降糖药等常用药品短缺，老人配药需到{upper}。"),
        ("慢性病门诊报销手续", "{who}咨询慢性病门诊费用报销需要准备的材料和办理地点。"),
        ("申请上门健康体检", "{spot}有卧床老人无法到卫生院体检，申请安排医生上门体检。"),
    ),
    "EDUCATION": (
        ("学生资助政策咨询", "{who}家中孩子考入高中，咨询家庭经济困难学生资助政策。"),
        ("适龄儿童入学报名", "{who}随迁子女需在本地就读小学一年级，咨询报名材料。"),
        ("校车接送时间调整建议", "{spot}家长反映校车早上到站时间过早，建议调整接送时间。"),
        ("留守儿童课后看护", "{spot}留守儿童较多，建议利用活动室开展课后看护。"),
    ),
    "EMPLOYMENT": (
        ("求职登记与岗位推荐", "{who}返乡后希望在{upper}附近就业，申请求职登记和岗位推荐。"),
        ("申请创业担保贷款", "{who}准备发展特色种植，咨询创业担保贷款申请条件。"),
        ("技能培训报名", "{who}想报名参加电工、挖掘机或育婴员职业技能培训。"),
        ("公益性岗位申请", "{who}为脱贫户家庭成员，申请安排乡村公益性岗位。"),
    ),
    "HOUSING": (
        (
            "农村危房改造申请",
            "{who}家房屋墙体开裂、屋顶漏雨，经初步查看存在安全隐患，申请危房改造。",
        ),
        ("宅基地审批咨询", "{who}家中分户后需新建住房，咨询宅基地申请审批流程。"),
        ("公租房申请", "{who}在城区务工，家庭收入较低，申请公共租赁住房。"),
        ("房屋漏雨需维修", "{spot}一户困难群众住房漏雨，申请帮助维修。"),
    ),
    "INFRASTRUCTURE": (
        ("通组道路破损", "{spot}通组道路多处坑洼，雨天积水严重，群众出行不便。"),
        ("路灯不亮", "{spot}主干道有多盏路灯损坏不亮，夜间出行存在安全隐患。"),
        ("自来水停水", "{spot}自来水已停水两天，影响群众正常生活，请尽快维修。"),
        ("灌溉渠道淤堵", "{spot}农田灌溉渠道淤堵，影响农作物灌溉，申请组织清淤。"),
        ("桥梁护栏损坏", "{spot}小桥护栏损坏，过往车辆和学生通行存在安全隐患。"),
    ),
    "ENVIRONMENT": (
        ("垃圾清运不及时", "{spot}垃圾收集点垃圾堆积多日未清运，气味难闻。"),
        ("河塘水面漂浮物", "{spot}河塘水面漂浮垃圾较多，请安排人员打捞。"),
        ("秸秆焚烧烟雾", "{spot}有人焚烧秸秆，烟雾较大，影响周边群众。"),
        ("养殖场异味扰民", "{spot}附近养殖场粪污处理不规范，异味影响周边住户。"),
        ("夜间施工噪音", "{spot}附近工地夜间施工噪音较大，影响群众休息。"),
    ),
    "PUBLIC_SAFETY": (
        ("电动车违规充电隐患", "{spot}楼道内有电动车违规充电，存在火灾隐患。"),
        ("路口缺少警示标志", "{spot}路口车流量大，缺少减速警示标志，请设置。"),
        ("防溺水警示牌缺失", "{spot}水塘边防溺水警示牌缺失，暑期学生较多，请尽快设置。"),
        ("燃气疑似泄漏", "{spot}有住户闻到燃气异味，疑似管道泄漏，请尽快处置。"),
    ),
    "DISPUTE_MEDIATION": (
        ("宅基地边界纠纷", "{who}与邻居因宅基地边界发生争议，申请调解。"),
        ("土地流转租金纠纷", "{spot}部分农户反映土地流转租金未按合同支付，申请协调。"),
        ("家庭赡养纠纷", "{who}反映子女未履行赡养义务，申请调解。"),
        ("排水沟堵塞引发邻里矛盾", "{spot}两户因排水沟堵塞发生矛盾，申请上门调解。"),
    ),
    "LEGAL_AID": (
        ("申请法律援助追讨欠薪", "{who}在外务工被拖欠工资{amount}元，申请法律援助。"),
        ("交通事故赔偿法律咨询", "{who}家人发生交通事故，咨询赔偿标准和诉讼流程。"),
        ("遗产继承法律咨询", "{who}咨询父母房屋遗产继承办理手续。"),
        ("土地流转合同审查", "{who}准备流转承包地，申请对合同条款进行审查。"),
    ),
    "OTHER": (
        ("开具证明材料咨询", "{who}咨询办理相关证明材料需要的手续。"),
        ("便民服务意见建议", "{who}建议{place}便民服务室延长周末办公时间。"),
        ("户籍迁移咨询", "{who}咨询子女户籍迁入办理流程。"),
        ("寻物求助", "{who}在{spot}附近遗失随身物品，请帮助发布寻物信息。"),
    ),
}

CATEGORIES = Weighted(
    {
        "SOCIAL_SECURITY": 14,
        "ELDERLY_CARE": 11,
        "HEALTH": 8,
        "EDUCATION": 5,
        "EMPLOYMENT": 6,
        "HOUSING": 6,
        "INFRASTRUCTURE": 16,
        "ENVIRONMENT": 11,
        "PUBLIC_SAFETY": 4,
        "DISPUTE_MEDIATION": 9,
        "LEGAL_AID": 3,
        "OTHER": 7,
    }
)
CHANNELS: dict[str, Weighted[str]] = {
    "VILLAGE": Weighted(
        {
            "WALK_IN": 30,
            "HOTLINE": 12,
            "ONLINE": 8,
            "MOBILE_APP": 15,
            "GRID_WORKER": 25,
            "HOME_VISIT": 10,
        }
    ),
    "TOWNSHIP": Weighted(
        {
            "WALK_IN": 35,
            "HOTLINE": 20,
            "ONLINE": 15,
            "MOBILE_APP": 15,
            "GRID_WORKER": 10,
            "HOME_VISIT": 5,
        }
    ),
    "COUNTY": Weighted(
        {
            "WALK_IN": 5,
            "HOTLINE": 45,
            "ONLINE": 30,
            "MOBILE_APP": 18,
            "GRID_WORKER": 1,
            "HOME_VISIT": 1,
        }
    ),
}
CHANNEL_HOURS: dict[str, tuple[float, float]] = {
    "WALK_IN": (8, 17.5),
    "HOTLINE": (7, 22),
    "ONLINE": (6, 24),
    "MOBILE_APP": (6, 24),
    "GRID_WORKER": (8, 18),
    "HOME_VISIT": (8.5, 17.5),
}


@dataclass(frozen=True)
class Place:
    """How a request raised in a region talks about places."""

    region: Region
    place: str
    upper: str
    spots: tuple[str, ...]


def _places(county: County) -> dict[str, Place]:
    places = {
        county.county.code: Place(
            county.county,
            county.county.name,
            county.county.name,
            tuple(t.base for t in county.townships),
        )
    }
    for township in county.townships:
        villages = county.villages[township.code]
        places[township.code] = Place(
            township,
            township.base,
            county.county.name,
            tuple(v.base for v in villages) or (township.base,),
        )
        for village in villages:
            spots = (
                tuple(f"第{n}村民组" for n in range(1, 13))
                if village.is_rural
                else tuple(f"第{n}网格" for n in range(1, 9))
            )
            places[village.code] = Place(
                village, village.base, township.base, tuple(village.base + s for s in spots)
            )
    return places


def _request_text(rng: random.Random, place: Place, category: str) -> tuple[str, str | None]:
    title, description = _one(rng, REQUEST_TEXTS[category])
    spot = _one(rng, place.spots)
    who = f"{spot}{place.region.resident_word}{_one(rng, SURNAMES)}某"
    text = description.format(
        who=who,
        spot=spot,
        place=place.place,
        upper=place.upper,
        amount=rng.randrange(20, 400) * 100,
    )
    roll = rng.random()
    # A few texts carry a phone or ID number, so masking of free text has work to do.
    if roll < 0.02:
        text += f"联系电话：{_mobile(rng)}。"
    elif roll < 0.03:
        text += f"身份证号：{_id_number(rng, place.region.code)}。"
    elif roll < 0.04:
        title += f"（请回电{_mobile(rng)}）"
    elif roll < 0.06:
        return title, None
    return title, text


def _requester(rng: random.Random, channel: str) -> tuple[str | None, str | None]:
    anonymous = {"HOTLINE": 0.3, "ONLINE": 0.1}.get(channel, 0.0)
    if rng.random() < anonymous:
        return None, None
    return _person(rng), (_mobile(rng) if rng.random() < 0.95 else None)


# -- service requests: the workflow ----------------------------------------------------------


class Step(NamedTuple):
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    actor: str
    note: str | None
    satisfaction: int | None = None

    def json(self) -> str:
        """The history entry as JSON, formatted directly: json.dumps of a dict per step costs
        a large share of the seeding time. Actions, statuses and actors are plain ASCII."""
        source = "null" if self.from_status is None else f'"{self.from_status}"'
        return (
            f'{{"at": "{self.at.isoformat()}", "action": "{self.action}", '
            f'"fromStatus": {source}, "toStatus": "{self.to_status}", '
            f'"actor": "{self.actor}", "note": {_json_text(self.note)}}}'
        )


@cache
def _json_text(text: str | None) -> str:
    return json.dumps(text, ensure_ascii=False)


class Lifecycle:
    """A request's planned history; the steps after ANCHOR are cut off later."""

    def __init__(self, submitted_at: datetime, actor: str) -> None:
        self.steps = [Step(submitted_at, "submit", None, "SUBMITTED", actor, None)]

    @property
    def at(self) -> datetime:
        return self.steps[-1].at

    @property
    def status(self) -> str:
        return self.steps[-1].to_status

    def then(
        self,
        after: timedelta,
        action: str,
        to: str | None,
        actor: str,
        note: str | None = None,
        satisfaction: int | None = None,
    ) -> None:
        after = timedelta(seconds=max(int(after.total_seconds()), 60))
        step = Step(
            self.at + after, action, self.status, to or self.status, actor, note, satisfaction
        )
        self.steps.append(step)


@dataclass(frozen=True)
class Draft:
    id: uuid.UUID
    place: Place
    parent: Region | None
    category: str
    channel: str
    title: str
    description: str | None
    requester: tuple[str | None, str | None]
    submitted_at: datetime

    @property
    def due_at(self) -> datetime:
        return self.submitted_at + timedelta(days=DEADLINE_DAYS[self.category])


REJECT_REASONS = (
    "不属于受理范围，已告知向相关部门反映",
    "诉求重复提交，已合并办理",
    "所反映情况经核实不存在",
    "涉及诉讼程序，已引导通过司法途径解决",
)
ESCALATE_REASONS = (
    "涉及跨村协调，需上级统筹处理",
    "所需资金超出本级权限",
    "需相关职能部门共同办理",
    "专业性较强，本级无力处置",
)
RESOLVE_NOTES = (
    "已按要求办理完毕",
    "已现场处置并回访申请人",
    "已协调相关部门解决",
    "已答复政策规定，申请人表示理解",
)
MEDIATION_NOTES = ("已组织双方调解，达成一致意见", "经调解双方签订协议")
REOPEN_REASONS = ("申请人反映问题未彻底解决", "回访发现问题反复出现")
WITHDRAW_REASONS = ("申请人表示问题已自行解决", "申请人要求撤回")
SCORES = Weighted({5: 55, 4: 30, 3: 9, 2: 4, 1: 2})
RATING_COMMENTS = (None, "办理及时", "态度很好", "问题解决了", "希望以后更快一些", "还算满意")


def _response_delay(rng: random.Random) -> timedelta:
    roll = rng.random()
    if roll < 0.9:
        return timedelta(seconds=int(rng.uniform(0.05, 1.0) ** 2 * 23.5 * 3600))
    return _hours(rng, 24.5, 120) if roll < 0.99 else _hours(rng, 3 * 24, 30 * 24)


def _staff(region: Region) -> str:
    return f"staff-{region.code}"


def _escalate(
    rng: random.Random, life: Lifecycle, draft: Draft, parent: Region, handlers: Directory
) -> bool:
    """Escalates to the parent region; True when the request then goes on being handled."""
    here = draft.place.region
    life.then(
        _hours(rng, 1, 96),
        "escalate",
        "ESCALATED",
        _staff(here),
        f"{_one(rng, ESCALATE_REASONS)}，提请{parent.base}办理",
    )
    if rng.random() < 0.08:
        life.then(
            _hours(rng, 4, 72), "reject", "REJECTED", _staff(parent), _one(rng, REJECT_REASONS)
        )
        return False
    wait = _hours(rng, 2, 72) if rng.random() < 0.9 else _hours(rng, 5 * 24, 40 * 24)
    life.then(
        wait, "accept", "ACCEPTED", _staff(parent), f"已受理，由{handlers.handler(parent).name}办理"
    )
    life.then(_hours(rng, 1, 24), "start", "IN_PROGRESS", _staff(parent))
    return True


def _deadline_share(rng: random.Random) -> float:
    """How much of its deadline a request takes to resolve: a few are very late."""
    roll = rng.random()
    if roll < 0.82:
        return rng.uniform(0.05, 0.9)
    return rng.uniform(0.9, 2.0) if roll < 0.97 else rng.uniform(2.0, 6.0)


def _resolve(rng: random.Random, life: Lifecycle, draft: Draft, actor: str) -> None:
    share = _deadline_share(rng)
    target = draft.submitted_at + timedelta(days=DEADLINE_DAYS[draft.category] * share)
    after = max(target - life.at, _hours(rng, 1, 12))
    note = _one(rng, MEDIATION_NOTES if draft.category == "DISPUTE_MEDIATION" else RESOLVE_NOTES)
    if rng.random() < 0.01:
        note += f"，已电话回访{_mobile(rng)}"
    life.then(after, "resolve", "RESOLVED", actor, note)


def _finish(rng: random.Random, life: Lifecycle, actor: str) -> None:
    """After the (last) resolution: maybe a rating, usually a close."""
    resolved_at = life.at
    closes = rng.random() < 0.92
    gap = _hours(rng, 24, 15 * 24)
    if rng.random() < 0.65:
        score = SCORES.pick(rng)
        comment = _one(rng, RATING_COMMENTS)
        note = f"评价{score}分" + (f"：{comment}" if comment else "")
        after = gap * rng.uniform(0.1, 0.9) if closes else _hours(rng, 2, 96)
        life.then(after, "rate", None, actor, note, score)
    if closes:
        life.then(resolved_at + gap - life.at, "close", "CLOSED", actor)


def plan_lifecycle(rng: random.Random, draft: Draft, handlers: Directory) -> list[Step]:
    here = draft.place.region
    life = Lifecycle(draft.submitted_at, _staff(here))
    fate = rng.random()
    if fate < 0.03:
        life.then(
            _response_delay(rng), "reject", "REJECTED", _staff(here), _one(rng, REJECT_REASONS)
        )
        return life.steps
    life.then(
        _response_delay(rng),
        "accept",
        "ACCEPTED",
        _staff(here),
        f"已受理，由{handlers.handler(here).name}办理",
    )
    if fate < 0.055:
        life.then(
            _hours(rng, 1, 30), "withdraw", "WITHDRAWN", _staff(here), _one(rng, WITHDRAW_REASONS)
        )
        return life.steps
    if rng.random() < 0.85:
        life.then(_hours(rng, 0.5, 24), "start", "IN_PROGRESS", _staff(here))
    actor = _staff(here)
    if draft.parent is not None and rng.random() < 0.06:
        if not _escalate(rng, life, draft, draft.parent, handlers):
            return life.steps
        actor = _staff(draft.parent)
    _resolve(rng, life, draft, actor)
    if rng.random() < 0.03:
        life.then(
            _hours(rng, 24, 14 * 24), "reopen", "IN_PROGRESS", actor, _one(rng, REOPEN_REASONS)
        )
        _resolve(rng, life, draft, actor)
    _finish(rng, life, actor)
    return life.steps


# -- service requests: volume and rows -------------------------------------------------------

SPRING_FESTIVAL = (date(2026, 2, 15), date(2026, 2, 23))


def _calendar() -> Weighted[date]:
    """The window's days, weighted for growing use, quieter weekends and Spring Festival."""
    weights = {}
    for i in range(WINDOW_DAYS + 1):
        day = WINDOW_START.date() + timedelta(days=i)
        weight = 0.75 + 0.5 * i / WINDOW_DAYS
        weight *= 0.6 if day.weekday() >= 5 else 1.0
        weight *= 0.5 if SPRING_FESTIVAL[0] <= day <= SPRING_FESTIVAL[1] else 1.0
        weights[day] = weight
    return Weighted(weights)


def _weighted_regions(
    rng: random.Random, county: County, shares: tuple[float, float, float]
) -> Weighted[Region]:
    """The county's regions, weighted to give villages, townships and the county their shares."""
    villages = {
        v: rng.uniform(0.6, 1.4) * (1.0 if v.is_rural else 1.6) for v in county.all_villages
    }
    townships = {t: rng.uniform(0.7, 1.3) for t in county.townships}
    village_total, township_total = sum(villages.values()), sum(townships.values())
    return Weighted(
        {
            **{v: shares[0] * w / village_total for v, w in villages.items()},
            **{t: shares[1] * w / township_total for t, w in townships.items()},
            county.county: shares[2],
        }
    )


def _submission_time(rng: random.Random, days: Weighted[date], channel: str) -> datetime:
    low, high = CHANNEL_HOURS[channel]
    while True:
        at = _at(days.pick(rng), int(rng.uniform(low, high) * 3600))
        if WINDOW_START <= at < ANCHOR:
            return at


def draft_requests(rng: random.Random, county: County) -> list[Draft]:
    places = _places(county)
    regions = _weighted_regions(rng, county, (0.87, 0.11, 0.02))
    days = _calendar()
    drafts = []
    for _ in range(REQUEST_COUNT):
        region = regions.pick(rng)
        place = places[region.code]
        category = CATEGORIES.pick(rng)
        channel = CHANNELS[region.level].pick(rng)
        title, description = _request_text(rng, place, category)
        parent = county.by_code.get(region.parent_code or "") if region.level != "COUNTY" else None
        drafts.append(
            Draft(
                _uuid(rng),
                place,
                parent,
                category,
                channel,
                title,
                description,
                _requester(rng, channel),
                _submission_time(rng, days, channel),
            )
        )
    drafts.sort(key=lambda d: d.submitted_at)
    return drafts


def _handled_by(draft: Draft, steps: Iterable[Step], handlers: Directory) -> uuid.UUID | None:
    region, org = draft.place.region, None
    for step in steps:
        if step.action == "escalate":
            region, org = draft.parent or region, None
        elif step.action == "accept":
            org = handlers.handler(region)
    return org.id if org else None


def _first(steps: Sequence[Step], *actions: str) -> datetime | None:
    return next((s.at for s in steps if s.action in actions), None)


def _last(steps: Sequence[Step], action: str) -> datetime | None:
    return next((s.at for s in reversed(steps) if s.action == action), None)


def request_row(draft: Draft, planned: list[Step], reference: str, handlers: Directory) -> Row:
    steps = [s for s in planned if s.at < ANCHOR]
    status = steps[-1].to_status
    escalated = any(s.action == "escalate" for s in steps)
    handling = draft.parent if escalated and draft.parent else draft.place.region
    satisfaction = next((s.satisfaction for s in steps if s.action == "rate"), None)
    history = "[" + ", ".join(s.json() for s in steps) + "]"
    return (
        draft.id,
        reference,
        draft.place.region.code,
        handling.code,
        _handled_by(draft, steps, handlers),
        draft.category,
        draft.channel,
        status,
        draft.title,
        draft.description,
        draft.requester[0],
        draft.requester[1],
        draft.submitted_at,
        _first(steps, "accept", "reject"),
        _first(steps, "accept"),
        draft.due_at,
        _last(steps, "resolve") if status in ("RESOLVED", "CLOSED") else None,
        _last(steps, "close") if status == "CLOSED" else None,
        satisfaction,
        history,
        len(steps),
        draft.submitted_at,
        steps[-1].at,
    )


class Requests:
    """Service request rows in submission order, and the reference counters they used
    (complete once the rows have all been taken)."""

    def __init__(self, rng: random.Random, county: County, handlers: Directory) -> None:
        self.rng = rng
        self.handlers = handlers
        self.drafts = draft_requests(rng, county)
        self.counters: dict[tuple[str, int], int] = {}

    def rows(self) -> Iterator[Row]:
        for draft in self.drafts:
            key = (draft.place.region.code, draft.submitted_at.astimezone(CST).year)
            self.counters[key] = self.counters.get(key, 0) + 1
            reference = f"{key[0]}-{key[1]}-{self.counters[key]:06d}"
            steps = plan_lifecycle(self.rng, draft, self.handlers)
            yield request_row(draft, steps, reference, self.handlers)

    def counter_rows(self) -> list[Row]:
        return [(code, year, last) for (code, year), last in sorted(self.counters.items())]


# -- participation ---------------------------------------------------------------------------

EVENT_KINDS: dict[str, Weighted[str]] = {
    "VILLAGE": Weighted(
        {
            "VILLAGERS_ASSEMBLY": 12,
            "DELIBERATION": 22,
            "JOINT_MEETING": 8,
            "HEARING": 4,
            "OPINION_SOLICITATION": 12,
            "PUBLIC_SUPERVISION": 14,
            "VOLUNTEER_ACTIVITY": 28,
        }
    ),
    "TOWNSHIP": Weighted(
        {
            "JOINT_MEETING": 25,
            "DELIBERATION": 15,
            "HEARING": 12,
            "OPINION_SOLICITATION": 20,
            "PUBLIC_SUPERVISION": 10,
            "VOLUNTEER_ACTIVITY": 18,
        }
    ),
    "COUNTY": Weighted(
        {"JOINT_MEETING": 20, "HEARING": 30, "OPINION_SOLICITATION": 30, "VOLUNTEER_ACTIVITY": 20}
    ),
}
ORGANIZER_ROLES: dict[str, tuple[str, ...]] = {
    "VILLAGERS_ASSEMBLY": ("committee",),
    "DELIBERATION": ("committee", "party"),
    "JOINT_MEETING": ("party",),
    "HEARING": ("committee", "service"),
    "OPINION_SOLICITATION": ("committee", "service"),
    "PUBLIC_SUPERVISION": ("supervision",),
    "VOLUNTEER_ACTIVITY": ("volunteer", "party"),
}
GROUP_RANGES: dict[str, dict[str, tuple[int, int]]] = {
    "VILLAGERS_ASSEMBLY": {
        "VILLAGERS": (30, 260),
        "PARTY_MEMBERS": (5, 30),
        "REPRESENTATIVES": (0, 40),
        "OFFICIALS": (2, 6),
    },
    "DELIBERATION": {
        "VILLAGERS": (5, 30),
        "PARTY_MEMBERS": (2, 10),
        "REPRESENTATIVES": (3, 15),
        "OFFICIALS": (1, 4),
        "EXPERTS": (0, 2),
    },
    "JOINT_MEETING": {
        "OFFICIALS": (5, 20),
        "REPRESENTATIVES": (0, 10),
        "PARTY_MEMBERS": (0, 8),
        "OTHERS": (0, 5),
    },
    "HEARING": {
        "VILLAGERS": (5, 40),
        "REPRESENTATIVES": (5, 20),
        "OFFICIALS": (3, 10),
        "EXPERTS": (1, 6),
        "OTHERS": (0, 10),
    },
    "OPINION_SOLICITATION": {"VILLAGERS": (20, 400), "PARTY_MEMBERS": (0, 20), "OTHERS": (0, 50)},
    "PUBLIC_SUPERVISION": {
        "VILLAGERS": (5, 50),
        "PARTY_MEMBERS": (2, 8),
        "REPRESENTATIVES": (3, 10),
    },
    "VOLUNTEER_ACTIVITY": {
        "VILLAGERS": (5, 60),
        "PARTY_MEMBERS": (3, 20),
        "OFFICIALS": (0, 4),
        "OTHERS": (0, 20),
    },
}
TITLE_FORMS: dict[str, str] = {
    "VILLAGERS_ASSEMBLY": "{place}关于{topic}的{assembly}",
    "DELIBERATION": "{place}“{topic}”议事协商会",
    "JOINT_MEETING": "{place}{topic}联席会议",
    "HEARING": "{place}{topic}听证会",
    "OPINION_SOLICITATION": "{place}{topic}意见征集",
    "PUBLIC_SUPERVISION": "{place}{topic}{affairs}公开监督",
    "VOLUNTEER_ACTIVITY": "{place}“{topic}”志愿服务活动",
}
VILLAGE_TOPICS: dict[str, tuple[str, ...]] = {
    "人居环境整治": (
        "开展房前屋后杂物集中清理",
        "设立垃圾分类积分兑换点",
        "每月评选“美丽庭院”示范户",
    ),
    "村组道路硬化": (
        "硬化通组道路，工程纳入一事一议财政奖补",
        "成立村民质量监督小组全程监督施工",
        "占地补偿标准按村民代表会议意见执行",
    ),
    "集体经济收益分配": (
        "按股份分配本年度集体经济收益",
        "提取部分收益用于村内公益事业",
        "分配方案张榜公示七天",
    ),
    "高标准农田建设": (
        "同意实施高标准农田建设项目",
        "田间道路和沟渠布局按群众意见调整",
        "成立农户代表监督小组",
    ),
    "低保对象民主评议": (
        "同意新增低保对象的评议结果",
        "评议结果在村务公开栏公示",
        "对有异议的对象入户复核",
    ),
    "移风易俗": ("修订村规民约，倡导红事新办、白事简办", "成立红白理事会", "设立移风易俗宣传栏"),
    "小型水利设施管护": (
        "明确塘坝、沟渠管护责任人",
        "管护经费从村集体收益中列支",
        "汛前组织一次全面清淤",
    ),
    "土地流转": ("统一组织土地经营权流转", "流转租金按年度预付", "同等条件下优先流转给本村种植户"),
    "养老服务": ("建设村级老年食堂", "为八十岁以上老人提供助餐补贴", "组织志愿者定期探访独居老人"),
    "村级公益事业建设": ("新建村民文化广场", "安装主干道太阳能路灯", "修缮村卫生室"),
}
UPPER_TOPICS: dict[str, tuple[str, ...]] = {
    "乡村振兴项目库建设": (
        "将所列项目纳入年度项目库",
        "优先安排群众呼声高的基础设施项目",
        "项目实施情况按季度公示",
    ),
    "农村公路养护": (
        "建立县乡村三级路长制",
        "养护经费按里程分配到乡镇",
        "开展农村公路安全隐患排查",
    ),
    "集中供水工程": ("实施城乡供水一体化改造", "水价标准按听证意见执行", "困难群众水费给予减免"),
    "安全生产大检查": (
        "开展为期一个月的安全生产隐患排查",
        "建立隐患整改台账",
        "对重点企业实行包保责任制",
    ),
    "防汛抗旱": ("落实防汛责任人和抢险队伍", "储备防汛物资", "汛前完成重点河段清淤"),
    "义务教育学校布局调整": (
        "保留教学点并改善办学条件",
        "增加校车线路",
        "调整方案公开征求家长意见",
    ),
    "老旧小区改造": ("同意老旧小区改造方案", "增设电动车集中充电设施", "成立居民监督小组"),
    "养老服务体系建设": ("建设区域性养老服务中心", "推行居家养老服务补贴", "开展养老护理员培训"),
}
GENERIC_RESOLUTIONS = (
    "议定事项在公开栏公示，接受群众监督",
    "明确责任人和完成时限，下次会议通报进展",
)
VOLUNTEER_TOPICS = (
    "关爱留守儿童",
    "敬老助老",
    "清洁家园",
    "义诊进村",
    "防溺水宣传",
    "反诈宣传",
    "文明交通劝导",
    "秸秆禁烧宣传",
    "扶残助残",
    "植树护绿",
)
START_SECONDS = (
    9 * 3600,
    9 * 3600 + 1800,
    14 * 3600 + 1800,
    15 * 3600,
    19 * 3600,
    19 * 3600 + 1800,
)
RESOLUTION_STATUSES = Weighted({"PROPOSED": 8, "ADOPTED": 37, "REJECTED": 10, "IMPLEMENTED": 45})
RESOLUTIONS_PER_EVENT = Weighted({0: 10, 1: 30, 2: 30, 3: 20, 4: 10})
RESOLUTION_VERSIONS = {"PROPOSED": 1, "ADOPTED": 2, "REJECTED": 2, "IMPLEMENTED": 3}


@dataclass(frozen=True)
class Event:
    id: uuid.UUID
    region: Region
    kind: str
    starts_at: datetime
    created_at: datetime
    participants: dict[str, int]
    topic: str
    resolution_texts: tuple[str, ...]

    @property
    def participant_count(self) -> int:
        return sum(self.participants.values())


def _event_topic(rng: random.Random, region: Region, kind: str) -> tuple[str, tuple[str, ...]]:
    if kind == "VOLUNTEER_ACTIVITY":
        return _one(rng, VOLUNTEER_TOPICS), ()
    topics = VILLAGE_TOPICS if region.level == "VILLAGE" else UPPER_TOPICS
    topic = _one(rng, sorted(topics))
    return topic, topics[topic] + GENERIC_RESOLUTIONS


def _event_title(region: Region, kind: str, topic: str) -> str:
    rural = region.is_rural or region.level != "VILLAGE"
    return TITLE_FORMS[kind].format(
        place=region.base,
        topic=topic,
        assembly="村民代表会议" if rural else "居民代表会议",
        affairs="村务" if rural else "居务",
    )


def _participants(rng: random.Random, kind: str) -> dict[str, int]:
    drawn = {
        group: rng.randint(*GROUP_RANGES[kind][group])
        for group in PARTICIPANT_GROUPS
        if group in GROUP_RANGES[kind]
    }
    return {group: count for group, count in drawn.items() if count > 0}


def _event_start(rng: random.Random) -> datetime:
    while True:
        at = _at(_day(rng, WINDOW_START.date(), ANCHOR.date()), _one(rng, START_SECONDS))
        if WINDOW_START <= at < ANCHOR:
            return at


def _organizer(
    rng: random.Random, directory: Directory, region: Region, kind: str
) -> uuid.UUID | None:
    if rng.random() < 0.05:
        return None
    for role in ORGANIZER_ROLES[kind]:
        org = directory.role(region, role)
        if org is not None:
            return org.id
    return None


def _resolution_status(rng: random.Random, held: date) -> str:
    if (ANCHOR.date() - held).days < 3 and rng.random() < 0.6:
        return "PROPOSED"
    return RESOLUTION_STATUSES.pick(rng)


def _votes(rng: random.Random, event: Event, status: str) -> tuple[int | None, int | None]:
    if event.kind not in VOTING_KINDS or status == "PROPOSED":
        return None, None
    voters = event.participant_count - rng.randint(0, event.participant_count // 10)
    if status == "REJECTED":
        against = rng.randint(voters // 2 + 1, voters)
        return rng.randint(0, voters - against), against
    votes_for = rng.randint(voters // 2 + 1, voters)
    return votes_for, rng.randint(0, voters - votes_for)


def _touched(created: datetime, *days: date | None) -> datetime:
    """When a row was last changed: the latest of its dates (at 17:00), before ANCHOR."""
    latest = max((_at(d, 17 * 3600) for d in days if d is not None), default=created)
    return max(created, min(latest, ANCHOR - timedelta(minutes=1)))


def _resolution(rng: random.Random, event: Event, position: int, text: str) -> Row:
    held = event.starts_at.date()
    status = _resolution_status(rng, held)
    decided = implemented = None
    if status != "PROPOSED":
        decided = min(held + timedelta(days=rng.randint(0, 2)), ANCHOR.date())
    if status == "IMPLEMENTED":
        assert decided is not None
        implemented = decided + timedelta(days=rng.randint(7, 150))
        if implemented > ANCHOR.date():
            status, implemented = "ADOPTED", None
    votes_for, votes_against = _votes(rng, event, status)
    return (
        _uuid(rng),
        event.id,
        event.region.code,
        position,
        text,
        status,
        decided,
        implemented,
        votes_for,
        votes_against,
        RESOLUTION_VERSIONS[status],
        event.created_at,
        _touched(event.created_at, decided, implemented),
    )


def _resolutions(rng: random.Random, event: Event) -> list[Row]:
    if event.kind not in DELIBERATIVE_KINDS:
        return []
    count = RESOLUTIONS_PER_EVENT.pick(rng)
    texts = rng.sample(event.resolution_texts, count)
    return [_resolution(rng, event, i + 1, text) for i, text in enumerate(texts)]


def _event(rng: random.Random, region: Region) -> Event:
    kind = EVENT_KINDS[region.level].pick(rng)
    topic, texts = _event_topic(rng, region, kind)
    starts = _event_start(rng)
    created = min(starts + _hours(rng, 1, 48), ANCHOR - timedelta(minutes=1))
    return Event(_uuid(rng), region, kind, starts, created, _participants(rng, kind), topic, texts)


def build_participation(
    rng: random.Random, county: County, directory: Directory
) -> tuple[list[Row], list[Row]]:
    regions = _weighted_regions(rng, county, (0.85, 0.12, 0.03))
    events: list[Row] = []
    resolutions: list[Row] = []
    for _ in range(EVENT_COUNT):
        event = _event(rng, regions.pick(rng))
        organizer = _organizer(rng, directory, event.region, event.kind)
        rows = _resolutions(rng, event)
        updated = max([event.created_at, *(cast(datetime, row[-1]) for row in rows)])
        events.append(
            (
                event.id,
                event.region.code,
                organizer,
                event.kind,
                _event_title(event.region, event.kind, event.topic),
                event.topic,
                event.starts_at,
                event.participant_count,
                json.dumps(event.participants, ensure_ascii=False),
                1,
                event.created_at,
                updated,
            )
        )
        resolutions.extend(rows)
    return events, resolutions


# -- writing ---------------------------------------------------------------------------------


async def _copy(
    conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: Iterable[Row]
) -> int:
    """COPY rows as they are made, so the server works while Python builds the next ones."""
    count = 0

    async def each() -> AsyncIterator[Row]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    await conn.copy_records_to_table(table, records=each(), columns=list(columns))
    return count


async def _write(conn: asyncpg.Connection, county: County, seed: int) -> DemoReport:
    directory = build_organizations(_stream(seed, county, "organizations"), county)
    organizations = await _copy(
        conn,
        "organization",
        ORGANIZATION_COLUMNS,
        (org.record() for org in directory.organizations),
    )
    requests = Requests(_stream(seed, county, "requests"), county, directory)
    service_requests = await _copy(conn, "service_request", REQUEST_COLUMNS, requests.rows())
    counters = await _copy(conn, "reference_counter", COUNTER_COLUMNS, requests.counter_rows())
    participation = _stream(seed, county, "participation")
    events, resolutions = build_participation(participation, county, directory)
    return DemoReport(
        organizations=organizations,
        service_requests=service_requests,
        reference_counters=counters,
        participation_events=await _copy(conn, "participation_event", EVENT_COLUMNS, events),
        resolutions=await _copy(conn, "resolution", RESOLUTION_COLUMNS, resolutions),
    )


async def seed_demo(
    conn: asyncpg.Connection, county_code: str = "341126", seed: int = 20261128
) -> DemoReport:
    """Seed the demo under `county_code` once; a county that has organizations is left alone.

    `conn` is the owner's login (row-level security does not apply to it), with asyncpg's
    default json codecs: the rows go in by binary COPY, which a text-format jsonb codec such as
    `db.pool.connect` installs cannot encode.
    """
    async with conn.transaction():
        await conn.execute(LOCK_SEEDING)
        if await conn.fetchval(SELECT_SEEDED, county_code):
            return DemoReport()
        report = await _write(conn, await _load_county(conn, county_code), seed)
    await conn.execute(ANALYZE_TABLES)
    return report
