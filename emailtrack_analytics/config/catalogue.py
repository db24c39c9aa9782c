"""The portal catalogue: built-in entries (``portals.toml``) merged with the workspace's own.

It is configuration, beside ``emailtrack.toml``: a workspace's ``[[portals]]`` add to or
override it by id, and loading the workspace validates them against it.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # workspace.py imports this module to validate portal ids
    from .workspace import PortalConfig


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
    display_names: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()         # owned domains, looked for beyond the From address
    body: tuple[str, ...] = ()            # wording of the lead e-mails' bodies
    sources: tuple[tuple[str, str], ...] = ()   # (fact, where it comes from)
    builtin: bool = True

    def facts(self) -> list[tuple[str, str]]:
        """(key, fact) of every fact of the entry, for checking each has a source."""
        keys = ("senders", "display_names", "domains", "subjects", "body", "lead_senders")
        return [(key, fact) for key in keys for fact in getattr(self, key)]


@dataclass(frozen=True)
class Notices:
    """Wording of the notices every portal sends (``[notices]`` of the catalogue)."""
    subjects: tuple[str, ...] = ()
    body: tuple[str, ...] = ()


@functools.cache
def catalogue_text() -> str:
    return (resources.files("emailtrack_analytics") / "config" / "portals.toml").read_text("utf-8")


@functools.cache
def builtin_portals() -> tuple[Portal, ...]:
    data = tomllib.loads(catalogue_text())
    portals = []
    for entry in data["portals"]:
        # values as the TOML gives them: Portal(**values) refuses a key it does not have
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        values["sources"] = tuple(sorted((entry.get("sources") or {}).items()))
        portals.append(Portal(**values))
    return tuple(portals)


@functools.cache
def notices() -> Notices:
    data = tomllib.loads(catalogue_text()).get("notices", {})
    return Notices(tuple(data.get("subjects", ())), tuple(data.get("body", ())))


def builtin_portal_ids() -> set[str]:
    return {p.id for p in builtin_portals()}


# keys of a workspace's [[portals]] entry that replace the catalogue's; extra_senders and
# extra_domains add to them instead
REPLACED_KEYS = ("name", "kind", "senders", "subjects", "display_names", "domains", "body", "notifications")


def merged_portals(workspace_portals: Iterable[PortalConfig]) -> list[Portal]:
    """Built-in portals with the workspace's ``[[portals]]`` applied: a known id has the given
    keys replaced (the others kept); a new id is added."""
    by_id = {p.id: p for p in builtin_portals()}
    order = [p.id for p in builtin_portals()]
    for entry in workspace_portals:
        changes: dict[str, Any] = {k: getattr(entry, k) for k in REPLACED_KEYS if getattr(entry, k) is not None}
        base = by_id.get(entry.id)
        for key, added in (("senders", entry.extra_senders), ("domains", entry.extra_domains)):
            if added:
                kept = changes.get(key, getattr(base, key) if base else ())
                changes[key] = tuple(kept) + tuple(a for a in added if a not in kept)
        if entry.id in by_id:
            by_id[entry.id] = replace(by_id[entry.id], builtin=False, **changes)
        else:
            by_id[entry.id] = Portal(id=entry.id, name=changes.pop("name", entry.id),
                                     builtin=False, **changes)
            order.append(entry.id)
    return [by_id[i] for i in order]


def compile_patterns(patterns: tuple[str, ...]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]
