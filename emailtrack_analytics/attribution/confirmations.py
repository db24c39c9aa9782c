"""Verification mail of mail providers (Gmail's forwarding confirmation and the like): which copies
are one, and what they ask (the mailbox, the code, the link).

The facts live in ``config/confirmations.toml`` with their sources; a copy is recognised by its
sender together with its subject or its confirmation link, so that a subject in a language the
file does not list is still recognised (Gmail writes in the account's language).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

_ADDRESS = re.compile(r"[^\s()<>\[\]\"',;:]+@[^\s()<>\[\]\"',;:]+\.[^\s()<>\[\]\"',;:.]+")


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    senders: tuple[str, ...]
    subjects: tuple[re.Pattern[str], ...]
    links: tuple[re.Pattern[str], ...]
    link_hosts: tuple[str, ...]
    codes: tuple[re.Pattern[str], ...]
    mailboxes: tuple[re.Pattern[str], ...]
    link_recognises: bool = True
    sources: tuple[tuple[str, str], ...] = ()

    def facts(self) -> list[str]:
        """Every fact of the entry as the data file writes it, for checking each has a source."""
        return [*self.senders, *(p.pattern for p in self.subjects + self.links + self.codes + self.mailboxes),
                *self.link_hosts]

    def sent(self, sender: str) -> bool:
        sender = sender.lower()
        for rule in self.senders:
            if rule.startswith("@"):
                domain = sender.rsplit("@", 1)[-1]
                if domain == rule[1:] or domain.endswith("." + rule[1:]):
                    return True
            elif sender == rule:
                return True
        return False


@dataclass(frozen=True)
class Confirmation:
    """What a verification mail asks: ``mailbox`` may forward to the address it reached, once
    someone opens ``link`` or types ``code`` in ``provider``'s settings (each None when unread)."""
    provider: str
    provider_name: str
    mailbox: str | None
    code: str | None
    link: str | None


@functools.cache
def confirmations_text() -> str:
    return (resources.files("emailtrack_analytics") / "config" / "confirmations.toml").read_text("utf-8")


def _compiled(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


@functools.cache
def providers() -> tuple[Provider, ...]:
    data: dict[str, Any] = tomllib.loads(confirmations_text())
    return tuple(Provider(
        id=entry["id"], name=entry["name"], senders=tuple(s.lower() for s in entry["senders"]),
        subjects=_compiled(entry.get("subjects", ())), links=_compiled(entry.get("links", ())),
        link_hosts=tuple(h.lower() for h in entry.get("link_hosts", ())), codes=_compiled(entry.get("codes", ())),
        mailboxes=_compiled(entry.get("mailboxes", ())), link_recognises=entry.get("link_recognises", True),
        sources=tuple(sorted((entry.get("sources") or {}).items()))) for entry in data["providers"])


@functools.cache
def _sender_rules() -> tuple[frozenset[str], frozenset[str]]:
    """(exact addresses, domains) of every provider's senders: most copies are from neither, and
    this look-up is all they cost (every copy is attributed through ``recognise``)."""
    rules = [rule for provider in providers() for rule in provider.senders]
    return (frozenset(r for r in rules if not r.startswith("@")),
            frozenset(r[1:] for r in rules if r.startswith("@")))


def _maybe_sent(sender: str) -> bool:
    exact, domains = _sender_rules()
    if sender in exact:
        return True
    labels = sender.rsplit("@", 1)[-1].split(".")
    return any(".".join(labels[start:]) in domains for start in range(len(labels) - 1))


def recognise(sender: str | None, subject: str | None, text: str | None,
              link_hosts: Sequence[str] | None = ()) -> Provider | None:
    """The provider whose verification mail this copy is: its sender, and its subject or its link."""
    if not sender or not _maybe_sent(sender.lower()):
        return None
    for provider in providers():
        if not provider.sent(sender):
            continue
        if any(p.search(subject or "") for p in provider.subjects):
            return provider
        if provider.link_recognises and (any(p.search(text or "") for p in provider.links)
                                         or any(h.lower() in provider.link_hosts for h in link_hosts or ())):
            return provider
    return None


def _first(patterns: Sequence[re.Pattern[str]], group: str, *texts: str) -> str | None:
    for text in texts:
        for pattern in patterns:
            found = pattern.search(text)
            if found is not None and found.group(group):
                return found.group(group)
    return None


def read(provider: Provider, subject: str | None, text: str | None, tracked_address: str | None) -> Confirmation:
    """The mailbox, code and link of a copy ``recognise`` gave ``provider`` for, as far as its
    subject and text (the stored readable text) say."""
    subject, text = subject or "", text or ""
    mailbox = _first(provider.mailboxes, "mailbox", subject, text)
    if mailbox is None:
        # every known subject ends with the address asking: the last address that is not the one
        # the mail reached, whatever the language
        others = [a for a in _ADDRESS.findall(subject) if a.lower() != (tracked_address or "").lower()]
        mailbox = others[-1] if others else None
    link = next((found.group(0) for p in provider.links for found in [p.search(text)] if found), None)
    return Confirmation(provider.id, provider.name, mailbox.strip(".").lower() if mailbox else None,
                        _first(provider.codes, "code", subject, text), link.rstrip(".,;)") if link else None)
