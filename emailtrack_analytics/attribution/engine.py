"""Attribution: point of sale, portal, channel and category of one stored message copy.

Pure functions of a message's stored facts and the workspace configuration, so that a change
to ``emailtrack.toml`` or to the catalogue re-attributes every stored message without
re-reading any file (see ``refresh.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from ..config.catalogue import Portal, catalogue_text, compile_patterns, merged_portals, notices
from ..config.workspace import Workspace
from ..ingest.parsing.forwards import FORWARD_PREFIX, REPLY_PREFIX
from ..ingest.parsing.signals import domain_of
from . import confirmations

# Raise when a change to this package's rules (engine.py, identity.py, catalogue.py) can change
# an attributed copy: every workspace is then re-attributed once at its next command. A comment
# or a refactoring that gives the same results needs no new version (tests/attribution/test_versions.py
# asks the question whenever these files change).
ATTRIBUTION_VERSION = 15
CODE_FINGERPRINT = f"attribution-{ATTRIBUTION_VERSION}"

CHANNELS = ("forward", "redirect", "cc", "distribution", "direct", "unknown")
CATEGORIES = ("lead", "follow_up", "notification", "newsletter", "auto_reply", "spam", "other")

_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(r[ée]ponse automatique|absence|absent|out of (the )?office|automatic reply|auto(matic)?[- ]?reply|"
    r"autoreply|abwesenheit|automatische antwort|respuesta autom[áa]tica|risposta automatica|"
    r"fuori sede|afwezig|message automatique|accus[ée] de r[ée]ception|je suis absent|i am out)",
    re.IGNORECASE)
_BULK_PRECEDENCE = {"bulk", "list", "junk"}

# A copy as attribution reads it: the stored_messages columns by name (parsing.message.MessageRecord
# gives their types), as DuckDB returns them, plus the query's own columns (role_hint). The
# values stay Any: the rows come from SQL, whose columns mypy cannot see.
MessageRow: TypeAlias = Mapping[str, Any]
# (signal, domains) of the places a portal's own domains are looked for
_Places: TypeAlias = tuple[tuple[str, Sequence[str | None]], ...]

# Where a tracked address can be found on a copy, most precise first.
_PLACES = ("envelope_to", "forwarded_to", "resent_to", "to_addrs", "cc_addrs")


@dataclass
class Attribution:
    point_of_sale: str | None
    portal: str | None
    channel: str
    category: str
    role: str
    targets: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    distribution: bool = False


@dataclass(frozen=True)
class _Tracked:
    point_of_sale: str | None
    portal: str | None
    distribution: bool


class _AnyOf:
    """``any(p.search(text) for p in patterns)``: one expression searched once when the patterns
    can be joined, else each in turn (a workspace's pattern may carry its own global flags,
    group names or back references, which joining would break)."""

    def __init__(self, patterns: tuple[str, ...], flags: int):
        self.each = [re.compile(p, flags) for p in patterns]
        try:
            joined = re.compile("|".join(f"(?:{p})" for p in patterns), flags) if patterns else None
            if joined is not None and joined.groups != sum(p.groups for p in self.each):
                joined = None
            if joined is not None and any(re.search(r"\\\d|\(\?P=", p) for p in patterns):
                joined = None  # a back reference would point at another pattern's group
        except re.error:
            joined = None
        self.joined = joined

    def __bool__(self) -> bool:
        return bool(self.each)

    def search(self, text: str) -> bool:
        if self.joined is not None:
            return self.joined.search(text) is not None
        return any(p.search(text) for p in self.each)


def _alternation(patterns: tuple[str, ...], flags: int) -> _AnyOf | None:
    return _AnyOf(patterns, flags) if patterns else None


def _searches(patterns: _AnyOf | None, text: str) -> bool:
    """Whether one of a portal's patterns is found in ``text`` (None: the portal has none)."""
    return patterns is not None and patterns.search(text)


def _add(found: dict[int, list[str]], indices: Iterable[int], signal: str) -> None:
    """Records ``signal`` once for each portal of ``indices``, in the order signals are found."""
    for index in indices:
        signals = found.setdefault(index, [])
        if signal not in signals:
            signals.append(signal)


class _CompiledPortal:
    def __init__(self, portal: Portal):
        self.portal = portal
        self.subjects = compile_patterns(portal.subjects)
        self.notifications = compile_patterns(portal.notifications)
        self.follow_ups = compile_patterns(portal.follow_ups)
        self.body = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in portal.body]
        # each list as one expression, searched once (one scan of the text instead of one a rule)
        self.any_subject = _alternation(portal.subjects, re.IGNORECASE)
        self.any_body = _alternation(portal.body, re.IGNORECASE | re.MULTILINE)
        self.newsletters = portal.newsletters
        self.alerts = portal.alerts
        self.display_names = {n.casefold() for n in portal.display_names} | {portal.name.casefold()}
        self.domains = tuple(d.lower() for d in portal.domains)

    def owns(self, domain: str | None) -> bool:
        if not domain:
            return False
        return any(domain == d or domain.endswith("." + d) for d in self.domains)

    def named(self, name: str | None) -> bool:
        folded = (name or "").strip().strip('"').casefold()
        return bool(folded) and (folded in self.display_names
                                 or any(folded.endswith(" via " + n) for n in self.display_names))


# Weights of the signals that name a portal (docs/attribution.md, "Which portal"); a copy is
# attributed to the portal with the highest total when it reaches RECOGNISED. The From address
# or a subject template alone suffices; a display name, body wording or a domain in one other
# place needs a second signal: a platform's domain or a look-alike name is never enough.
WEIGHTS = {"sender_address": 3, "sender_domain": 2, "subject": 2, "display_name": 1, "body": 1,
           "reply_to": 1, "sender_header": 1, "return_path": 1, "dkim": 1, "message_id": 1,
           "list_id": 1, "links": 1}
RECOGNISED = 2


@dataclass
class Recognition:
    """The portal a copy's signals point to, with the total and the signals that matched."""
    compiled: _CompiledPortal | None
    score: int = 0
    signals: tuple[str, ...] = ()

    @property
    def portal(self) -> str | None:
        return self.compiled.portal.id if self.compiled else None


# The notices of every portal (catalogue [notices]); compiled once
_NOTICES = notices()
_NOTICE_SUBJECTS = compile_patterns(_NOTICES.subjects)
_NOTICE_BODY = [re.compile(p, re.IGNORECASE) for p in _NOTICES.body]


def sender_matches(sender: str, rule: str) -> int:
    """How specifically ``rule`` (an address or ``@domain``) matches ``sender``: 0 = not at all."""
    if not sender:
        return 0
    if rule.startswith("@"):
        domain = sender.rsplit("@", 1)[-1]
        wanted = rule[1:]
        if domain == wanted or domain.endswith("." + wanted):
            return len(wanted)
        return 0
    return 1000 if sender == rule else 0


def _any_sender(sender: str, rules: tuple[str, ...]) -> bool:
    return any(sender_matches(sender, rule) for rule in rules)


def attribution_fingerprint(ws: Workspace, distribution_digest: tuple[int, int] | None = None) -> str:
    """Changes whenever anything that attribution depends on changes: the code, the config,
    the catalogue and (through its digest) the distribution log."""
    basis = repr((CODE_FINGERPRINT, ws.timezone, ws.points_of_sale, ws.portals, ws.tracked_addresses,
                  catalogue_text(), confirmations.confirmations_text(), distribution_digest))
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]


class Attributor:
    """Attributes message rows (dicts of ``stored_messages`` columns) for one workspace."""

    def __init__(self, workspace: Workspace, distribution_targets: dict[str, list[str]] | None = None):
        self.workspace = workspace
        self.tz = ZoneInfo(workspace.timezone)
        self.tracked: dict[str, _Tracked] = {}
        self.mailboxes: dict[str, str] = {}
        for pos in workspace.points_of_sale:
            for address in pos.tracked_addresses:
                self.tracked[address] = _Tracked(pos.id, None, False)
            for address in pos.mailboxes:
                self.mailboxes[address] = pos.id
        for entry in workspace.tracked_addresses:
            self.tracked[entry.address] = _Tracked(entry.point_of_sale, entry.portal, entry.distribution)
        self.portals = [_CompiledPortal(p) for p in merged_portals(workspace.portals)]
        self._index_senders()
        self._index_signals()
        # message-id -> points of sale that the distribution log says received it
        self.distribution_targets = distribution_targets or {}

    # ------------------------------------------------------------------ fingerprint
    def fingerprint(self, distribution_digest: tuple[int, int] | None = None) -> str:
        return attribution_fingerprint(self.workspace, distribution_digest)

    # ------------------------------------------------------------------ parts
    def _find_tracked(self, row: MessageRow) -> tuple[str | None, _Tracked | None, str | None]:
        """(address, its meaning, where it was found) for the first tracked address on the copy."""
        for place in _PLACES:
            for address in row.get(place) or ():
                meaning = self.tracked.get(address)
                if meaning is not None:
                    return address, meaning, place
        return None, None, None

    def _guess_role(self, row: MessageRow, tracked_place: str | None) -> str:
        """Tracking copy or a point of sale's own mailbox copy, when the user did not say.

        The envelope decides (``Delivered-To`` a tracked address, or re-sent to one: tracking;
        ``Delivered-To`` a point of sale's mailbox: its own copy, even with the tracked address
        in Cc); without an envelope, the visible recipients do, tracked addresses first.
        """
        if tracked_place in ("envelope_to", "forwarded_to", "resent_to"):
            return "tracking"
        if any(a in self.mailboxes for a in row.get("envelope_to") or ()):
            return "mailbox"
        if tracked_place is not None or self._find_mailbox(row) is None:
            return "tracking"
        return "mailbox"

    def _find_mailbox(self, row: MessageRow) -> str | None:
        for place in _PLACES + ("original_to", "original_cc"):
            for address in row.get(place) or ():
                if address in self.mailboxes:
                    return self.mailboxes[address]
        return None

    def _index_senders(self) -> None:
        """Sender rules as lookups: an exact address, else the longest matching domain (the most
        specific rule wins; between equal rules, the first portal)."""
        self._by_address: dict[str, _CompiledPortal] = {}
        self._by_domain: dict[str, _CompiledPortal] = {}
        for compiled in self.portals:
            # a portal's marketing and alert senders identify it too
            for rule in compiled.portal.senders + compiled.newsletters + compiled.alerts:
                if rule.startswith("@"):
                    self._by_domain.setdefault(rule[1:], compiled)
                else:
                    self._by_address.setdefault(rule, compiled)

    def portal_for(self, sender: str | None, subject: str) -> _CompiledPortal | None:
        """The portal whose sender rule matches most specifically; else a subject-only portal."""
        if sender:
            if sender in self._by_address:
                return self._by_address[sender]
            labels = sender.rsplit("@", 1)[-1].split(".")
            for start in range(len(labels) - 1):  # longest domain first
                compiled = self._by_domain.get(".".join(labels[start:]))
                if compiled is not None:
                    return compiled
        for compiled in self.portals:
            if not compiled.portal.senders and any(p.search(subject or "") for p in compiled.subjects):
                return compiled
        return None

    def signals_of(self, compiled: _CompiledPortal, row: MessageRow) -> list[str]:
        """The signals of ``row`` that name ``compiled``'s portal."""
        found: list[str] = []
        sender = row.get("sender") or ""
        if sender:
            best = max((sender_matches(sender, rule) for rule in compiled.portal.senders
                        + compiled.newsletters + compiled.alerts + compiled.portal.lead_senders), default=0)
            if best >= 1000:
                found.append("sender_address")
            elif best:
                found.append("sender_domain")
        if compiled.named(row.get("sender_name")):
            found.append("display_name")
        subject = row.get("subject") or ""
        if any(p.search(subject) for p in compiled.subjects):
            found.append("subject")
        body = row.get("body_text") or ""
        if body and any(p.search(body) for p in compiled.body):
            found.append("body")
        if compiled.domains:
            for place, domains in self._places(row):
                if any(compiled.owns(d) for d in domains):
                    found.append(place)
        return found

    def recognise(self, row: MessageRow, *, complete: bool = False) -> Recognition:
        """The portal all of a copy's signals point to (the highest total of WEIGHTS, at least
        RECOGNISED to be attributed); between equal totals, the more specific From rule, then
        catalogue order.

        The same as scoring ``signals_of`` for every portal (a test holds them equal), through
        look-ups instead of a scan of every portal: the body's wording (the costly signal, one
        point) is only searched for the portals another signal already names, unless
        ``complete`` (emailtrack senders wants every hint)."""
        found = self._named_portals(row, complete)
        sender = row.get("sender") or ""
        best, best_rank = Recognition(None), (0, 0, 0)
        for index in sorted(found):
            compiled, signals = self.portals[index], found[index]
            ordered = tuple(s for s in WEIGHTS if s in signals)
            score = sum(WEIGHTS[s] for s in ordered)
            rank = (score, max((sender_matches(sender, r) for r in compiled.portal.senders), default=0), -index)
            if rank > best_rank:
                best, best_rank = Recognition(compiled, score, ordered), rank
        return best

    def _named_portals(self, row: MessageRow, complete: bool) -> dict[int, list[str]]:
        """The signals of ``row`` by the portal (position in ``self.portals``) they name; the
        body only for the portals another signal names, unless ``complete``."""
        found: dict[int, list[str]] = {}
        sender = row.get("sender") or ""
        if sender:
            exact = self._rule_index.get(sender, ())
            _add(found, exact, "sender_address")
            labels = sender.rsplit("@", 1)[-1].split(".")
            for start in range(len(labels) - 1):
                _add(found, (i for i in self._rule_index.get("@" + ".".join(labels[start:]), ()) if i not in exact),
                     "sender_domain")
        name = (row.get("sender_name") or "").strip().strip('"').casefold()
        if name:
            _add(found, self._name_index.get(name, ()), "display_name")
            if " via " in name:
                _add(found, self._name_index.get(name.rsplit(" via ", 1)[1], ()), "display_name")
        for place, domains in self._places(row):
            for domain in domains:
                if not domain:
                    continue
                labels = domain.split(".")
                for start in range(len(labels) - 1):
                    _add(found, self._domain_index.get(".".join(labels[start:]), ()), place)
        subject = row.get("subject") or ""
        if subject:
            _add(found, (i for i in self._with_subjects if _searches(self.portals[i].any_subject, subject)),
                 "subject")
        body = row.get("body_text") or ""
        if body:
            candidates = self._with_body if complete else [i for i in self._with_body if i in found]
            _add(found, (i for i in candidates if _searches(self.portals[i].any_body, body)), "body")
        return found

    @staticmethod
    def _places(row: MessageRow) -> _Places:
        """(signal, domains) of the places a portal's own domains are looked for."""
        message_id = row.get("original_message_id") or row.get("message_id")
        return (("reply_to", row.get("reply_to_domains") or ()),
                ("sender_header", (row.get("sender_header_domain"),)),
                ("return_path", (row.get("return_path_domain"),)),
                ("dkim", row.get("dkim_domains") or ()),
                ("message_id", (domain_of(message_id),)),
                ("list_id", (row.get("list_id"),)),
                ("links", row.get("link_hosts") or ()))

    def _index_signals(self) -> None:
        """Look-ups from a sender rule, a display name or an owned domain to the portals
        (positions in ``self.portals``) that have it."""
        self._rule_index: dict[str, list[int]] = {}
        self._name_index: dict[str, list[int]] = {}
        self._domain_index: dict[str, list[int]] = {}
        for index, compiled in enumerate(self.portals):
            portal = compiled.portal
            for rule in portal.senders + compiled.newsletters + compiled.alerts + portal.lead_senders:
                self._rule_index.setdefault(rule, []).append(index)
            for name in compiled.display_names:
                self._name_index.setdefault(name, []).append(index)
            for domain in compiled.domains:
                self._domain_index.setdefault(domain, []).append(index)
        self._with_subjects = [i for i, c in enumerate(self.portals) if c.subjects]
        self._with_body = [i for i, c in enumerate(self.portals) if c.body]

    def portal_by_name(self, name: str) -> _CompiledPortal | None:
        """A forward that kept only the sender's display name ("De : SeLoger", "Marc via
        leboncoin"): the portal whose name it is."""
        folded = name.strip().strip('"').casefold()
        for compiled in self.portals:
            portal_name = compiled.portal.name.casefold()
            if folded == portal_name or folded.endswith(" via " + portal_name):
                return compiled
        return None

    def category_for(self, row: MessageRow, compiled: _CompiledPortal | None, flags: list[str]) -> str:
        """Lead or not, from the subject and the body (docs/attribution.md, "Lead or not").

        A List-Id alone never makes a newsletter (portals send leads through campaign tools);
        a prospect's contact block with no notice wording makes a lead even under a subject
        the catalogue does not know (flagged, so that format drift shows)."""
        subject = row.get("subject") or ""
        sender = row.get("sender") or ""
        body = row.get("body_text") or ""
        if row.get("spam_flag"):
            return "spam"
        if (row.get("auto_submitted") or "").startswith("auto-replied") or row.get("autoreply") \
                or _AUTO_REPLY_SUBJECT.match(subject):
            return "auto_reply"
        bulk = bool(row.get("list_unsubscribe")) or (row.get("precedence") or "") in _BULK_PRECEDENCE
        if self._is_follow_up(row, subject, compiled):
            return "follow_up"
        if compiled is None:  # a mailing list of someone else's: its List-Id says it
            return "newsletter" if bulk or row.get("list_id") else "other"
        if _any_sender(sender, compiled.newsletters):
            return "newsletter"
        if _any_sender(sender, compiled.alerts):
            return "notification"
        if compiled.any_subject is not None and compiled.any_subject.search(subject):
            return "lead"
        if any(p.search(subject) for p in compiled.notifications) or any(p.search(subject) for p in _NOTICE_SUBJECTS):
            return "notification"
        lead_wording = bool(body) and compiled.any_body is not None and compiled.any_body.search(body)
        if lead_wording or row.get("has_contact"):
            # a prospect's contact block wins over notice words in the body: prospects write
            # "votre annonce n'est plus en ligne ?" too
            if compiled.subjects:
                flags.append("unrecognised_template")  # the portal changed its subject
            return "lead"
        if body and any(p.search(body) for p in _NOTICE_BODY):
            return "notification"
        if bulk:
            return "newsletter"
        if compiled.subjects:
            flags.append("unrecognised_template")
            return "other"
        return "lead"  # no subject template known for the portal: every message not a notice

    def _is_follow_up(self, row: MessageRow, subject: str, compiled: _CompiledPortal | None) -> bool:
        """A reply within a lead's conversation: the portal's follow-up pattern, or a reply
        (prefix and In-Reply-To/References) to a subject that is a lead template. Replies that
        reference a stored lead are found after attribution (``refresh.mark_follow_ups``)."""
        if compiled is not None and any(p.search(subject) for p in compiled.follow_ups):
            return True
        if not REPLY_PREFIX.match(subject) or FORWARD_PREFIX.match(subject):
            return False
        if compiled is not None and (row.get("in_reply_to") or row.get("reference_ids")):
            return True  # a reply in a conversation with the portal's relay
        # from anyone else: a reply to a lead template here, or (refresh.mark_follow_ups) a
        # reply whose references name a stored lead
        replied = REPLY_PREFIX.sub("", subject)
        candidates = [compiled] if compiled is not None else self.portals
        return any(p.search(replied) for c in candidates for p in c.subjects)

    def channel_for(self, row: MessageRow, place: str | None, tracked: _Tracked | None, role: str) -> str:
        if role == "mailbox":
            return "direct"
        if tracked is None:
            return "unknown"
        if tracked.distribution:
            return "distribution"
        if row.get("forward_kind"):
            return "forward"
        relayed = list(row.get("forwarded_to") or ()) + list(row.get("resent_to") or ())
        if any(a in self.tracked for a in relayed):
            return "redirect"  # this copy was re-sent to tracking, whatever the original's recipients
        recipients = list(row.get("to_addrs") or ()) + list(row.get("cc_addrs") or ())
        tracked_visible = [a for a in recipients if a in self.tracked]
        if tracked_visible:
            others = [a for a in recipients if a not in self.tracked]
            return "cc" if others else "direct"
        return "redirect"  # only in Delivered-To / X-Forwarded-To / Resent-To: the original was kept

    # ------------------------------------------------------------------ all together
    def attribute(self, row: MessageRow) -> Attribution:
        flags: list[str] = []
        address, tracked, place = self._find_tracked(row)
        role = row.get("role_hint") or "auto"
        if role == "auto":
            role = self._guess_role(row, place)
        point_of_sale = None
        if role == "mailbox":
            point_of_sale = self._find_mailbox(row)
        elif tracked is not None:
            point_of_sale = tracked.point_of_sale
            self._check_ambiguous(row, tracked, flags)

        if confirmations.recognise(row.get("sender"), row.get("subject"), row.get("body_text"),
                                   row.get("link_hosts")) is not None:
            # a provider's verification mail to the tracked address: the point of sale's set-up
            # under way, never a lead nor a portal's, whatever portal the tracked address is for
            return self._confirmation(row, place, tracked, role, point_of_sale, flags)
        recognition = self.recognise(row)
        compiled = recognition.compiled if recognition.score >= RECOGNISED else None
        if compiled is not None and row.get("sender") and not {"sender_address", "sender_domain"} & set(recognition.signals):
            flags.append("new_sender")  # the portal, from a sender the catalogue does not list
        if compiled is not None and not row.get("sender") and "display_name" in recognition.signals:
            flags.append("portal_from_name")  # the forward kept the sender's name, not its address
        if compiled is None and not row.get("sender") and row.get("sender_name"):
            compiled = self.portal_by_name(row["sender_name"])
            if compiled is not None:
                flags.append("portal_from_name")
        if compiled is None and tracked is not None and tracked.portal:
            compiled = next((c for c in self.portals if c.portal.id == tracked.portal), None)
            flags.append("portal_from_tracked_address")
        if compiled is None and row.get("copy_subject") and FORWARD_PREFIX.match(row["copy_subject"]) \
                and not row.get("forward_kind"):
            flags.append("forward_not_unwrapped")
        category = self.category_for(row, compiled, flags)
        channel = self.channel_for(row, place, tracked, role)

        targets: list[str] = []
        if tracked is not None and tracked.distribution and role == "tracking":
            key = row.get("original_message_id") or row.get("message_id")
            targets = list(self.distribution_targets.get(key or "", []))
            if not targets:
                flags.append("distribution_not_in_log")
            point_of_sale = targets[0] if len(targets) == 1 else None
        elif point_of_sale:
            targets = [point_of_sale]
        return Attribution(point_of_sale, compiled.portal.id if compiled else None, channel,
                           category, role, targets, flags, bool(tracked and tracked.distribution))

    def _confirmation(self, row: MessageRow, place: str | None, tracked: _Tracked | None, role: str,
                      point_of_sale: str | None, flags: list[str]) -> Attribution:
        flags.append("forwarding_confirmation")
        if tracked is not None and tracked.distribution and role == "tracking":
            point_of_sale = None  # the distribution system's own address: no point of sale set it up
        return Attribution(point_of_sale, None, self.channel_for(row, place, tracked, role), "notification", role,
                           [point_of_sale] if point_of_sale else [], flags, bool(tracked and tracked.distribution))

    def _check_ambiguous(self, row: MessageRow, tracked: _Tracked, flags: list[str]) -> None:
        if row.get("envelope_to"):
            return  # the envelope says which copy this is
        others = {self.tracked[a].point_of_sale for place in ("to_addrs", "cc_addrs")
                  for a in row.get(place) or () if a in self.tracked}
        if len(others - {None}) > 1:
            flags.append("ambiguous_point_of_sale")

    def local_time(self, received_at: dt.datetime) -> tuple[str, dt.date, int, int]:
        """(month, local date, hour, ISO weekday 1-7) of a naive-UTC time in the workspace zone."""
        local = received_at.replace(tzinfo=dt.timezone.utc).astimezone(self.tz)
        return local.strftime("%Y-%m"), local.date(), local.hour, local.isoweekday()
