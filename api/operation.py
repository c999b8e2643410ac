"""Which operation of a document runs: the one named by operationName, or the only one."""

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from api.errors import ErrorCode


class OperationNameRequired(SchemaExtension):
    """Refuses a document of several operations sent without operationName.

    graphql-core refuses it, but Strawberry names the first operation when the request names
    none, so the first one would run: the client's intent is unknown, not the first one.
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        # `operation_name` falls back to the first operation's name: only the private
        # attribute says whether the request named one.
        if context._provided_operation_name is None:
            operations = sum(
                isinstance(node, OperationDefinitionNode)
                for node in context.graphql_document.definitions
            )
            if operations > 1:
                context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"the document holds {operations} operations: name the one to run "
                            "in operationName",
                            extensions={"code": ErrorCode.BAD_REQUEST},
                        )
                    ],
                )
        yield
