"""The order in which a document's fragments can be measured, each once.

A figure of a fragment (its depth, its cost) follows from its own selections and the figures
of the fragments it spreads: measuring them in this order takes time linear in the document,
where expanding every spread can take time exponential in it. No recursion: a chain of
fragments may be as long as the token limit allows.
"""

from collections.abc import Iterable, Iterator, Mapping


def dependency_order(spreads: Mapping[str, Iterable[str]]) -> list[str]:
    """Fragment names, each after every fragment it spreads (``spreads``: name -> names).

    Spreads of unknown fragments, and the spread that closes a cycle, are left out: other
    validation rules report them, and such documents never run.
    """
    order: list[str] = []
    entered: set[str] = set()
    for root in spreads:
        if root in entered:
            continue
        entered.add(root)
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(spreads[root]))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(name)
            elif child in spreads and child not in entered:
                entered.add(child)
                stack.append((child, iter(spreads[child])))
    return order
