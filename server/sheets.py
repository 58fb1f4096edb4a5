"""What an office files: an export's header in Chinese (or English with `lang=en`), the
title block above it (the region's full name, the period, when and by whom), how each
column's cells are shown, and the 「指标说明」 sheet that defines the columns from the built
schema's descriptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from graphql import GraphQLObjectType, GraphQLSchema
from starlette.datastructures import QueryParams

from resolvers.errors import BadUserInput
from server.sheet_columns import NO_DATA, Column
from server.spreadsheets import Sheet

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
CST = dt.timezone(dt.timedelta(hours=8))

WORDS = {
    "zh": {
        "region": "区划",
        "period": "期间",
        "all": "不限",
        "since": "{start} 起",
        "until": "至 {end}",
        "between": "{start} 至 {end}",
        "generated": "生成时间",
        "china_time": "(北京时间)",
        "by": "导出人",
        "none": "(无可见区划)",
        "legend": f"图例:{NO_DATA} 表示无数据,即该区划截至期末从未报送此类记录(不同于本期为 0)",
    },
    "en": {
        "region": "Region",
        "period": "Period",
        "all": "all",
        "since": "from {start}",
        "until": "until {end}",
        "between": "{start} to {end}",
        "generated": "Generated at",
        "china_time": " (China Standard Time)",
        "by": "Exported by",
        "none": "(no visible region)",
        "legend": f"Legend: {NO_DATA} no data: the region has never reported such a record "
        "up to the period's end (not the same as 0 in this period)",
    },
}
SEPARATOR = {"zh": ":", "en": ": "}


def lang_of(params: QueryParams) -> Lang:
    """`lang`: zh (the default) or en; given once."""
    given = params.getlist("lang")
    if not given:
        return "zh"
    if len(given) > 1:
        raise BadUserInput("`lang` may be given once", reason="PARAMETER_REPEATED")
    if given[0] not in LANGS:
        raise BadUserInput(
            f"`lang` takes {' or '.join(LANGS)}; not {given[0]!r}", reason="UNKNOWN_VALUE"
        )
    return "en" if given[0] == "en" else "zh"


def description(schema: GraphQLSchema, coordinate: str | None) -> str:
    """The description of `Type.field` in the built schema (empty if it has none)."""
    if coordinate is None:
        return ""
    type_name, _, field_name = coordinate.partition(".")
    found = schema.get_type(type_name)
    if not isinstance(found, GraphQLObjectType) or field_name not in found.fields:
        raise KeyError(f"no schema field {coordinate}")
    return " ".join((found.fields[field_name].description or "").split())


def definitions(
    schema: GraphQLSchema, columns: Sequence[Column], lang: Lang
) -> tuple[tuple[str, ...], ...]:
    rows = []
    for column in columns:
        text = description(schema, column.field)
        if column.part:
            text = f"{'其中' if lang == 'zh' else 'Of which'} {column.part}. {text}".strip()
        where = f"({column.field})" if column.field else ""
        header = column.label if lang == "zh" else column.key
        rows.append((header, column.key, f"{text} {where}".strip()))
    return tuple(rows)


def period_text(start: dt.date | None, end: dt.date | None, lang: Lang) -> str:
    words = WORDS[lang]
    if start and end:
        return words["between"].format(start=start, end=end)
    if start:
        return words["since"].format(start=start)
    if end:
        return words["until"].format(end=end)
    return words["all"]


def full_name(names: Iterable[str | None]) -> str:
    """`安徽省 宿州市 萧县`: the names from the province down (the nation only alone)."""
    shown = [n for n in names if n]
    return " ".join(shown[1:] if len(shown) > 1 else shown)


@dataclass(frozen=True)
class Heading:
    """What the title block says: the file's title, the regions, the period, who asked."""

    title: str
    regions: tuple[str, ...]
    start: dt.date | None
    end: dt.date | None
    subject: str
    legend: bool = False


def title_block(heading: Heading, lang: Lang, now: dt.datetime) -> tuple[str, ...]:
    words, colon = WORDS[lang], SEPARATOR[lang]
    stamp = now.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        heading.title,
        f"{words['region']}{colon}{'、'.join(heading.regions) or words['none']}",
        f"{words['period']}{colon}{period_text(heading.start, heading.end, lang)}",
        f"{words['generated']}{colon}{stamp}{words['china_time']}",
        f"{words['by']}{colon}{heading.subject}",
    ]
    if heading.legend:
        lines.append(words["legend"])
    return tuple(lines)


def sheet_of(
    name: str,
    columns: Sequence[Column],
    heading: Heading,
    lang: Lang,
    schema: GraphQLSchema,
    now: dt.datetime,
) -> Sheet:
    """The layout of one export in `lang`."""
    zh = lang == "zh"
    defined = definitions(schema, columns, lang)
    if heading.legend:
        defined += ((NO_DATA, "", WORDS[lang]["legend"]),)
    return Sheet(
        name=heading.title if zh else name,
        header=tuple(c.label if zh else c.key for c in columns),
        kinds=tuple(c.kind for c in columns),
        title=title_block(heading, lang, now),
        definitions=defined,
        definitions_name="指标说明" if zh else "definitions",
        definitions_header=("列名", "英文列名", "说明") if zh else ("column", "key", "definition"),
        booleans=("是", "否") if zh else None,
    )
