"""A service request's planned history through the workflow of DESIGN.md §5."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from db.demo.directory import Directory
from db.demo.draws import Weighted, _hours, _one
from db.demo.people import _mobile
from db.demo.regions import Region
from db.demo.request_texts import Place

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
    """How much of its deadline a request takes to resolve: a few are late, fewer very late,
    so at the anchor about one open request in ten is overdue (issue 20: 5–15 %)."""
    roll = rng.random()
    if roll < 0.92:
        return rng.uniform(0.05, 0.9)
    return rng.uniform(0.9, 2.0) if roll < 0.985 else rng.uniform(2.0, 3.0)


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
