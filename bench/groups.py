"""Items linked by pairs, in groups: what keeps two halves of a labelled set apart.

A dev/test split by pair would put one story (or one headline) in both halves
whenever it takes part in two pairs; splitting by group keeps every item, and
so every pair it is in, on one side.
"""

from __future__ import annotations

from collections.abc import Iterable


def linked_groups(links: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each item's group key: the smallest item linked to it, directly or through others."""
    parent: dict[str, str] = {}

    def root(item: str) -> str:
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for first, second in links:
        a, b = root(first), root(second)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {item: root(item) for item in list(parent)}
