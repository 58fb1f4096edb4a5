"""A second subgraph for the hub's federation tests: a statistics office's population figures.

It knows nothing of the hub but the key of `Region` (`code`): it extends `Region` with
`population`, and has a Relay connection of its own (`populationFigures`), with `PageInfo`
defined exactly as the hub defines it and marked `@shareable`. Its figures are illustrative,
not official. It does not read the caller's token: the gateway forwards that to the hub only.

    .venv/bin/python federation/population/server.py [--host 127.0.0.1] [--port 4001]
    .venv/bin/python federation/population/server.py --sdl    # print the SDL (schema.graphql)
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

import strawberry
from strawberry.asgi import GraphQL
from strawberry.federation.schema_directives import Shareable

SDL_PATH = Path(__file__).with_name("schema.graphql")
CENSUS_YEAR = 2020
MAX_FIRST = 500

# Residents by region code (illustrative figures): the demo county, some of its townships,
# the neighbouring county the tests use as foreign territory, and a code the hub does not
# know (as a retired division would be), for telling "foreign" from "unknown" — which the
# hub must make impossible.
FIGURES: dict[str, int] = {
    "341125": 583_210,
    "341126": 668_472,
    "341126100": 61_385,
    "341126101": 47_912,
    "341126102": 38_604,
    "341126103": 29_977,
    "341126199": 4_210,
}


@strawberry.federation.type(keys=["code"], description="A region, known here by its code.")
class Region:
    code: str

    @strawberry.field(description=f"Residents at the {CENSUS_YEAR} census; null when unknown.")
    def population(self) -> int | None:
        return FIGURES.get(self.code)

    @classmethod
    def resolve_reference(cls, code: str) -> Region:
        return cls(code=code)


@strawberry.type(description="Where a page stands in its list.", directives=[Shareable()])
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A region's population at a census.")
class PopulationFigure:
    year: int
    population: int
    # Nullable, as the hub asks of references to its entities: the caller may not see it.
    region: Region | None


@strawberry.type(description="A population figure with its cursor.")
class PopulationFigureEdge:
    cursor: str
    node: PopulationFigure


@strawberry.type(description="A page of population figures, Relay style.")
class PopulationFigureConnection:
    edges: list[PopulationFigureEdge]
    page_info: PageInfo
    total_count: int | None


def _cursor(code: str) -> str:
    return base64.urlsafe_b64encode(f"figure:{code}".encode()).decode()


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        kind, _, code = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise ValueError("`after` is not a cursor of this list") from None
    if kind != "figure":
        raise ValueError("`after` is not a cursor of this list")
    return code


@strawberry.type
class Query:
    @strawberry.field(description="Every figure, by region code.")
    def population_figures(
        self, first: int | None = None, after: str | None = None
    ) -> PopulationFigureConnection | None:
        size = 50 if first is None else first
        if not 0 <= size <= MAX_FIRST:
            raise ValueError(f"`first` must be between 0 and {MAX_FIRST}")
        start = _after(after)
        codes = [c for c in sorted(FIGURES) if start is None or c > start]
        page = codes[:size]
        return PopulationFigureConnection(
            edges=[
                PopulationFigureEdge(
                    cursor=_cursor(code),
                    node=PopulationFigure(
                        year=CENSUS_YEAR, population=FIGURES[code], region=Region(code=code)
                    ),
                )
                for code in page
            ],
            page_info=PageInfo(
                has_next_page=len(codes) > size,
                has_previous_page=start is not None,
                start_cursor=_cursor(page[0]) if page else None,
                end_cursor=_cursor(page[-1]) if page else None,
            ),
            total_count=len(FIGURES),
        )


schema = strawberry.federation.Schema(query=Query, federation_version="2.7")
app = GraphQL(schema, graphql_ide=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4001)
    parser.add_argument("--sdl", action="store_true", help="print the SDL and exit")
    args = parser.parse_args(argv)
    if args.sdl:
        sys.stdout.write(schema.as_str() + "\n")
        return 0
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
