"""Lead identity: every copy of one lead gets the same ``lead_key``, whatever path it took.

Copies are linked when they share the original's Message-ID (redirect, CC, Gmail filter
forward, server alias, distribution copy, forward as attachment, the same message in two
exports) or a content reference: one of the original's identity marks (sender and subject with
the body's first words, or the prospect's email, phone or name: ``parsing.message.identity_marks``)
at the minute the lead was sent. An inline forward has lost the Message-ID, and each path
keeps a different part of the rest: the Reply-To a name or email was read from is gone, an
HTML-only body is re-rendered in other words; one shared mark is enough.

The minute of an inline forward is what its header block printed. Without a written zone it
was read in the forward's own offset (parsing does not know the workspace). That is wrong when
Exchange stamps the forward's Date in UTC while printing ``Envoyé :`` in local time
(``date_zone`` "utc": the time is read again in the workspace's zone), and when the agent
re-forwards days later across a change of summer time, or from another zone: every zone-less
forward time is also tried at whole hours up to ``SHIFT_HOURS`` either way, for the body's
mark only (the same prospect writing about two listings of a portal two hours apart has the
same name, email and subject, not the same body).

Two copies with different Message-IDs are never one lead, whatever they share: a long preamble
common to every lead of a form, or a portal's phone number in both footers, is shared by
different prospects. Only copies without one (inline forwards, re-forwards) are linked by
content, among themselves and then to the Message-ID that shares the most with them.
refresh.py does the same in SQL (the ``lead_references`` macro of attribution/sql/020_leads.sql);
this module is the readable reference, and tests hold them to the same groups.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from zoneinfo import ZoneInfo

SHIFT_HOURS = 2  # zone-less forward times tried at whole hours up to this far either way


class _UnionFind:
    def __init__(self) -> None:
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


def lead_time(received_at: dt.datetime, date_source: str | None, date_zone: str | None,
              timezone: str) -> dt.datetime:
    """When a lead copy's original was sent (naive UTC): ``received_at``, except a forward
    header's zone-less time read as UTC (``date_zone`` "utc"), which is the forwarder's local
    time and is read in the workspace's ``timezone``."""
    if date_source == "forward_header" and date_zone == "utc":
        # a local time that a change of clocks repeats or skips is read in standard time (the
        # later of the two readings), as DuckDB's timezone() does in attribution/sql/020_leads.sql: linking
        # (SQL) and the copy's month and hour (Python) must agree
        zone = ZoneInfo(timezone)
        return max(received_at.replace(tzinfo=zone, fold=fold).astimezone(dt.timezone.utc)
                   for fold in (0, 1)).replace(tzinfo=None)
    return received_at


def sent_minutes(received_at: dt.datetime, date_source: str | None, date_zone: str | None,
                 timezone: str, mark: str) -> list[dt.datetime]:
    """The minutes (naive UTC) a lead copy's original may have been sent at, for one mark."""
    guessed = date_source == "forward_header" and date_zone in ("forward", "utc")
    received_at = lead_time(received_at, date_source, date_zone, timezone)
    if not guessed or not mark.startswith("body:"):
        return [received_at]
    # the whole-hour tolerance only where the body agrees: the same prospect writing about two
    # listings of one portal two hours apart has the same name, email and subject
    return [received_at + dt.timedelta(hours=h) for h in range(-SHIFT_HOURS, SHIFT_HOURS + 1)]


def content_references(*, message_key: str, received_at: dt.datetime, date_source: str | None,
                       date_zone: str | None, identity_marks: list[str] | None,
                       content_fingerprint: str | None, timezone: str) -> list[str]:
    """A lead copy's content references, as ``lead_references`` writes them."""
    if not identity_marks:  # stored before identity marks
        return ["fp:" + content_fingerprint if content_fingerprint else "mk:" + message_key]
    return [f"fp:{mark}@{minute:%Y-%m-%dT%H:%M}" for mark in identity_marks
            for minute in sent_minutes(received_at, date_source, date_zone, timezone, mark)]


def lead_keys(copies: Iterable[tuple[str, str | None, str | Iterable[str] | None]],
              marks: dict[str, list[str]] | None = None) -> dict[str, str]:
    """``{message_key: lead_key}`` for lead copies given as (message_key, original's Message-ID,
    content references), the references a list (``content_references``) or one content
    fingerprint. Keys are the SQL's (refresh._assign_lead_keys).

    Copies with the same original Message-ID are one lead, and two different Message-IDs are
    never one lead, whatever their content shares (two prospects under a long common preamble,
    a portal's phone number in both footers). A copy that lost the Message-ID (an inline forward)
    is linked by its content references to the other such copies, and their group joins the
    Message-ID that shares the most references with it (the smallest on a tie), if any, unless
    the two name different prospects: ``marks`` (message key -> identity marks) show an email,
    phone or name of the prospect on both sides and none in common.
    Keys: a hash of the Message-ID reference, else of the group's smallest reference."""
    marks = marks or {}
    free = _UnionFind()
    anchored: dict[str, set[str]] = {}       # content reference -> Message-ID references having it
    who: dict[str, set[str]] = {}            # Message-ID reference or free group -> prospect marks
    free_keys: dict[str, list[str]] = {}     # message key -> its references, for copies without one
    keys: dict[str, str] = {}
    for message_key, original_id, content in copies:
        given = [content] if isinstance(content, str) else list(content or [])
        references = [r if r.startswith(("fp:", "mk:")) else "fp:" + r for r in given]
        if original_id:
            keys[message_key] = _key("id:" + original_id)
            who.setdefault("id:" + original_id, set()).update(_prospect(marks.get(message_key)))
            for reference in references:
                anchored.setdefault(reference, set()).add("id:" + original_id)
        else:
            anchor = "mk:" + message_key
            free.find(anchor)
            for reference in references:
                free.union(anchor, reference)
            free_keys[message_key] = references
    groups: dict[str, set[str]] = {}
    group_who: dict[str, set[str]] = {}
    for message_key, references in free_keys.items():
        root = free.find("mk:" + message_key)
        groups.setdefault(root, set()).update(references)
        group_who.setdefault(root, set()).update(_prospect(marks.get(message_key)))
    joined: dict[str, str] = {}
    for root, group_references in groups.items():
        votes: dict[str, int] = {}
        for reference in group_references:
            for anchor in anchored.get(reference, ()):
                if not _other_prospect(group_who[root], who.get(anchor, set())):
                    votes[anchor] = votes.get(anchor, 0) + 1
        joined[root] = min(votes, key=lambda a: (-votes[a], a)) if votes else root
    for message_key in free_keys:
        keys[message_key] = _key(joined[free.find("mk:" + message_key)])
    return keys


def _prospect(marks: Iterable[str] | None) -> set[str]:
    return {m for m in marks or () if m.split(":", 1)[0] in ("email", "phone", "name")}


def _other_prospect(ours: set[str], theirs: set[str]) -> bool:
    """Whether two sets of prospect marks name different prospects: a kind on both sides with
    no mark in common."""
    for kind in ("email", "phone", "name"):
        a = {m for m in ours if m.startswith(kind + ":")}
        b = {m for m in theirs if m.startswith(kind + ":")}
        if a and b and not a & b:
            return True
    return False


def _key(reference: str) -> str:
    return hashlib.sha256(reference.encode("utf-8")).hexdigest()[:16]
