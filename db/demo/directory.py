"""Organizations as rows, the directory of who plays which part, and the factory that adds them."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from db.demo.columns import Row
from db.demo.draws import _day, _hours, _uuid
from db.demo.people import _mobile, _person
from db.demo.regions import Region
from db.demo.timeline import ANCHOR, GO_LIVE


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
