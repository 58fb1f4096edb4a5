"""Report files are checked against the schema when loaded: a broken one stops the start."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema

from schema.build import build_schema
from schema.reports import REPORTS_DIR, ReportError, Reports, load_report

TABLED = (
    'query { region(code: "341126") { code breakdown(by: CHILD) { key stats { organizations } } } }'
)


@pytest.fixture(scope="module")
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def test_every_report_file_is_registered_and_validates(graphql_schema: GraphQLSchema) -> None:
    reports = Reports.load(graphql_schema)
    files = sorted(REPORTS_DIR.glob("*.graphql"))
    assert files and len(reports) == len(files)
    for entry in reports.listing():
        assert entry["description"] and entry["document"]
        assert entry["table"]["rows"] and entry["table"]["columns"]
        assert "table:" not in entry["description"] and "column:" not in entry["description"]
    assert reports.get("monthly-rates-by-child", 1) is not None
    assert reports.get("monthly-rates-by-child") == reports.get("monthly-rates-by-child", 3)
    assert reports.get("monthly-rates-by-child", 4) is None and reports.get("nothing") is None


@pytest.mark.parametrize(
    ("file_name", "text", "says"),
    [
        ("rates.graphql", "# x\nquery { viewer { subject } }", "named <name>.v<version>"),
        ("Rates.v1.graphql", "# x\nquery { viewer { subject } }", "named <name>.v<version>"),
        ("rates.v0.graphql", "# x\nquery { viewer { subject } }", "named <name>.v<version>"),
        ("rates.v1.graphql", "query { viewer { subject } }", "describe the report"),
        ("rates.v1.graphql", "# x\nquery { viewer { subject }", "Expected Name"),
        ("rates.v1.graphql", "# x\nquery { viewer { nope } }", "Cannot query field 'nope'"),
        (
            "rates.v1.graphql",
            "# x\nquery A { viewer { subject } }\nquery B { viewer { subject } }",
            "exactly one query operation",
        ),
        (
            "rates.v1.graphql",
            '# x\nmutation { withdrawServiceRequest(id: "x") { id } }',
            "exactly one query operation",
        ),
        ("rates.v1.graphql", "# x\nquery ($c: String!) { viewer { subject } }", "never used"),
        ("rates.v1.graphql", f"# x\n{TABLED}", "declare its table"),
        ("rates.v1.graphql", f"# x\n# table: region.breakdown\n{TABLED}", "declare its table"),
        (
            "rates.v1.graphql",
            f"# x\n# table: region.children\n# column: key 键\n{TABLED}",
            "selects no `region.children`",
        ),
        (
            "rates.v1.graphql",
            f"# x\n# table: region\n# column: code 代码\n{TABLED}",
            "not a list of objects",
        ),
        (
            "rates.v1.graphql",
            f"# x\n# table: region.breakdown\n# column: stats 数字\n{TABLED}",
            "is an object, not a value",
        ),
        (
            "rates.v1.graphql",
            f"# x\n# table: region.breakdown\n# column: stats.total 总数\n{TABLED}",
            "selects no `stats.total`",
        ),
    ],
)
def test_a_malformed_report_file_is_refused_with_its_reason(
    graphql_schema: GraphQLSchema, tmp_path: Path, file_name: str, text: str, says: str
) -> None:
    path = tmp_path / file_name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportError, match=says.replace("(", r"\(")) as refused:
        load_report(path, graphql_schema)
    assert file_name in str(refused.value)
