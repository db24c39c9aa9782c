"""Configuration problems the stored copies show, each with its evidence and the fix.

Shown by ``emailtrack status`` (its "checks" section) and by the health report:

- ``unclaimed_address``: copies reached an address on a tracking domain that no point of sale
  claims (a forwarding rule with a typo, ``nantes@`` for ``nantes1@``). Attribution cannot tell
  such a copy from the point of sale's own mailbox copy, so its leads count as received and
  never tracked: the point of sale shows 0% coverage and nothing else says why. Fix: the
  ``[[tracked_addresses]]`` lines to add (or the forwarding rule to correct).
- ``silent_point_of_sale``: no lead reached tracking for a point of sale for longer than its
  own history and the network's trend make plausible (the health report's silence test), or
  never, as of the last lead the workspace holds (not today: a workspace ingested last month
  would make every point of sale look silent).
- ``mailbox_not_tracked``: a point of sale's own mailbox export shows leads that never reached
  tracking.
- ``pending_confirmation``: a mail provider's verification mail reached a tracked address (Gmail's
  "Forwarding Confirmation": Gmail forwards nothing to an address until someone opens the link
  or types the code the mail holds; ``config/confirmations.toml``), and the forward does not work
  yet. It is pending until a later copy reached that address relayed from the mailbox that asked
  (an unwrapped forward whose From is the mailbox, a redirect keeping the mailbox among the
  original's To/Cc, Resent-From, or ``X-Forwarded-For`` naming it); a later confirmation for the
  same address and mailbox supersedes an earlier one (its code and link are the ones that work).
  An address no point of sale claims is listed too, with the point of sale whose mailbox asked
  when it is one of the configuration's. Fix: open the link, or type the code in the mailbox's
  forwarding settings (the code and link are the set-up's, no prospect's data).

The SQL is in ``analytics/views/065_checks.sql``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..attribution import confirmations
from ..config.workspace import PointOfSale, Workspace
from . import health
from .api import SqlRunner, frame_rows

KINDS = ("unclaimed_address", "silent_point_of_sale", "mailbox_not_tracked", "pending_confirmation")
NEAR_TYPO = 2          # a claimed address this many edits away (local part) is probably what was meant
NEVER_MIN_DAYS = 14    # a point of sale no lead ever reached is flagged once the data spans this long


@dataclass(frozen=True)
class Check:
    kind: str                      # one of KINDS
    point_of_sale: str | None
    address: str | None            # the unclaimed address; the tracked address; the mailbox
    count: int                     # copies | days silent | leads not tracked
    detail: str                    # one line, no personal data
    fix: str                       # what to do; for an unclaimed address, the TOML to add
    since: dt.date | None = None   # first copy | last lead | first month's first day
    toml: str = ""                 # the lines to add to emailtrack.toml, when that is the fix
    nearest_address: str | None = None
    # the facts ``detail`` and ``fix`` are written from, so that a report writes them in its own
    # language (``detail`` and ``fix`` are English, for ``emailtrack status`` and logs)
    lead_copies: int | None = None    # unclaimed_address: copies that were leads
    distance: int | None = None       # unclaimed_address: characters between address and nearest_address
    expected: float | None = None     # silent_point_of_sale after a silence: leads its history predicted
    received: int | None = None       # silent_point_of_sale never tracked: leads received (logs, mailbox);
                                      # mailbox_not_tracked: leads in its mailbox export
    until: dt.date | None = None      # silent_point_of_sale: the day checked as of; mailbox_not_tracked:
                                      # its last month's first day
    fix_kind: str = ""                # one of FIXES: which fix ``fix`` writes
    # pending_confirmation: the mailbox asking to forward to ``address``, what confirms it, the
    # provider's name (``since`` is the day the newest confirmation mail arrived, ``count`` how
    # many arrived for that address and mailbox)
    mailbox: str | None = None
    code: str | None = None
    link: str | None = None
    provider: str | None = None
    unclaimed: bool = False           # pending_confirmation: at an address no point of sale claims
    counted: bool = False             # unclaimed_address: its copies count as point_of_sale's own
                                      # mailbox copies (else point_of_sale owns the nearest address)


# toml: add the [[tracked_addresses]] lines; rule_or_toml: correct the forwarding rule (a near typo of
# nearest_address) or add them; unclaimed: see the unclaimed address the copies go to; forwarding: check
# the mailbox forwards to the tracked address; tracked_address: give the point of sale a tracked
# address; add_point_of_sale: the point of sale is not in emailtrack.toml; confirm: open the
# confirmation link or type the code; confirmation: see the pending confirmation its forward waits for
FIXES = ("toml", "rule_or_toml", "unclaimed", "forwarding", "tracked_address", "add_point_of_sale", "confirm",
         "confirmation")
TOML_PLACEHOLDER = "<id of the point of sale it belongs to>"


def tracked_address_toml(address: str, point_of_sale: str | None, placeholder: str = TOML_PLACEHOLDER) -> str:
    """The ``[[tracked_addresses]]`` lines that claim ``address``; without a point of sale, its
    line commented out with ``placeholder`` (a report writes it in its own language)."""
    return "\n".join(["[[tracked_addresses]]", f"address = {_toml_string(address)}",
                      f"point_of_sale = {_toml_string(point_of_sale)}" if point_of_sale else
                      f'# point_of_sale = "{placeholder}"'])


def find_checks(sql: SqlRunner, workspace: Workspace) -> list[Check]:
    """Every configuration problem the workspace's data shows; ``sql(query, params)`` runs a query
    on the workspace's views (``Analytics.sql``, or a connection's ``execute(...).df()``)."""
    found = unclaimed_addresses(sql, workspace)
    found += pending_confirmations(sql, workspace)
    found += silent_points_of_sale(sql, workspace, found)
    found += mailbox_leads_not_tracked(sql, workspace, found)
    return found


def as_of(sql: SqlRunner) -> dt.date | None:
    """The last local day a lead reached tracking: the day the checks are made as of."""
    day = sql("SELECT max(local_date) AS day FROM leads", [])["day"].iloc[0]
    return None if day is None or pd.isna(day) else pd.Timestamp(day).date()


def tracking_domains(workspace: Workspace) -> list[str]:
    """The domains tracked addresses are issued on: ``[tracking] domain`` and every tracked address's."""
    domains = {workspace.tracking_domain} if workspace.tracking_domain else set()
    for pos in workspace.points_of_sale:
        domains.update(a.split("@", 1)[1] for a in pos.tracked_addresses)
    domains.update(e.address.split("@", 1)[1] for e in workspace.tracked_addresses)
    return sorted(domains)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unclaimed_addresses(sql: SqlRunner, workspace: Workspace) -> list[Check]:
    extra = [workspace.tracking_domain] if workspace.tracking_domain else []
    rows = sql("SELECT * FROM unclaimed_tracking_addresses($1::VARCHAR[])", [extra])
    found = []
    for row in frame_rows(rows):
        pos = row.point_of_sale if isinstance(row.point_of_sale, str) else None
        nearest = row.nearest_address if isinstance(row.nearest_address, str) else None
        typo = nearest is not None and not pd.isna(row.distance) and int(row.distance) <= NEAR_TYPO
        toml = tracked_address_toml(row.address, pos)
        since = pd.Timestamp(row.first_copy).date()
        counted = pos is not None and bool(row.counted)
        detail = (f"{row.address}: {row.copies} copies ({row.lead_copies} leads) since {since.isoformat()} "
                  f"at an address on a tracking domain that no point of sale claims"
                  + (f"; counted as {pos}'s own mailbox copies, never as tracked" if counted
                     else "; counted for no point of sale" if pos is None or nearest is None
                     else f"; counted for no point of sale (the nearest claimed address, {nearest}, is {pos}'s)"))
        fix = "add to emailtrack.toml:\n" + toml
        if typo:
            fix = (f"if the forwarding rule means {nearest} ({int(row.distance)} character"
                   f"{'s' if int(row.distance) > 1 else ''} away), correct the rule; otherwise " + fix)
        found.append(Check("unclaimed_address", pos, row.address, int(row.copies), detail, fix, since, toml,
                           nearest, lead_copies=int(row.lead_copies),
                           distance=int(row.distance) if nearest is not None and not pd.isna(row.distance) else None,
                           fix_kind="rule_or_toml" if typo else "toml", counted=counted))
    return found


def pending_confirmations(sql: SqlRunner, workspace: Workspace) -> list[Check]:
    """The verification mail at tracked addresses whose forward does not work yet (see the module's
    docstring), with the mailbox asking, the code and the link each holds."""
    extra = [workspace.tracking_domain] if workspace.tracking_domain else []
    copies = list(frame_rows(sql("SELECT * FROM forwarding_confirmations($1::VARCHAR[]) ORDER BY received_at",
                                 [extra])))
    if not copies:
        return []
    read: dict[str, confirmations.Confirmation | None] = {}
    for row in copies:
        sender, subject, text, tracked = (v if isinstance(v, str) else None for v in (
            row.sender, row.subject, row.body_text, row.tracked_address))
        hosts = list(row.link_hosts) if row.link_hosts is not None and not isinstance(row.link_hosts, float) else []
        provider = confirmations.recognise(sender, subject, text, hosts)
        read[row.message_key] = confirmations.read(provider, subject, text, tracked) if provider else None
    keys = list(read)
    mailboxes = [c.mailbox if c is not None else None for c in read.values()]
    pending = sql("SELECT * FROM pending_forwarding_confirmations($1::VARCHAR[], $2::VARCHAR[], $3::VARCHAR[])",
                  [extra, keys, mailboxes])
    owners = {address: pos.id for pos in workspace.points_of_sale for address in pos.mailboxes}
    found = []
    for row in frame_rows(pending):
        asked = read[row.message_key]
        tracked = row.tracked_address if isinstance(row.tracked_address, str) else None
        mailbox = asked.mailbox if asked else None
        pos = row.point_of_sale if isinstance(row.point_of_sale, str) else owners.get(mailbox or "")
        provider_name = asked.provider_name if asked else "the mail provider"
        since = pd.Timestamp(row.received_at).date()
        who = mailbox or "a mailbox"
        unclaimed = pos is None and tracked not in _claimed(workspace)
        detail = (f"{tracked or 'a tracked address'}: {provider_name} asks to confirm that {who} may forward to it "
                  f"(confirmation mail of {since.isoformat()}"
                  + (f", {int(row.confirmations)} in all" if int(row.confirmations) > 1 else "")
                  + f"); nothing it forwards arrives until then, and nothing forwarded from {who} arrived since"
                  + ("; no point of sale claims this address" if unclaimed else ""))
        found.append(Check("pending_confirmation", pos, tracked, int(row.confirmations), detail,
                           _confirm_fix(asked, mailbox), since, mailbox=mailbox,
                           code=asked.code if asked else None, link=asked.link if asked else None,
                           provider=asked.provider_name if asked else None, unclaimed=unclaimed,
                           fix_kind="confirm"))
    return found


def _claimed(workspace: Workspace) -> set[str]:
    claimed = {a for pos in workspace.points_of_sale for a in pos.tracked_addresses}
    return claimed | {e.address for e in workspace.tracked_addresses}


def _confirm_fix(asked: confirmations.Confirmation | None, mailbox: str | None) -> str:
    """Open the link, or type the code, as the mailbox that asked; the link on a line of its own."""
    if asked is None or (asked.link is None and asked.code is None):
        return "open the confirmation mail at the tracked address and follow its link"
    fix = []
    if asked.link:
        fix.append("open this link (it confirms the forward):\n" + asked.link)
    if asked.code:
        fix.append(f"type the code {asked.code} in the forwarding settings of {mailbox or 'the mailbox that asked'}"
                   f" ({asked.provider_name})")
    return ("\nor " if asked.link else "").join(fix)


def silent_points_of_sale(sql: SqlRunner, workspace: Workspace, unclaimed: Sequence[Check] = ()) -> list[Check]:
    day = as_of(sql)
    if day is None:
        return []
    found = []
    for alert in health.silent_points_of_sale(health.daily_leads(sql), day):
        assert alert.point_of_sale is not None and alert.since is not None, "a silence has both"
        pos = workspace.point_of_sale(alert.point_of_sale)
        days = (day - alert.since).days
        found.append(Check(
            "silent_point_of_sale", alert.point_of_sale, _first(pos.tracked_addresses) if pos else None, days,
            f"{alert.point_of_sale}: no lead reached tracking for {days} days since {alert.since.isoformat()} "
            f"({alert.expected:.0f} expected from its own history and the network's trend)",
            _earlier_fix(unclaimed, alert.point_of_sale) or _forwarding_fix(pos, "still forwards"), alert.since,
            expected=alert.expected, until=day, fix_kind=_fix_kind(unclaimed, alert.point_of_sale, pos)))
    never = sql("SELECT * FROM point_of_sale_tracking WHERE point_of_sale_leads = 0 ORDER BY point_of_sale", [])
    first = pd.Timestamp(sql("SELECT min(local_date) AS day FROM leads", [])["day"].iloc[0]).date()
    for row in frame_rows(never):
        pos = workspace.point_of_sale(row.point_of_sale)
        # silent since its first lead received (mail logs, mailbox export), else since the data begins
        since = pd.Timestamp(row.first_received).date() if not pd.isna(row.first_received) else first
        days = (day - since).days
        if days < NEVER_MIN_DAYS:
            continue
        evidence = (f"; its mail logs or mailbox export show {row.received_leads} leads received since "
                    f"{since.isoformat()}" if row.received_leads else f" ({days} days of data up to {day.isoformat()})")
        found.append(Check(
            "silent_point_of_sale", row.point_of_sale, _first(pos.tracked_addresses) if pos else None, days,
            f"{row.point_of_sale}: no lead ever reached tracking{evidence}",
            _earlier_fix(unclaimed, row.point_of_sale) or (
                _forwarding_fix(pos, "forwards") if pos and pos.tracked_addresses else
                f"give {row.point_of_sale} a tracked address (tracked_addresses) and set up its copies"), since,
            received=int(row.received_leads or 0), until=day,
            fix_kind=_fix_kind(unclaimed, row.point_of_sale, pos, never=True)))
    return found


def mailbox_leads_not_tracked(sql: SqlRunner, workspace: Workspace, found: list[Check]) -> list[Check]:
    rows = sql("SELECT * FROM mailbox_leads_not_tracked WHERE not_tracked > 0 ORDER BY not_tracked DESC, "
               "point_of_sale", [])
    checks = []
    for row in frame_rows(rows):
        pos = workspace.point_of_sale(row.point_of_sale)
        months = row.first_month if row.first_month == row.last_month else f"{row.first_month} to {row.last_month}"
        fix = _earlier_fix(found, row.point_of_sale) or _forwarding_fix(pos, "forwards every lead")
        checks.append(Check(
            "mailbox_not_tracked", row.point_of_sale, _first(pos.mailboxes) if pos else None, int(row.not_tracked),
            f"{row.point_of_sale}: {row.not_tracked} of the {row.mailbox_leads} leads in its own mailbox export "
            f"never reached tracking ({months})", fix, dt.date.fromisoformat(f"{row.first_month}-01"),
            received=int(row.mailbox_leads), until=dt.date.fromisoformat(f"{row.last_month}-01"),
            fix_kind=_fix_kind(found, row.point_of_sale, pos)))
    return checks


def _unclaimed_fix(found: Sequence[Check], pos_id: str) -> str:
    """The fix of a point of sale whose copies reach an unclaimed address: that address's."""
    addresses = [c.address for c in found
                 if c.kind == "unclaimed_address" and c.point_of_sale == pos_id and c.address is not None]
    if not addresses:
        return ""
    return f"its copies go to {', '.join(addresses)}, which no point of sale claims: see the unclaimed address"


def _confirmation_fix(found: Sequence[Check], pos_id: str) -> str:
    """The fix of a point of sale whose forward waits for its confirmation: that confirmation's."""
    addresses = [c.address for c in found
                 if c.kind == "pending_confirmation" and c.point_of_sale == pos_id and c.address is not None]
    if not addresses:
        return ""
    return (f"its forward to {', '.join(addresses)} was never confirmed: see the pending confirmation "
            "(its link or code)")


def _earlier_fix(found: Sequence[Check], pos_id: str) -> str:
    """The fix an earlier check already gives for what silences the point of sale: the unclaimed
    address its copies go to, else the confirmation its forward waits for."""
    return _unclaimed_fix(found, pos_id) or _confirmation_fix(found, pos_id)


def _fix_kind(found: Sequence[Check], pos_id: str, pos: PointOfSale | None, never: bool = False) -> str:
    """Which fix was written: ``_unclaimed_fix``, else ``_confirmation_fix``, else ``_forwarding_fix``
    (for a point of sale never tracked, only when it has a tracked address; else the advice to
    give it one)."""
    if _unclaimed_fix(found, pos_id):
        return "unclaimed"
    if _confirmation_fix(found, pos_id):
        return "confirmation"
    if never:
        return "forwarding" if pos and pos.tracked_addresses else "tracked_address"
    return "forwarding" if pos else "add_point_of_sale"


def _first(values: Sequence[str]) -> str | None:
    return values[0] if values else None


def _forwarding_fix(pos: PointOfSale | None, verb: str) -> str:
    if pos is None:
        return "add this point of sale to emailtrack.toml"
    mailbox = " or ".join(pos.mailboxes) or "its mailbox"
    tracked = " or ".join(pos.tracked_addresses) or "its tracked address"
    return f"check that {mailbox} {verb} to {tracked} (forwarding rule, or the tracked address in copy on the portals)"


def lines(checks: list[Check], day: dt.date | None) -> list[str]:
    """The "checks" section of ``emailtrack status``."""
    if not checks:
        return ["checks     no configuration problem found"]
    when = f" (as of {day.isoformat()}, the last lead stored)" if day else ""
    out = [f"checks     {len(checks)} configuration problem{'s' if len(checks) > 1 else ''}{when}"]
    names = {"unclaimed_address": "unclaimed address", "silent_point_of_sale": "silent point of sale",
             "mailbox_not_tracked": "mailbox leads not tracked", "pending_confirmation": "pending confirmation"}
    for check in checks:
        out.append(f"  {names[check.kind]}: {check.detail}")
        fix = check.fix.splitlines()
        out.append(f"    fix: {fix[0]}")
        out.extend(f"      {line}" for line in fix[1:])
    return out


def frame(checks: list[Check]) -> pd.DataFrame:
    columns = ["kind", "point_of_sale", "address", "count", "detail", "fix", "since", "toml", "nearest_address"]
    return pd.DataFrame([{c: getattr(x, c) for c in columns} for x in checks], columns=columns, dtype=object)
