"""Names the operation that runs, as parsed, on the context (for metrics and logs)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from resolvers.context import Context


class OperationName(SchemaExtension):
    """`context.operation`: the name of the operation the document holds and the request
    chose; None when it is unnamed, or the document does not parse or hold that operation."""

    def on_parse(self) -> Iterator[None]:
        yield
        execution = self.execution_context
        context, document = execution.context, execution.graphql_document
        if not isinstance(context, Context) or document is None:
            return
        names = [
            d.name.value if d.name else None
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        ]
        chosen = execution.operation_name
        context.operation = chosen if chosen in names else None
