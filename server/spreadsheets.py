"""CSV and XLSX files written chunk by chunk, as bytes to stream.

Text that a spreadsheet would take for a formula (a cell starting with `=`, `+`, `-`, `@`,
a tab or a carriage return: OWASP's CSV injection list) gets a leading `'`, in both formats;
XLSX cells are written as typed values, so text never becomes a formula there anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def neutralised(row: Sequence[Cell]) -> list[Cell]:
    return ["'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in row]


def csv_lines(rows: Sequence[Sequence[Cell]]) -> bytes:
    """Rows as CSV: empty cells for nulls, True/False for booleans."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(neutralised(row) for row in rows)
    return buffer.getvalue().encode("utf-8")


async def csv_stream(header: Sequence[str], chunks: Chunks) -> AsyncGenerator[bytes, None]:
    """UTF-8 with a byte order mark (so spreadsheets read the Chinese text), header first."""
    async with contextlib.aclosing(chunks):
        yield BOM.encode("utf-8") + csv_lines([list(header)])
        async for chunk in chunks:
            yield csv_lines(chunk)


class Workbook:
    """An XLSX file on disk in XlsxWriter's constant-memory mode: rows go to the sheet's file
    as they come, in order, and a new sheet starts when one is full."""

    def __init__(
        self, folder: Path, header: Sequence[str], title: str, sheet_rows: int = SHEET_ROWS
    ) -> None:
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
        self._bold = self._book.add_format({"bold": True})
        self._header = list(header)
        self._title = title
        self.sheets = 0
        self._row = 0
        self._sheet = self._new_sheet()

    def _new_sheet(self) -> xlsxwriter.worksheet.Worksheet:
        self.sheets += 1
        name = self._title if self.sheets == 1 else f"{self._title}-{self.sheets}"
        sheet = self._book.add_worksheet(name[:31])
        for column, text in enumerate(self._header):
            sheet.write_string(0, column, text, self._bold)
        sheet.freeze_panes(1, 0)
        self._row = 1
        return sheet

    def write(self, rows: Sequence[Sequence[Cell]]) -> None:
        for cells in rows:
            if self._row >= self._sheet_rows:
                self._sheet = self._new_sheet()
            sheet, row = self._sheet, self._row
            for column, value in enumerate(cells):
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(row, column, value)
                elif isinstance(value, int | float):
                    sheet.write_number(row, column, value)
                else:
                    sheet.write_string(row, column, neutralise(value))
            self._row += 1

    def close(self) -> None:
        self._book.close()


ROWS_FILE = "rows.pickle"


def build_workbook(folder: str, header: list[str], title: str, sheet_rows: int) -> str:
    """In a builder process: the workbook of the chunks pickled in `folder`; its path."""
    book = Workbook(Path(folder), header, title, sheet_rows)
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


async def xlsx_stream(
    header: Sequence[str], chunks: Chunks, title: str
) -> AsyncGenerator[bytes, None]:
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
                path = await loop.run_in_executor(
                    pool, build_workbook, folder, list(header), title, SHEET_ROWS
                )
            except BrokenProcessPool:
                _forget(pool)
                raise
            async with await anyio.open_file(path, "rb") as file:
                while data := await file.read(FILE_CHUNK):
                    yield data
