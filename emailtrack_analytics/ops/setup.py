"""``emailtrack setup``: a set-up kit per point of sale, ``DIR/<point_of_sale>/``.

``index.html`` and ``index.md`` (the same page) give the point of sale's tracked addresses and
the steps of every configuration (Gmail, Outlook on the web / Microsoft 365, Outlook for
Windows, Apple Mail, Sieve, copy on the portal, multi-distribution); ``gmail-filters.xml``,
``outlook-rule.ps1`` and ``forward.sieve`` carry the rules, forwarding the senders of the
portals (the catalogue with the workspace's ``[[portals]]``) to the tracked address.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config.catalogue import Portal, merged_portals
from ..config.workspace import LANGUAGES, PointOfSale, Workspace
from ..errors import UsageError
from .setup_page import (
    Block,
    Code,
    CodeBlock,
    Heading,
    Link,
    Note,
    Paragraph,
    Steps,
    fill,
    joined,
    plain,
    render_html,
    render_markdown,
)
from .setup_rules import Route, gmail_filters, outlook_rule, sender_words, sieve_script
from .setup_text import FILE_HEADINGS, TEXTS

GMAIL_FILE = "gmail-filters.xml"
OUTLOOK_FILE = "outlook-rule.ps1"
SIEVE_FILE = "forward.sieve"
DISTRIBUTION_HEADER = "received_at,message_id,sender,subject,delivered_to"


@dataclass(frozen=True)
class Kit:
    """What one point of sale's kit says: its addresses and where each portal's mail goes."""

    point_of_sale: PointOfSale
    for_every_portal: tuple[str, ...]
    reserved: tuple[tuple[Portal, str], ...]     # (portal, its own tracked address)
    routes: tuple[Route, ...]
    unrouted: tuple[Portal, ...]                 # no address to send them to
    without_senders: tuple[Portal, ...]          # recognised by subject only
    distribution: tuple[str, ...]
    portals: tuple[Portal, ...]

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(route.target for route in self.routes)


def kit_for(workspace: Workspace, point: PointOfSale) -> Kit:
    portals = tuple(merged_portals(workspace.portals))
    extra = [t for t in workspace.tracked_addresses if t.point_of_sale == point.id]
    for_every_portal = tuple(dict.fromkeys([*point.tracked_addresses,
                                            *(t.address for t in extra if t.portal is None)]))
    by_id = {p.id: p for p in portals}
    reserved = tuple((by_id[t.portal], t.address) for t in extra if t.portal is not None and t.portal in by_id)
    own = {portal.id: address for portal, address in reversed(reserved)}   # the first one written wins
    grouped: dict[str, list[Portal]] = {}
    unrouted = []
    for portal in portals:
        if not portal.senders:
            continue
        target = own.get(portal.id) or (for_every_portal[0] if for_every_portal else None)
        if target is None:
            unrouted.append(portal)
        else:
            grouped.setdefault(target, []).append(portal)
    # the portals' own addresses first: in a Sieve script the first matching rule wins
    routes = sorted((Route(target, tuple(group)) for target, group in grouped.items()),
                    key=lambda route: route.target in for_every_portal)
    return Kit(point_of_sale=point, for_every_portal=for_every_portal, reserved=reserved,
               routes=tuple(routes), unrouted=tuple(unrouted),
               without_senders=tuple(p for p in portals if not p.senders),
               distribution=tuple(t.address for t in workspace.tracked_addresses if t.distribution),
               portals=portals)


@dataclass(frozen=True)
class SetupResult:
    folders: tuple[Path, ...]
    without_address: tuple[str, ...]   # points of sale given no kit: no tracked address to send copies to


def write_setup_kits(workspace: Workspace, point_of_sale: str | None = None, out: str | os.PathLike[str] | None = None,
                     language: str | None = None) -> SetupResult:
    """Write ``OUT/<point_of_sale>/`` for one point of sale or every one.

    A point of sale whose portals have no tracked address to go to gets no kit (refused when
    it is the one asked for): its page would have no address to give.
    """
    language = language or workspace.language
    if language not in LANGUAGES:
        raise UsageError(f"unknown language {language!r} ({', '.join(LANGUAGES)})")
    if point_of_sale is not None:
        point = workspace.point_of_sale(point_of_sale)
        if point is None:
            known = ", ".join(p.id for p in workspace.points_of_sale) or "none"
            raise UsageError(f"unknown point of sale {point_of_sale!r} (known: {known})")
        points: Sequence[PointOfSale] = [point]
    else:
        points = workspace.points_of_sale
        if not points:
            raise UsageError(f"no [[points_of_sale]] in {workspace.config_path}")
    folder = Path(out).resolve() if out else workspace.root / "setup"
    kits = [kit_for(workspace, point) for point in points]
    if point_of_sale is not None and not kits[0].routes:
        raise UsageError(f"point of sale {point_of_sale!r} has no tracked address: issue one with "
                         f"'emailtrack addresses add --point-of-sale {point_of_sale}'")
    return SetupResult(
        folders=tuple(write_kit(workspace, kit, folder / kit.point_of_sale.id, language)
                      for kit in kits if kit.routes),
        without_address=tuple(kit.point_of_sale.id for kit in kits if not kit.routes))


def write_kit(workspace: Workspace, kit: Kit, folder: Path, language: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    point = kit.point_of_sale
    headings = {key: [line.format(name=point.name, id=point.id) for line in lines]
                for key, lines in FILE_HEADINGS[language].items()}
    blocks = page(workspace, kit, language)
    title = plain(fill(TEXTS[language]["title"], name=point.name))
    files = {
        "index.html": render_html(blocks, title=title, language=language),
        "index.md": render_markdown(blocks),
        GMAIL_FILE: gmail_filters(kit.routes, title=headings["gmail"][0]),
        OUTLOOK_FILE: outlook_rule(kit.routes, mailboxes=point.mailboxes, heading=headings["outlook"]),
        SIEVE_FILE: sieve_script(kit.routes, heading=headings["sieve"]),
    }
    for name, text in files.items():
        # the page is read in a browser, the rules by mail clients: all UTF-8, LF but the .ps1
        (folder / name).write_text(text, encoding="utf-8", newline="")
    return folder


def page(workspace: Workspace, kit: Kit, language: str) -> list[Block]:
    """The blocks of ``index.html`` / ``index.md``."""
    t = TEXTS[language]
    point = kit.point_of_sale
    targets = joined(Code(a) for a in kit.targets)
    add_command = Code(f"emailtrack addresses add --point-of-sale {point.id}")
    rule_name = Code("emailtrack")
    blocks: list[Block] = [
        Heading(1, fill(t["title"], name=point.name)),
        Paragraph(fill(t["intro"], name=point.name)),
        *_addresses(kit, t, add_command),
        Heading(2, fill(t["files"])),
        Steps((fill(t["file_gmail"], file=Link(GMAIL_FILE, GMAIL_FILE)),
               fill(t["file_outlook"], file=Link(OUTLOOK_FILE, OUTLOOK_FILE)),
               fill(t["file_sieve"], file=Link(SIEVE_FILE, SIEVE_FILE))), ordered=False),
        Heading(2, fill(t["gmail"])),
        Steps((fill(t["gmail_1"], addresses=targets), fill(t["gmail_2"]),
               fill(t["gmail_3"], file=Link(GMAIL_FILE, GMAIL_FILE)))),
        Note(fill(t["gmail_note"])),
        Heading(2, fill(t["m365"])),
        Steps((fill(t["m365_1"], rule_name=rule_name), fill(t["m365_2"]), fill(t["m365_3"], addresses=targets),
               fill(t["m365_4"], file=Link(OUTLOOK_FILE, OUTLOOK_FILE), connect=Code("Connect-ExchangeOnline")))),
        Note(fill(t["m365_admin"]), warning=True),
        Heading(2, fill(t["outlook"])),
        Steps((fill(t["outlook_1"]), fill(t["outlook_2"]), fill(t["outlook_3"], addresses=targets))),
        Note(fill(t["outlook_warning"]), warning=True),
        Heading(2, fill(t["apple"])),
        Steps((fill(t["apple_1"], rule_name=rule_name), fill(t["apple_2"]), fill(t["apple_3"], addresses=targets))),
        Note(fill(t["apple_note"])),
        Heading(2, fill(t["sieve"])),
        Steps((fill(t["sieve_1"], file=Link(SIEVE_FILE, SIEVE_FILE)),
               fill(t["sieve_2"], redirect=Code("redirect :copy"))), ordered=False),
        Note(fill(t["sieve_note"], require=Code('require ["copy"];'))),
        *_portal_copy(kit, t),
        *_distribution(kit, t),
        Paragraph(fill(t["footer"], command=Code(f"emailtrack setup --point-of-sale {point.id}"),
                       workspace=workspace.name)),
    ]
    return blocks


def _addresses(kit: Kit, t: dict[str, str], add_command: Code) -> list[Block]:
    point = kit.point_of_sale
    items = [fill(t["address_all"], address=Code(a)) for a in kit.for_every_portal]
    items += [fill(t["address_portal"], portal=portal.name, address=Code(a)) for portal, a in kit.reserved]
    blocks: list[Block] = [Heading(2, fill(t["addresses"])), Steps(tuple(items), ordered=False)]
    if not kit.for_every_portal:
        blocks.append(Note(fill(t["address_none"], command=add_command)))
    blocks.append(Paragraph(fill(t["mailboxes"], mailboxes=joined(Code(m) for m in point.mailboxes))
                            if point.mailboxes else fill(t["mailboxes_none"], key=Code("mailboxes"))))
    blocks.append(Heading(2, fill(t["routes"])))
    blocks.append(Steps(tuple(
        fill(t["route"], portals=", ".join(p.name for p in route.portals), address=Code(route.target),
             senders=joined(Code(sender_words(s)) for s in route.senders))
        for route in kit.routes), ordered=False))
    if kit.unrouted:
        blocks.append(Note(fill(t["unrouted"], portals=", ".join(p.name for p in kit.unrouted), command=add_command),
                           warning=True))
    if kit.without_senders:
        blocks.append(Note(fill(t["no_senders"], portals=", ".join(p.name for p in kit.without_senders))))
    return blocks


def _portal_copy(kit: Kit, t: dict[str, str]) -> list[Block]:
    names = ", ".join(p.name for p in kit.portals if p.kind == "portal")
    blocks: list[Block] = [Heading(2, fill(t["portal"])),
                           Paragraph(fill(t["portal_1"], address=Code(kit.targets[-1]))),
                           Paragraph(fill(t["portal_2"], portals=names))]
    if kit.reserved:
        blocks.append(Steps(tuple(fill(t["portal_reserved"], portal=portal.name, address=Code(address))
                                  for portal, address in kit.reserved), ordered=False))
    return blocks


def _distribution(kit: Kit, t: dict[str, str]) -> list[Block]:
    point = kit.point_of_sale
    blocks: list[Block] = [Heading(2, fill(t["distribution"]))]
    if kit.distribution:
        blocks.append(Paragraph(fill(t["distribution_1"], address=joined(Code(a) for a in kit.distribution))))
    else:
        blocks.append(Paragraph(fill(t["distribution_none"])))
        blocks.append(CodeBlock('[[tracked_addresses]]\naddress = "…"\ndistribution = true'))
    blocks.append(Paragraph(fill(t["distribution_2"], header=Code(DISTRIBUTION_HEADER))))
    blocks.append(CodeBlock("emailtrack ingest --kind distribution distribution-log.csv"))
    known = (*point.mailboxes, *kit.for_every_portal, *(a for _, a in kit.reserved))
    blocks.append(Paragraph(fill(t["distribution_3"], addresses=joined(Code(a) for a in known))))
    return blocks
