"""Keyset pages for Relay connections: page sizes, cursors and the lazily counted total."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import asyncpg

from resolvers.errors import BadUserInput
from resolvers.ids import CursorCodec

DEFAULT_FIRST = 50
MAX_FIRST = 500

Counter = Callable[[], Awaitable[int | None]]


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_FIRST
    if first < 0 or first > MAX_FIRST:
        raise BadUserInput(
            f"`first` must be between 0 and {MAX_FIRST}, not {first}", reason="PAGE_SIZE"
        )
    return first


def like_pattern(text: str | None) -> str | None:
    """An ILIKE pattern matching `text` anywhere, with its wildcards taken literally."""
    if text is None or text == "":
        return None
    if "\x00" in text:
        raise BadUserInput("Text filters cannot contain the NUL character", reason="NUL_BYTE")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class Page:
    """One page of rows, with the cursor of each row and a way to count the whole list."""

    rows: Sequence[asyncpg.Record]
    cursors: Sequence[str]
    has_next: bool
    has_previous: bool
    count: Counter


class LazyCursors(Sequence[str]):
    """Each row's cursor, signed the first time it is asked for: a page whose edges' cursors
    nobody selects signs only the two its page info names."""

    def __init__(
        self,
        rows: Sequence[asyncpg.Record],
        codec: CursorCodec,
        list_name: str,
        key: Callable[[asyncpg.Record], list[Any]],
    ) -> None:
        self._rows, self._codec, self._list, self._key = rows, codec, list_name, key
        self._signed: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self._rows))[index]]
        position = range(len(self._rows))[index]  # IndexError past the end, negatives allowed
        signed = self._signed.get(position)
        if signed is None:
            row = self._rows[position]
            signed = self._signed[position] = self._codec.encode(self._list, self._key(row))
        return signed


async def _no_count() -> int | None:
    return 0


def empty_page() -> Page:
    return Page((), (), False, False, _no_count)


def make_page(
    rows: Sequence[asyncpg.Record],
    size: int,
    after: str | None,
    codec: CursorCodec,
    list_name: str,
    key: Callable[[asyncpg.Record], list[Any]],
    count: Counter,
) -> Page:
    kept = rows[:size]
    return Page(
        kept,
        LazyCursors(kept, codec, list_name, key),
        len(rows) > size,
        after is not None,
        count,
    )
