"""The forwarding rules of a set-up kit, one file per mail system: a Gmail filter export
(Atom), an Exchange Online PowerShell script (``New-InboxRule … -RedirectTo``) and a Sieve
script (``redirect :copy``).

Every value from the configuration is written as data of its format: an XML attribute, a
PowerShell single-quoted string, a Sieve quoted string. Comments hold a name only with its
line breaks removed, so that nothing from the configuration can end a comment and become code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape as xml_escape

from ..config.catalogue import Portal

ATOM = "http://www.w3.org/2005/Atom"
APPS = "http://schemas.google.com/apps/2006"


@dataclass(frozen=True)
class Route:
    """The portals whose lead e-mails go to one tracked address."""

    target: str
    portals: tuple[Portal, ...]

    @property
    def senders(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for portal in self.portals:
            seen.update(dict.fromkeys(portal.senders))
        return tuple(seen)


def sender_words(sender: str) -> str:
    """A catalogue sender as a mail client's "sender contains" word: ``@domain`` is written
    ``domain`` so that its subdomains match too, as the catalogue means it."""
    return sender[1:] if sender.startswith("@") else sender


def one_line(text: str) -> str:
    """``text`` with every line break and control character made a space: safe in a comment."""
    return "".join(c if c.isprintable() else " " for c in text)


# --------------------------------------------------------------------------- Gmail

def _xml_attribute(value: str) -> str:
    # line breaks and tabs as character references: a parser would turn them into spaces
    return xml_escape(value, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def gmail_filters(routes: Sequence[Route], *, title: str, now: datetime | None = None) -> str:
    """Gmail's filter export format: one filter per portal, forwarding its senders' mail."""
    updated = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ["<?xml version='1.0' encoding='UTF-8'?>",
             f'<feed xmlns="{ATOM}" xmlns:apps="{APPS}">',
             f"\t<title>{xml_escape(one_line(title))}</title>",
             "\t<id>tag:mail.google.com,2008:filters:emailtrack</id>",
             f"\t<updated>{updated}</updated>"]
    number = 0
    for route in routes:
        for portal in route.portals:
            number += 1
            criteria = " OR ".join(sender_words(s) for s in portal.senders)
            lines += ["\t<entry>",
                      "\t\t<category term=\"filter\"></category>",
                      f"\t\t<title>{xml_escape(one_line(portal.name))}</title>",
                      f"\t\t<id>tag:mail.google.com,2008:filter:emailtrack{number}</id>",
                      f"\t\t<updated>{updated}</updated>",
                      "\t\t<content></content>",
                      f'\t\t<apps:property name="from" value="{_xml_attribute(criteria)}"/>',
                      f'\t\t<apps:property name="forwardTo" value="{_xml_attribute(route.target)}"/>',
                      '\t\t<apps:property name="sizeOperator" value="s_sl"/>',
                      '\t\t<apps:property name="sizeUnit" value="s_smb"/>',
                      "\t</entry>"]
    lines.append("</feed>")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Exchange Online

# PowerShell ends a single-quoted string at any of these quotes; each is escaped by doubling it
_POWERSHELL_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")


def powershell_string(value: str) -> str:
    return "'" + _POWERSHELL_QUOTES.sub(lambda m: m.group() * 2, value) + "'"


def outlook_rule(routes: Sequence[Route], *, mailboxes: Sequence[str], heading: Sequence[str]) -> str:
    """An Exchange Online PowerShell script creating one inbox rule per tracked address in
    each mailbox: ``-RedirectTo`` keeps the original sender (``-ForwardTo`` would wrap it)."""
    lines = [f"# {one_line(line)}" for line in heading]
    if mailboxes:
        lines.append("$Mailboxes = @(" + ", ".join(powershell_string(m) for m in mailboxes) + ")")
    else:
        lines.append("$Mailboxes = @(Read-Host 'Mailbox where the leads arrive')")
    lines.append("foreach ($Mailbox in $Mailboxes) {")
    for route in routes:
        words = ", ".join(powershell_string(sender_words(s)) for s in route.senders)
        name = powershell_string(one_line(f"emailtrack: {', '.join(p.name for p in route.portals)}")[:250])
        lines.append(f"    New-InboxRule -Mailbox $Mailbox -Name {name} -FromAddressContainsWords {words} "
                     f"-RedirectTo {powershell_string(route.target)} -StopProcessingRules $false")
    lines.append("}")
    return "\r\n".join(lines) + "\r\n"   # Windows PowerShell 5.1 reads either; Notepad shows CRLF right


# --------------------------------------------------------------------------- Sieve

def sieve_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sieve_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(sieve_string(v) for v in values) + "]"


def _matches_literal(value: str) -> str:
    """``value`` as a ``:matches`` key that matches only itself (wildcards escaped)."""
    return re.sub(r"([\\*?])", r"\\\1", value)


def _sieve_condition(senders: Sequence[str]) -> str:
    addresses = [s for s in senders if not s.startswith("@")]
    domains = [s[1:] for s in senders if s.startswith("@")]
    tests = []
    if addresses:
        tests.append(f'address :is "from" {_sieve_list(addresses)}')
    if domains:
        tests.append(f'address :domain :is "from" {_sieve_list(domains)}')
        # "@domain" in the catalogue means the domain and its subdomains
        tests.append(f'address :domain :matches "from" {_sieve_list(["*." + _matches_literal(d) for d in domains])}')
    return "anyof (" + ",\n        ".join(tests) + ")"


def sieve_script(routes: Sequence[Route], *, heading: Sequence[str]) -> str:
    """A Sieve script (RFC 5228 + RFC 3894 ``copy``): each portal's mail is redirected to its
    tracked address and also kept; anything else is only kept."""
    lines = [f"# {one_line(line)}" for line in heading]
    lines.append('require ["copy"];')
    keyword = "if"
    for route in routes:
        if not route.senders:
            continue
        lines.append("")
        lines.append(f"# {one_line(', '.join(p.name for p in route.portals))}")
        lines.append(f"{keyword} {_sieve_condition(route.senders)} {{")
        lines.append(f"    redirect :copy {sieve_string(route.target)};")
        lines.append("}")
        keyword = "elsif"   # one copy per message, to the portal's own address first
    return "\n".join(lines) + "\n"
