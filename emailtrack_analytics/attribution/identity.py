"""Lead identity: every copy of one lead gets the same ``lead_key``.

Copies are linked when they share the original's Message-ID (redirect, CC, forward as
attachment, the same message in two exports) or the content fingerprint of the original
(sender, minute, normalised subject, body: an inline forward has lost the Message-ID). Linked
copies form one lead, whatever chain of links joins them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        root = item
        while parent != root:
            root, parent = parent, self.parent[parent]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra  # the smaller key is the root: results do not depend on order


def lead_keys(copies: Iterable[tuple[str, str | None, str | None]]) -> dict[str, str]:
    """``{message_key: lead_key}`` for lead copies given as (message_key, original id, fingerprint)."""
    groups = _UnionFind()
    links: dict[str, list[str]] = {}
    for message_key, original_id, content in copies:
        keys = []
        if original_id:
            keys.append("id:" + original_id)
        if content:
            keys.append("fp:" + content)
        if not keys:
            keys.append("mk:" + message_key)
        for key in keys[1:]:
            groups.union(keys[0], key)
        links[message_key] = keys
    return {mk: hashlib.sha1(groups.find(keys[0]).encode("utf-8")).hexdigest()[:16]
            for mk, keys in links.items()}
