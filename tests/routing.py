"""Whether a statement would reach one shard on Citus, decided from its parse tree.

Citus sends a statement on a distributed table to one shard only when the planner can prove
one value of the distribution column: `workspace_id = $n` (or `id = $n` on `workspaces`), given
directly or through a chain of equalities (`e.workspace_id = k.workspace_id`,
`k.workspace_id = $1`). Anything else (`= ANY($1)`, a join with a function's rows, no filter)
goes to every shard, and `INSERT ... SELECT` from a function's rows runs through the
coordinator. Inserts route row by row, so an INSERT ... VALUES or a COPY only has to carry
`workspace_id`. The parse is PostgreSQL's own (pglast wraps libpg_query).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table on the metadata
from models.distribution import ANCHOR, ANCHOR_KEY, TENANT_KEY, tenant_tables
from models.partitions import PARTITION_NAME, is_partition

CONST = ("", "", "")  # the class of parameters and literals
Term = tuple[str, str, str]  # (scope, alias, column)


@dataclass(frozen=True)
class Rules:
    """Distribution keys by table name: tenant tables by workspace_id, the anchor by id."""

    keys: dict[str, str]
    columns: dict[str, frozenset[str]]

    @classmethod
    def from_metadata(cls) -> "Rules":
        keys = dict.fromkeys(tenant_tables(), TENANT_KEY)
        keys[ANCHOR.name] = ANCHOR_KEY
        columns = {t.name: frozenset(t.c.keys()) for t in SQLModel.metadata.sorted_tables}
        return cls(keys, columns)

    def table(self, name: str) -> str:
        match = PARTITION_NAME.match(name)
        return match["table"] if match and is_partition(name) else name


def problems(sql: str, rules: Rules) -> list[str]:
    """What keeps each statement of ``sql`` from one shard; empty when each would reach one."""
    try:
        statements = pglast.parse_sql(sql)
    except pglast.parser.ParseError as exc:
        return [f"unparsable: {exc}"]
    found: list[str] = []
    for raw in statements:
        found.extend(_Checker(rules).statement(raw.stmt))
    return found


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Term, Term] = {}

    def find(self, term: Term) -> Term:
        self.parent.setdefault(term, term)
        while self.parent[term] != term:
            term = self.parent[term]
        return term

    def union(self, a: Term, b: Term) -> None:
        self.parent[self.find(a)] = self.find(b)

    def bound(self, term: Term) -> bool:
        return self.find(term) == self.find(CONST)


@dataclass
class _Scope:
    name: str
    # alias -> table name, or None for a subquery, a function or a CTE
    relations: dict[str, str | None] = field(default_factory=dict)


class _Checker:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.counter = 0
        self.found: list[str] = []

    # Statements

    def statement(self, node: ast.Node) -> list[str]:
        self.node(node, outer=[], bound=frozenset(), ctes=frozenset())
        return self.found

    def node(
        self, node: ast.Node, *, outer: list[_Scope], bound: frozenset[Term], ctes: frozenset[str]
    ) -> frozenset[str]:
        """Check a statement; return the names of its output columns held to one value."""
        if isinstance(node, ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt):
            return self.query(node, outer=outer, bound=bound, ctes=ctes)
        if isinstance(node, ast.InsertStmt):
            self.insert(node, outer=outer, bound=bound, ctes=ctes)
        elif isinstance(node, ast.CopyStmt):
            self.copy(node, outer=outer, bound=bound, ctes=ctes)
        elif isinstance(node, ast.ExplainStmt):
            self.node(node.query, outer=outer, bound=bound, ctes=ctes)
        else:
            # DDL, LOCK, TRUNCATE...: every shard, by nature.
            for table in sorted(self.tables_in(node, ctes)):
                self.found.append(f"{type(node).__name__} on {table} reaches every shard")
        return frozenset()

    def with_ctes(
        self, node: ast.Node, *, outer: list[_Scope], bound: frozenset[Term], ctes: frozenset[str]
    ) -> frozenset[str]:
        clause = getattr(node, "withClause", None)
        if clause is None:
            return ctes
        names = ctes | {cte.ctename for cte in clause.ctes}
        for cte in clause.ctes:
            self.node(cte.ctequery, outer=outer, bound=bound, ctes=names)
        return names

    def insert(
        self,
        node: ast.InsertStmt,
        *,
        outer: list[_Scope],
        bound: frozenset[Term],
        ctes: frozenset[str],
    ) -> None:
        ctes = self.with_ctes(node, outer=outer, bound=bound, ctes=ctes)
        table = self.rules.table(node.relation.relname)
        key = self.rules.keys.get(table)
        select = node.selectStmt
        if (
            key is not None
            and key != ANCHOR_KEY
            and node.cols
            and key not in {col.name for col in node.cols}
        ):
            self.found.append(f"INSERT into {table} without {key}")
        if select is None or select.valuesLists:
            return
        if key is not None and any(
            isinstance(item, ast.RangeFunction) for item in self.from_items(select)
        ):
            self.found.append(
                f"INSERT into {table} ... SELECT from a function runs through the coordinator"
            )
        self.node(select, outer=outer, bound=bound, ctes=ctes)

    def copy(
        self,
        node: ast.CopyStmt,
        *,
        outer: list[_Scope],
        bound: frozenset[Term],
        ctes: frozenset[str],
    ) -> None:
        if node.query is not None:
            self.node(node.query, outer=outer, bound=bound, ctes=ctes)
            return
        table = self.rules.table(node.relation.relname)
        key = self.rules.keys.get(table)
        if key is None:
            return
        if not node.is_from:
            self.found.append(f"COPY {table} TO reads every shard")
        elif node.attlist and key not in {name.sval for name in node.attlist}:
            self.found.append(f"COPY into {table} without {key}")

    def query(
        self,
        node: ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt,
        *,
        outer: list[_Scope],
        bound: frozenset[Term],
        ctes: frozenset[str],
    ) -> frozenset[str]:
        ctes = self.with_ctes(node, outer=outer, bound=bound, ctes=ctes)
        if isinstance(node, ast.SelectStmt) and node.larg is not None:
            left = self.node(node.larg, outer=outer, bound=bound, ctes=ctes)
            return left & self.node(node.rarg, outer=outer, bound=bound, ctes=ctes)
        self.counter += 1
        scope = _Scope(str(self.counter))
        scopes = [scope, *outer]
        conditions: list[ast.Node] = []
        usings: list[tuple[set[str], set[str], list[str]]] = []
        subqueries: list[tuple[ast.Node, bool, str]] = []
        items: list[ast.Node] = []
        if isinstance(node, ast.UpdateStmt | ast.DeleteStmt):
            items.append(node.relation)
        items.extend(self.from_items(node))
        for item in items:
            self.collect(item, scope, ctes, conditions, usings, subqueries)
        if node.whereClause is not None:
            conditions.append(node.whereClause)
        classes = _UnionFind()
        for term in bound:
            classes.union(term, CONST)
        # A subquery in FROM that holds a column to one value holds it for the outer query too
        # (PostgreSQL pulls simple ones up, and equalities reach through the others).
        for subquery, lateral, alias in subqueries:
            if not lateral:
                for column in self.node(subquery, outer=outer, bound=bound, ctes=ctes):
                    classes.union((scope.name, alias, column), CONST)
        for condition in conditions:
            for left, right in _equalities(condition):
                a, b = self.term(left, scopes), self.term(right, scopes)
                if a is not None and b is not None:
                    classes.union(a, b)
        for left_aliases, right_aliases, columns in usings:
            for column in columns:
                for a in left_aliases:
                    for b in right_aliases:
                        classes.union((scope.name, a, column), (scope.name, b, column))
        for alias, table in scope.relations.items():
            key = self.rules.keys.get(table) if table else None
            if key is not None and not classes.bound((scope.name, alias, key)):
                self.found.append(f"{table} ({alias}) is read without {key} = $n: every shard")
        inner_bound = frozenset(t for t in list(classes.parent) if classes.bound(t) and t != CONST)
        for subquery, lateral, _ in subqueries:
            if lateral:
                self.node(subquery, outer=scopes, bound=inner_bound, ctes=ctes)
        for sublink in _sublinks(node):
            self.node(sublink, outer=scopes, bound=inner_bound, ctes=ctes)
        return self.bound_outputs(node, scope, scopes, classes)

    def bound_outputs(
        self,
        node: ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt,
        scope: _Scope,
        scopes: list[_Scope],
        classes: _UnionFind,
    ) -> frozenset[str]:
        targets = getattr(node, "targetList", None) or getattr(node, "returningList", None) or ()
        names: set[str] = set()
        for target in targets:
            value = target.val
            if not isinstance(value, ast.ColumnRef):
                continue
            if isinstance(value.fields[-1], ast.A_Star):
                names.update(
                    column
                    for (name, _, column) in list(classes.parent)
                    if name == scope.name and classes.bound((name, _, column))
                )
                continue
            term = self.term(value, scopes)
            if term is not None and term != CONST and classes.bound(term):
                names.add(target.name or term[2])
        return frozenset(names)

    # Parts

    @staticmethod
    def from_items(node: ast.Node) -> list[ast.Node]:
        items = getattr(node, "fromClause", None) or getattr(node, "usingClause", None)
        return list(items or ())

    def collect(
        self,
        item: ast.Node,
        scope: _Scope,
        ctes: frozenset[str],
        conditions: list[ast.Node],
        usings: list[tuple[set[str], set[str], list[str]]],
        subqueries: list[tuple[ast.Node, bool, str]],
    ) -> set[str]:
        """Add a FROM item's relations to the scope; return their aliases."""
        if isinstance(item, ast.RangeVar):
            alias = item.alias.aliasname if item.alias else item.relname
            is_cte = item.schemaname is None and item.relname in ctes
            scope.relations[alias] = None if is_cte else self.rules.table(item.relname)
            return {alias}
        if isinstance(item, ast.JoinExpr):
            left = self.collect(item.larg, scope, ctes, conditions, usings, subqueries)
            right = self.collect(item.rarg, scope, ctes, conditions, usings, subqueries)
            if item.quals is not None:
                conditions.append(item.quals)
            if item.usingClause:
                usings.append((left, right, [name.sval for name in item.usingClause]))
            return left | right
        if isinstance(item, ast.RangeSubselect):
            subqueries.append((item.subquery, bool(item.lateral), item.alias.aliasname))
            scope.relations[item.alias.aliasname] = None
            return {item.alias.aliasname}
        if isinstance(item, ast.RangeFunction):
            alias = item.alias.aliasname if item.alias else f"function{len(scope.relations)}"
            scope.relations[alias] = None
            for sublink in _sublinks(item):
                subqueries.append((sublink, True, alias))
            return {alias}
        return set()

    def term(self, expr: ast.Node, scopes: list[_Scope]) -> Term | None:
        while isinstance(expr, ast.TypeCast):
            expr = expr.arg
        if isinstance(expr, ast.ParamRef | ast.A_Const):
            return CONST
        if not isinstance(expr, ast.ColumnRef):
            return None
        names = [f.sval for f in expr.fields if isinstance(f, ast.String)]
        if len(names) == 2:
            alias, column = names
            for scope in scopes:
                if alias in scope.relations:
                    return (scope.name, alias, column)
            return None
        if len(names) == 1:
            for scope in scopes:
                owners = [
                    alias
                    for alias, table in scope.relations.items()
                    if table and names[0] in self.rules.columns.get(table, ())
                ]
                # Several only under JOIN ... USING, whose columns are equated anyway (else
                # PostgreSQL would refuse the name as ambiguous).
                if owners:
                    return (scope.name, owners[0], names[0])
        return None

    def tables_in(self, node: ast.Node, ctes: frozenset[str]) -> set[str]:
        found = set()
        for child in _walk(node):
            if isinstance(child, ast.RangeVar) and child.relname not in ctes:
                table = self.rules.table(child.relname)
                if table in self.rules.keys:
                    found.add(table)
        return found


def _equalities(condition: ast.Node) -> Iterator[tuple[ast.Node, ast.Node]]:
    """The `a = b` among the AND-ed parts of a condition."""
    if isinstance(condition, ast.BoolExpr) and condition.boolop == BoolExprType.AND_EXPR:
        for arg in condition.args:
            yield from _equalities(arg)
    elif (
        isinstance(condition, ast.A_Expr)
        and condition.kind == A_Expr_Kind.AEXPR_OP
        and [n.sval for n in condition.name] == ["="]
    ):
        yield condition.lexpr, condition.rexpr


def _sublinks(node: ast.Node) -> Iterator[ast.Node]:
    """Subqueries in a statement's expressions (not inside its FROM or nested statements)."""
    skip = {"fromClause", "usingClause", "withClause", "larg", "rarg", "relation"}
    for name in node:
        if name in skip:
            continue
        for child in _children(getattr(node, name)):
            yield from _sublinks_below(child)


def _sublinks_below(node: ast.Node) -> Iterator[ast.Node]:
    if isinstance(node, ast.SubLink):
        yield node.subselect
        return
    if isinstance(node, ast.SelectStmt):
        return
    for name in node:
        for child in _children(getattr(node, name)):
            yield from _sublinks_below(child)


def _walk(node: ast.Node) -> Iterator[ast.Node]:
    yield node
    for name in node:
        for child in _children(getattr(node, name)):
            yield from _walk(child)


def _children(value: object) -> Iterator[ast.Node]:
    if isinstance(value, ast.Node):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _children(item)
