"""CSV and XLSX files written chunk by chunk, as bytes to stream.

Text that a spreadsheet would take for a formula (a cell starting with `=`, `+`, `-`, `@`,
a tab or a carriage return: OWASP's CSV injection list) gets a leading `'`, in both formats;
XLSX cells are written as typed values, so text never becomes a formula there anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import multiprocessing
import os
import pickle
import tempfile
import unicodedata
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio
import xlsxwriter

from resolvers.exports import Cell

# Excel's rows per sheet, the header row included; past it a new sheet starts.
SHEET_ROWS = 1_048_576
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FILE_CHUNK = 256 * 1024
BOM = "\ufeff"
# Workbooks built at once per hub process; more wait their turn.
XLSX_BUILDERS = 1

Chunks = AsyncGenerator[list[list[Cell]], None]

# Number formats of the kinds of `server.sheet_columns.Column`.
NUMBER_FORMATS = {
    "rate": "0.0%",
    "hours": "0.0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}
MIN_WIDTH, MAX_WIDTH = 6, 48
# Rows whose text widens a column: the header and the first rows are enough to size it.
WIDTH_ROWS = 200
# Tables up to this many columns are printed one page wide.
PAGE_COLUMNS = 16


@dataclass(frozen=True)
class Sheet:
    """How a file is laid out: sent to the builder process, so plain data only.

    `header` is the first CSV row and the XLSX header row; `kinds` say how each column's cells
    are written; `title` are the XLSX lines above the header; `definitions` the rows of the
    sheet that defines the columns (none: no such sheet); `booleans` the words for true and
    false (None: boolean cells)."""

    name: str
    header: tuple[str, ...]
    kinds: tuple[str, ...] = ()
    title: tuple[str, ...] = ()
    definitions: tuple[tuple[str, ...], ...] = ()
    definitions_name: str = "指标说明"
    definitions_header: tuple[str, ...] = ("列名", "英文列名", "说明")
    booleans: tuple[str, str] | None = None


def display_width(text: str) -> int:
    """Columns a text takes on screen: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def worded(rows: Sequence[Sequence[Cell]], booleans: tuple[str, str] | None) -> list[list[Cell]]:
    """Booleans as the sheet's words for them (是/否), when it has words."""
    if booleans is None:
        return [list(row) for row in rows]
    yes, no = booleans
    return [[(yes if v else no) if isinstance(v, bool) else v for v in row] for row in rows]


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def neutralised(row: Sequence[Cell]) -> list[Cell]:
    return ["'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in row]


def csv_lines(rows: Sequence[Sequence[Cell]]) -> bytes:
    """Rows as CSV: empty cells for nulls, True/False for booleans."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(neutralised(row) for row in rows)
    return buffer.getvalue().encode("utf-8")


async def csv_stream(sheet: Sheet, chunks: Chunks) -> AsyncGenerator[bytes, None]:
    """UTF-8 with a byte order mark (so spreadsheets read the Chinese text), header first,
    then data only: no title lines, so every row after the header is a row of data."""
    async with contextlib.aclosing(chunks):
        yield BOM.encode("utf-8") + csv_lines([list(sheet.header)])
        async for chunk in chunks:
            yield csv_lines(worded(chunk, sheet.booleans))


def _local(text: str) -> dt.datetime:
    """An ISO time as the naive China-time datetime a spreadsheet cell holds."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=None)


class Workbook:
    """An XLSX file on disk in XlsxWriter's constant-memory mode: rows go to the sheet's file
    as they come, in order, and a new sheet starts when one is full. The first sheet has the
    title lines above its header; a continued sheet starts with the header; the header row
    is frozen on each. The definitions sheet comes last."""

    def __init__(self, folder: Path, sheet: Sheet, sheet_rows: int = SHEET_ROWS) -> None:
        self.path = folder / "export.xlsx"
        self._sheet_rows = sheet_rows
        self._book = xlsxwriter.Workbook(
            str(self.path),
            {
                "constant_memory": True,
                "tmpdir": str(folder),
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                # A full sheet of long texts can pass 4 GB; zip64 is written only then.
                "use_zip64": True,
            },
        )
        self._spec = sheet
        self._bold = self._book.add_format({"bold": True, "bottom": 1, "text_wrap": True})
        self._heading = self._book.add_format({"bold": True, "font_size": 14})
        self._formats = {
            kind: self._book.add_format({"num_format": f}) for kind, f in NUMBER_FORMATS.items()
        }
        self._kinds = list(sheet.kinds) + ["text"] * (len(sheet.header) - len(sheet.kinds))
        self._widths = [display_width(h) for h in sheet.header]
        self._sized = 0
        self.sheets = 0
        self._row = 0
        self._sheet = self._new_sheet()

    def _new_sheet(self) -> xlsxwriter.worksheet.Worksheet:
        self._size_columns()
        self.sheets += 1
        title = self._spec.name
        name = title if self.sheets == 1 else f"{title}-{self.sheets}"
        sheet = self._book.add_worksheet(name[:31])
        row = 0
        if self.sheets == 1 and self._spec.title:
            sheet.write_string(0, 0, self._spec.title[0], self._heading)
            for row, line in enumerate(self._spec.title[1:], start=1):
                sheet.write_string(row, 0, line)
            row += 2  # a blank line between the title block and the header
        for column, text in enumerate(self._spec.header):
            sheet.write_string(row, column, text, self._bold)
        sheet.freeze_panes(row + 1, 0)
        # Printed for filing: A4 landscape, the header repeated on every page.
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.repeat_rows(row)
        if len(self._spec.header) <= PAGE_COLUMNS:
            sheet.fit_to_pages(1, 0)  # a narrow table: as wide as the page, as long as it is
        self._row = row + 1
        return sheet

    def _size_columns(self) -> None:
        if self.sheets:
            for column, width in enumerate(self._widths):
                kind = self._kinds[column]
                shown = 19 if kind == "datetime" else 10 if kind == "date" else width
                self._sheet.set_column(
                    column, column, max(MIN_WIDTH, min(MAX_WIDTH, max(width, shown) + 2))
                )

    def _cell(self, row: int, column: int, value: Cell) -> None:
        sheet = self._sheet
        kind = self._kinds[column] if column < len(self._kinds) else "text"
        if isinstance(value, bool):
            words = self._spec.booleans
            if words is None:
                sheet.write_boolean(row, column, value)
            else:
                sheet.write_string(row, column, words[0] if value else words[1])
        elif isinstance(value, int | float):
            sheet.write_number(row, column, value, self._formats.get(kind))
        elif kind == "datetime" and value:
            sheet.write_datetime(row, column, _local(value), self._formats["datetime"])
        elif kind == "date" and value:
            day = dt.date.fromisoformat(value)
            sheet.write_datetime(
                row, column, dt.datetime.combine(day, dt.time()), self._formats["date"]
            )
        elif value is not None:
            sheet.write_string(row, column, neutralise(value))

    def write(self, rows: Sequence[Sequence[Cell]]) -> None:
        for cells in rows:
            if self._row >= self._sheet_rows:
                self._sheet = self._new_sheet()
            for column, value in enumerate(cells):
                if value is not None:
                    self._cell(self._row, column, value)
            if self._sized < WIDTH_ROWS:
                self._sized += 1
                for column, value in enumerate(cells[: len(self._widths)]):
                    if isinstance(value, str) and self._kinds[column] == "text":
                        width = display_width(value)
                        if width > self._widths[column]:
                            self._widths[column] = width
            self._row += 1

    def _definitions(self) -> None:
        if not self._spec.definitions:
            return
        sheet = self._book.add_worksheet(self._spec.definitions_name[:31])
        for column, text in enumerate(self._spec.definitions_header):
            sheet.write_string(0, column, text, self._bold)
        widths = [display_width(h) for h in self._spec.definitions_header]
        for row, cells in enumerate(self._spec.definitions, start=1):
            for column, text in enumerate(cells):
                sheet.write_string(row, column, text)
                widths[column] = max(widths[column], display_width(text))
        sheet.freeze_panes(1, 0)
        for column, width in enumerate(widths):
            sheet.set_column(column, column, max(MIN_WIDTH, min(80, width + 2)))

    def close(self) -> None:
        self._size_columns()
        self._definitions()
        self._book.close()


ROWS_FILE = "rows.pickle"


def build_workbook(folder: str, sheet: Sheet, sheet_rows: int) -> str:
    """In a builder process: the workbook of the chunks pickled in `folder`; its path."""
    book = Workbook(Path(folder), sheet, sheet_rows)
    with (Path(folder) / ROWS_FILE).open("rb") as rows:
        while True:
            try:
                chunk = pickle.load(rows)
            except EOFError:
                break
            book.write(chunk)
    book.close()
    return str(book.path)


_builders: ProcessPoolExecutor | None = None
# How much lower than the serving process's a builder's CPU priority is (nice(2)).
BUILDER_NICENESS = 10


def _behind_serving() -> None:
    """In a builder process: where cores are short, the serving process goes first."""
    os.nice(BUILDER_NICENESS)


def builders() -> ProcessPoolExecutor:
    """The process that builds workbooks, started on first use. XlsxWriter is pure Python:
    in a thread of the hub it holds the GIL, and the event loop waits for it after every
    system call (py-spy, during a whole-county XLSX export: 78 % of the hub's samples in
    that thread). A builder that died is replaced on the next export."""
    global _builders
    if _builders is None:
        context = multiprocessing.get_context("forkserver")
        _builders = ProcessPoolExecutor(
            max_workers=XLSX_BUILDERS, mp_context=context, initializer=_behind_serving
        )
    return _builders


def _forget(pool: ProcessPoolExecutor) -> None:
    global _builders
    if _builders is pool:
        _builders = None
    pool.shutdown(wait=False)


def _pickle_to(file: BinaryIO, chunk: list[list[Cell]]) -> None:
    pickle.dump(chunk, file, protocol=pickle.HIGHEST_PROTOCOL)


async def xlsx_stream(sheet: Sheet, chunks: Chunks) -> AsyncGenerator[bytes, None]:
    """The rows are pickled to a temporary folder as they come, a builder process writes the
    workbook there (an XLSX file is a zip whose directory comes last, so the first byte waits
    for the last row anyway), then it is streamed out; the folder goes when the stream ends."""
    async with contextlib.aclosing(chunks):
        with tempfile.TemporaryDirectory(prefix="hub-export-") as folder:
            with (Path(folder) / ROWS_FILE).open("wb") as rows:
                async for chunk in chunks:
                    await asyncio.to_thread(_pickle_to, rows, chunk)
            loop = asyncio.get_running_loop()
            pool = builders()
            try:
                path = await loop.run_in_executor(pool, build_workbook, folder, sheet, SHEET_ROWS)
            except BrokenProcessPool:
                _forget(pool)
                raise
            async with await anyio.open_file(path, "rb") as file:
                while data := await file.read(FILE_CHUNK):
                    yield data
