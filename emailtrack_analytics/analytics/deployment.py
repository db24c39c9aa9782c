"""Deployment status: per point of sale, which ways of sending copies to tracking work.

A network sets tracking up point of sale by point of sale (``emailtrack setup``): a forwarding
rule in Gmail, Outlook on the web or Outlook for Windows, a Redirect in Apple Mail, a Sieve
script, the tracked address in copy on the portals, the multi-distribution system. This module
answers, as of a day, for each point of sale:

- **modes**: each channel its lead copies reached tracking by (``forward``, ``redirect``, ``cc``,
  ``distribution``, ``direct``), *live* when one arrived in the ``WINDOW_DAYS`` days up to that day,
  *since* the start of its current run (a run ends at a gap longer than the window: a rule
  deleted in March and made again in May is live since May), its first and last copy, and what
  the copies' headers say about the rule (``how``: Gmail's X-Forwarded-To, Resent-* of a
  Redirect, a server rule with neither, a client's inline or attached forward);
- **failures**: the forwards to its tracked addresses that failed, by status code, from mail logs
  and from delivery failure reports found in its mailbox (``FAILURE_MEANINGS`` says what each
  code asks of whom: 5.7.520 is Microsoft 365 refusing to forward outside the organisation);
- **alerts** of the deployment itself: a mode that stopped, failures in the window, and forwards
  that leave hours after the portal's email: a rule that only runs while the mail client is open
  (Outlook for Windows, DOMAIN.md: copies stop at night and on weekends, then leave in a batch);
- **checks**: the configuration problems of ``checks.py`` that concern it.

The day defaults to the latest evidence the workspace holds, a copy of any role or a mail log
line (not today: a workspace fed a monthly export would otherwise show every mode as stopped in
the weeks after it); ``status --deployment`` also says when copies were last read, so that a
mailbox read every hour where nothing at all arrives any more shows as such. The SQL is ``analytics/views/085_deployment.sql``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..config.workspace import PointOfSale, Workspace
from . import checks as config_checks
from .api import SqlRunner, frame_rows

WINDOW_DAYS = 30
LATE_AFTER_S = 4 * 3600   # a forward this long after the portal's email waited for the mail client
LATE_SHARE = 0.2          # ...alert when this share of a forward mode's current run did
LATE_MIN_COPIES = 10      # ...out of at least this many copies

STATES = ("live", "stopped", "never")

# what a copy's headers say about the rule that made it (deployment_copies.how)
HOW = {
    "x_forwarded": "Gmail forwarding (X-Forwarded-To)",
    "resent": "Redirect keeping the original (Resent-* headers: Apple Mail, Outlook)",
    "server": "server rule redirecting the original (Microsoft 365, Sieve, the host)",
    "inline": "forward by a mail client (inline)",
    "attachment": "forward by a mail client (as an attachment)",
    "cc": "tracked address in copy on the portal",
    "distribution": "multi-distribution system",
    "direct": "tracked address given to the portal as the contact address",
}

# Status codes of failed forwards: what they mean for a tracked address and what to do. Sources:
# 5.7.520: DOMAIN.md ("Setting up the copies": Microsoft 365 blocks automatic forwarding to
# external addresses by default); 5.1.10: Microsoft 365's NDR for an unknown recipient (the
# shared corpus's flanker/bounce/office365.eml); the others are RFC 3463's classes and subjects.
FAILURE_MEANINGS = {
    "5.7.520": "Microsoft 365 blocks automatic forwarding to external addresses: an administrator must allow "
               "it in the outbound spam filter policy (automatic forwarding), or the rule must send the copy "
               "another way",
    "5.1.1": "the tracked address does not exist at the receiving server: a typo in the rule, or the address "
             "was never created on the tracking domain",
    "5.1.10": "the tracked address does not exist at the receiving server: a typo in the rule, or the address "
              "was never created on the tracking domain",
    "5.2.2": "the tracked mailbox is full: copies are refused until it is emptied",
    "5.7.1": "the receiving server refused the copy by policy (relaying, sender authentication of a forward)",
    "5.4.4": "the tracking domain cannot be reached (no MX or address record)",
    "4.4.4": "the tracking domain cannot be reached for now (no MX or address record): retried",
}
_CLASS_MEANINGS = {
    "5": "the receiving server refused the copy for good",
    "4": "a temporary failure: the sending server retries, and the copy is lost only if it keeps failing",
}


@dataclass(frozen=True)
class Mode:
    channel: str                 # forward | redirect | cc | distribution | direct
    how: str                     # a key of HOW
    live: bool                   # a copy in the window
    recent_copies: int           # lead copies in the window
    copies: int                  # lead copies up to the day
    first_copy: dt.datetime      # UTC
    since: dt.datetime           # the first copy of the current run
    last_copy: dt.datetime
    run_copies: int
    late_copies: int             # forwards of the current run that left LATE_AFTER_S after the original
    median_delay_s: float | None

    @property
    def label(self) -> str:
        return HOW.get(self.how, self.channel)


@dataclass(frozen=True)
class Failure:
    tracked_address: str
    code: str | None             # RFC 3463, e.g. 5.7.520; None when the evidence gives none
    status: str                  # bounced | rejected | deferred
    count: int
    recent: int                  # in the window
    first: dt.datetime
    last: dt.datetime
    evidence: tuple[str, ...]    # log, report

    @property
    def meaning(self) -> str:
        return failure_meaning(self.code)


@dataclass(frozen=True)
class DeploymentAlert:
    kind: str                    # mode_stopped | forward_failures | client_rule_delays
    detail: str                  # one line, English, no personal data
    fix: str
    # the facts ``detail`` is written from, so that a report writes it in its own language
    mode: Mode | None = None
    failure: Failure | None = None


@dataclass
class Deployment:
    point_of_sale: str
    name: str
    tracked_addresses: tuple[str, ...]
    state: str                   # one of STATES
    modes: list[Mode] = field(default_factory=list)
    last_copy: dt.datetime | None = None      # any category
    failures: list[Failure] = field(default_factory=list)
    alerts: list[DeploymentAlert] = field(default_factory=list)
    checks: list[config_checks.Check] = field(default_factory=list)

    @property
    def live_modes(self) -> list[Mode]:
        return [m for m in self.modes if m.live]


@dataclass
class DeploymentStatus:
    as_of: dt.datetime | None    # UTC; None: the workspace holds nothing yet
    window_days: int
    points_of_sale: list[Deployment]
    last_read: dt.datetime | None = None   # UTC: when a copy was last read (ingest)
    # configuration checks no point of sale owns (an unclaimed address, a confirmation sent to one)
    unassigned: list[config_checks.Check] = field(default_factory=list)


def failure_meaning(code: str | None) -> str:
    if not code:
        return "the evidence gives no status code"
    return FAILURE_MEANINGS.get(code) or _CLASS_MEANINGS.get(code[0], "")


def as_of_instant(sql: SqlRunner, day: dt.date | None, workspace: Workspace,
                  within_data: bool = False) -> dt.datetime | None:
    """The instant the status is made as of (UTC, naive like the stored times): the end of ``day``
    in the workspace's zone, else the latest evidence the workspace holds (a copy of any role, a mail
    log line: ``data_horizon``); ``within_data``: the earlier of the two (a report on a month the data
    stops in). None when the workspace holds nothing."""
    last = sql("SELECT last_evidence FROM data_horizon", [])["last_evidence"].iloc[0]
    horizon = None if last is None or pd.isna(last) else pd.Timestamp(last).to_pydatetime()
    if day is None:
        return horizon
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=workspace.tz)
    instant = end.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return min(instant, horizon) if within_data and horizon is not None else instant


def deployment(sql: SqlRunner, workspace: Workspace, day: dt.date | None = None,
               point_of_sale: str | None = None, window_days: int = WINDOW_DAYS,
               found: list[config_checks.Check] | None = None, within_data: bool = False) -> DeploymentStatus:
    """Every point of sale's deployment (or ``point_of_sale``'s), as of ``day`` (``as_of_instant``);
    ``found``: the configuration checks when the caller has them already."""
    as_of = as_of_instant(sql, day, workspace, within_data)
    points = [p for p in workspace.points_of_sale if point_of_sale in (None, p.id)]
    if as_of is None:
        return DeploymentStatus(None, window_days, [Deployment(p.id, p.name, tracked_of(workspace, p), "never")
                                                    for p in points])
    modes = sql("SELECT * FROM deployment_modes($1::TIMESTAMP, $2, $3)", [as_of, window_days, LATE_AFTER_S])
    # the last copy of any category (a confirmation, a notice): evidence that mail arrives at all
    last = sql("SELECT point_of_sale, max(received_at) AS last_copy FROM deployment_copies "
               "WHERE received_at <= $1::TIMESTAMP GROUP BY ALL", [as_of])
    failures = sql("SELECT * FROM forward_failures WHERE failed_at <= $1::TIMESTAMP AND point_of_sale IS NOT NULL",
                   [as_of])
    read = sql("SELECT last_read FROM data_horizon", [])["last_read"].iloc[0]
    window_start = as_of - dt.timedelta(days=window_days)
    problems = config_checks.find_checks(sql, workspace) if found is None else found
    last_by_pos = {str(r.point_of_sale): pd.Timestamp(r.last_copy).to_pydatetime() for r in frame_rows(last)}
    out = []
    for pos in points:
        mine = [_mode(r) for r in frame_rows(modes[modes["point_of_sale"] == pos.id])]
        failed = _failures(failures[failures["point_of_sale"] == pos.id], window_start)
        state = "live" if any(m.live for m in mine) else "stopped" if mine else "never"
        item = Deployment(pos.id, pos.name, tracked_of(workspace, pos), state, mine, last_by_pos.get(pos.id),
                          failed, checks=[c for c in problems if c.point_of_sale == pos.id])
        item.alerts = _alerts(item, as_of)
        out.append(item)
    return DeploymentStatus(as_of, window_days, out, None if pd.isna(read) else _utc(read),
                            [c for c in problems if c.point_of_sale is None] if point_of_sale is None else [])


def tracked_of(workspace: Workspace, pos: PointOfSale) -> tuple[str, ...]:
    """Every tracked address of a point of sale: its own and the per-portal ones."""
    extra = [e.address for e in workspace.tracked_addresses if e.point_of_sale == pos.id]
    return tuple(dict.fromkeys([*pos.tracked_addresses, *extra]))


def _mode(row: object) -> Mode:
    r: Any = row
    delay = None if pd.isna(r.median_delay_s) else float(r.median_delay_s)
    return Mode(str(r.channel), str(r.how), int(r.recent_copies) > 0, int(r.recent_copies), int(r.copies),
                _utc(r.first_copy), _utc(r.since), _utc(r.last_copy), int(r.run_copies), int(r.late_copies), delay)


def _failures(rows: pd.DataFrame, window_start: dt.datetime) -> list[Failure]:
    found = []
    keys = ["tracked_address", "code", "status"]
    rows = rows.assign(code=rows["code"].where(rows["code"].notna(), ""))
    for (address, code, status), group in rows.groupby(keys, sort=True):
        times = pd.to_datetime(group["failed_at"])
        found.append(Failure(str(address), str(code) or None, str(status), len(group),
                             int((times > pd.Timestamp(window_start)).sum()), _utc(times.min()), _utc(times.max()),
                             tuple(sorted(set(group["evidence"])))))
    return sorted(found, key=lambda f: (-f.count, f.tracked_address, f.code or ""))


def _alerts(item: Deployment, as_of: dt.datetime) -> list[DeploymentAlert]:
    alerts = []
    for mode in item.modes:
        if not mode.live:
            days = (as_of - mode.last_copy).days
            alerts.append(DeploymentAlert(
                "mode_stopped", f"{mode.channel} ({mode.label}): no lead copy for {days} days, the last on "
                f"{mode.last_copy.date().isoformat()}",
                "check that the rule still exists and still forwards to the tracked address"
                + ("" if item.live_modes else "; no other mode is live"), mode=mode))
        elif (mode.channel == "forward" and mode.run_copies >= LATE_MIN_COPIES
              and mode.late_copies / mode.run_copies >= LATE_SHARE):
            hours = (mode.median_delay_s or 0) / 3600
            alerts.append(DeploymentAlert(
                "client_rule_delays", f"forward: {mode.late_copies} of {mode.run_copies} copies since "
                f"{mode.since.date().isoformat()} left more than {LATE_AFTER_S // 3600} hours after the portal's "
                f"email (median {hours:.1f} h): forwarded by hand, or by a rule that runs only while the mail client "
                f"is open (Outlook for Windows)",
                "make the rule run on the server (Outlook on the web, Gmail filter, Sieve): see `emailtrack setup`",
                mode=mode))
    for failure in item.failures:
        if failure.recent:
            code = failure.code or "no code"
            alerts.append(DeploymentAlert(
                "forward_failures", f"{failure.recent} forwards to {failure.tracked_address} {failure.status} "
                f"({code}) in the window, the last on {failure.last.date().isoformat()}",
                failure.meaning, failure=failure))
    return alerts


def _utc(value: object) -> dt.datetime:
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return stamp.to_pydatetime()


def lines(status: DeploymentStatus, workspace: Workspace) -> list[str]:
    """``emailtrack status --deployment``."""
    if status.as_of is None:
        return ["deployment nothing stored yet: no mode is live"]
    live = sum(1 for p in status.points_of_sale if p.state == "live")
    out = [f"deployment as of {_local(status.as_of, workspace)} ({workspace.timezone}), the latest evidence "
           f"stored; live = a lead copy in the {status.window_days} days before; {live} of "
           f"{len(status.points_of_sale)} points of sale live"]
    if status.last_read is not None:
        out.append(f"           copies last read {_local(status.last_read, workspace)}"
                   + (f" (the data ends {_local(status.as_of, workspace, date_only=True)}: if mail is read as it "
                      f"arrives, nothing at all came in since)"
                      if status.last_read - status.as_of > dt.timedelta(days=1) else ""))
    for pos in status.points_of_sale:
        addresses = ", ".join(pos.tracked_addresses) or "no tracked address"
        last = f", last copy {_local(pos.last_copy, workspace)}" if pos.last_copy else ""
        out.append(f"{pos.point_of_sale} ({pos.name}): {pos.state.upper()}{last} — {addresses}")
        for mode in pos.modes:
            word = "live   " if mode.live else "stopped"
            out.append(f"  {word} {mode.channel:<12} {mode.label}: {mode.recent_copies} lead "
                       f"cop{'y' if mode.recent_copies == 1 else 'ies'} in "
                       f"{status.window_days} days, since {_local(mode.since, workspace, date_only=True)}, "
                       f"last {_local(mode.last_copy, workspace)}")
        for failure in pos.failures:
            out.append(f"  failed  {failure.tracked_address}: {failure.count} {failure.status} "
                       f"({failure.code or 'no code'}), {failure.recent} in the window, last "
                       f"{_local(failure.last, workspace, date_only=True)} [{', '.join(failure.evidence)}]: "
                       f"{failure.meaning}")
        for alert in pos.alerts:
            out.append(f"  alert   {alert.detail}")
            out.append(f"          fix: {alert.fix}")
        out.extend(_check_lines(pos.checks))
    if status.unassigned:
        out.append("no point of sale:")
        out.extend(_check_lines(status.unassigned))
    return out


def _check_lines(found: list[config_checks.Check]) -> list[str]:
    out = []
    for check in found:
        out.append(f"  check   {check.detail}")
        fix = check.fix.splitlines()  # a confirmation's link and code, the TOML to add: on their own lines
        out.append(f"          fix: {fix[0]}")
        out.extend(f"            {line}" for line in fix[1:])
    return out


def _local(moment: dt.datetime, workspace: Workspace, date_only: bool = False) -> str:
    local = moment.replace(tzinfo=dt.timezone.utc).astimezone(workspace.tz)
    return local.date().isoformat() if date_only else f"{local:%Y-%m-%d %H:%M}"


def as_json(status: DeploymentStatus) -> str:
    """The status as JSON for monitoring (times in UTC, ISO 8601; no personal data: addresses are
    the network's own)."""
    def when(moment: dt.datetime | None) -> str | None:
        return None if moment is None else moment.replace(tzinfo=dt.timezone.utc).isoformat()

    return json.dumps({
        "as_of": when(status.as_of),
        "last_read": when(status.last_read),
        "window_days": status.window_days,
        "points_of_sale": [{
            "point_of_sale": p.point_of_sale, "name": p.name, "tracked_addresses": list(p.tracked_addresses),
            "state": p.state, "last_copy": when(p.last_copy),
            "modes": [{"channel": m.channel, "how": m.how, "label": m.label, "live": m.live,
                       "recent_copies": m.recent_copies, "copies": m.copies, "first_copy": when(m.first_copy),
                       "since": when(m.since), "last_copy": when(m.last_copy), "late_copies": m.late_copies,
                       "run_copies": m.run_copies} for m in p.modes],
            "failures": [{"tracked_address": f.tracked_address, "code": f.code, "status": f.status,
                          "count": f.count, "recent": f.recent, "first": when(f.first), "last": when(f.last),
                          "evidence": list(f.evidence), "meaning": f.meaning} for f in p.failures],
            "alerts": [{"kind": a.kind, "detail": a.detail, "fix": a.fix} for a in p.alerts],
            "checks": [{"kind": c.kind, "detail": c.detail, "fix": c.fix} for c in p.checks],
        } for p in status.points_of_sale],
        "unassigned_checks": [{"kind": c.kind, "detail": c.detail, "fix": c.fix} for c in status.unassigned],
    }, indent=2, ensure_ascii=False)
