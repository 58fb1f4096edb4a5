"""The county's organizations, from the county party committee down to village teams."""

from __future__ import annotations

import random

from db.demo.directory import Directory, Organization, OrganizationFactory
from db.demo.regions import County, Region

PARTY_KINDS = frozenset({"PARTY_COMMITTEE", "PARTY_GENERAL_BRANCH", "PARTY_BRANCH"})


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
            founded=(2016, 2023),
        )


def build_organizations(rng: random.Random, county: County) -> Directory:
    make = OrganizationFactory(rng)
    top = _county_organizations(make, county.county)
    for township in county.townships:
        committee = _township_organizations(make, county.county, township, top)
        for village in county.villages[township.code]:
            _village_organizations(make, village, committee)
    return make.directory
