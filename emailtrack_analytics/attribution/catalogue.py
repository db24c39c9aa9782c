"""The portal catalogue: built-in entries (``portals.toml``) merged with the workspace's own."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, replace
from importlib import resources


@dataclass(frozen=True)
class Portal:
    id: str
    name: str
    kind: str = "portal"
    senders: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()        # lead templates
    notifications: tuple[str, ...] = ()
    newsletters: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    follow_ups: tuple[str, ...] = ()
    lead_senders: tuple[str, ...] = ()
    builtin: bool = True


@functools.cache
def catalogue_text() -> str:
    return (resources.files("emailtrack_analytics") / "attribution" / "portals.toml").read_text("utf-8")


@functools.cache
def builtin_portals() -> tuple[Portal, ...]:
    data = tomllib.loads(catalogue_text())
    portals = []
    for entry in data["portals"]:
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        portals.append(Portal(**values))
    return tuple(portals)


def builtin_portal_ids() -> set[str]:
    return {p.id for p in builtin_portals()}


def merged_portals(workspace_portals) -> list[Portal]:
    """Built-in portals with the workspace's ``[[portals]]`` applied: a known id has the given
    keys replaced (the others kept); a new id is added."""
    by_id = {p.id: p for p in builtin_portals()}
    order = [p.id for p in builtin_portals()]
    for entry in workspace_portals:
        changes = {k: getattr(entry, k) for k in ("name", "kind", "senders", "subjects")
                   if getattr(entry, k) is not None}
        if entry.id in by_id:
            by_id[entry.id] = replace(by_id[entry.id], builtin=False, **changes)
        else:
            by_id[entry.id] = Portal(id=entry.id, name=changes.pop("name", entry.id),
                                     builtin=False, **changes)
            order.append(entry.id)
    return [by_id[i] for i in order]


def compile_patterns(patterns: tuple[str, ...]) -> list[re.Pattern]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]
