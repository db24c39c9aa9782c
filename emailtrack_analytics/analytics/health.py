"""Tracking health: what went missing, why, and which volumes moved in ways history makes unlikely.

Two questions, answered from the workspace's views:

- **Missing leads and their likely cause** (``missing_leads``): leads a point of sale is known to
  have received (mail logs, its own mailbox export) that never reached tracking, each with the
  most likely reason: the forward bounced or stayed deferred (the log says so), forwarding
  stopped (nothing tracked after a date), the mailbox never forwards, the portal stopped
  copying the tracked address (CC set-up absent), or a client-side rule that only runs while
  the mail client is open (misses at nights and weekends).
- **Alerts** (``alerts``): a point of sale whose coverage (leads received, by its mail logs or
  mailbox export, against leads tracked) is below ``LOW_COVERAGE`` with at least
  ``LOW_COVERAGE_MIN_MISSING`` leads missing; a point of sale, or a point of sale and portal,
  silent for longer than its own share of the network's volume makes plausible; a sudden drop
  against the trailing three months; a spike of messages from a portal that match none of its templates;
  and an unknown sender whose messages look like leads (a portal missing from the catalogue).

Baselines compare a point of sale with the network over the same days: the network's own
volume carries the weekday and seasonal pattern, so a quiet August or a Sunday is not an alert,
and naturally quiet pairs (a handful of leads a month) never are.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..config.months import month_bounds, shift_month
from .api import Analytics, SqlRunner, frame_rows

SILENCE_MIN_DAYS = 3
SILENCE_EXPECTED = 8.0          # alert when at least this many leads were expected (P(0) < 0.0004)
SILENCE_EXPECTED_PAIR = 15.0    # a portal's leads come in bursts (campaigns, listings): ask for more
SILENCE_MIN_BASELINE = 10       # ...from a history of at least this many leads (quiet pairs never alert)
BASELINE_DAYS = 56              # the share of the network a point of sale had before its silence
DROP_RATIO = 0.5                # below half of what the trailing quarter and the network predict...
DROP_PROBABILITY = 0.001        # ...and that unlikely under a Poisson law
TEMPLATE_SPIKE_MIN = 10
TEMPLATE_SPIKE_EXAMPLES = 3     # example subjects shown as a template spike's evidence
UNKNOWN_SENDER_MIN = 10
OFFICE_HOURS = (dt.time(8, 30), dt.time(19, 0))
# below this share of the leads it is known to have received, a point of sale's tracking failed (the
# line reports draw: reports.email_facts.COVERAGE_FLAG)...
LOW_COVERAGE = 0.9
# ...as an alert once this many leads are missing: one lost lead of three is a flag, not yet an alert
LOW_COVERAGE_MIN_MISSING = 3

CAUSES = ("forward_bounced", "forward_deferred", "forwarding_stopped", "never_forwards", "cc_absent",
          "client_rule_offline", "unknown")


@dataclass(frozen=True)
class Alert:
    kind: str                  # low_coverage | silence | drop | template_spike | unknown_portal_sender
    month: str
    point_of_sale: str | None
    portal: str | None
    detail: str
    observed: float | None = None  # low_coverage: leads tracked
    expected: float | None = None  # low_coverage: leads received (mail logs, mailbox export)
    probability: float | None = None
    since: dt.date | None = None
    examples: tuple[str, ...] = ()  # template_spike: subjects, prospects' details removed (example_subjects)
    sender: str | None = None       # unknown_portal_sender: the sender's domain (text from emails)


def poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean)."""
    if mean <= 0:
        return 1.0
    term = total = math.exp(-mean)
    for i in range(1, k + 1):
        term *= mean / i
        total += term
    return min(1.0, total)


# --------------------------------------------------------------------------- missing leads

def _office_hours(local: pd.Timestamp) -> bool:
    return local.weekday() < 5 and OFFICE_HOURS[0] <= local.time() < OFFICE_HOURS[1]


def missing_leads(data: Analytics, month: str, point_of_sale: str | None = None) -> pd.DataFrame:
    """Leads received but not tracked in ``month``, with their likely cause (no personal data)."""
    tz = data.workspace.tz
    where, params = "NOT tracked AND month = ?", [month]
    if point_of_sale:
        where += " AND point_of_sale = ?"
        params.append(point_of_sale)
    missing = data.sql(f"SELECT point_of_sale, month, received_at, portal, message_id, evidence "
                       f"FROM expected_lead_status WHERE {where} ORDER BY point_of_sale, received_at", params)
    if missing.empty:
        return missing.assign(cause=pd.Series(dtype=str), local_time=pd.Series(dtype=object))
    missing["local_time"] = pd.to_datetime(missing["received_at"]).dt.tz_localize("UTC").dt.tz_convert(tz)
    tracked = data.sql("SELECT point_of_sale, portal, channel, received_at FROM leads WHERE point_of_sale IS NOT NULL")
    tracked["local_time"] = pd.to_datetime(tracked["received_at"]).dt.tz_localize("UTC").dt.tz_convert(tz)
    last_tracked = tracked.groupby("point_of_sale")["received_at"].max()
    failed = data.sql(
        "SELECT point_of_sale, message_id, event_time, status FROM forward_events "
        "WHERE address_kind = 'tracked' AND status IN ('bounced', 'deferred', 'sent') AND point_of_sale IS NOT NULL")
    cc_share = _cc_share(tracked)
    # the night-and-weekend pattern shows over the whole history, not a single month
    every_miss = data.sql("SELECT point_of_sale, received_at FROM expected_lead_status WHERE NOT tracked")
    every_miss["local_time"] = pd.to_datetime(every_miss["received_at"]).dt.tz_localize("UTC").dt.tz_convert(tz)
    offline = _offline_pattern(every_miss, tracked)
    # each point of sale's forward legs, grouped once (not filtered again for every missing lead)
    legs = {str(pos): rows for pos, rows in failed.groupby("point_of_sale")}
    empty = failed.iloc[0:0]
    causes = [_cause(row, last_tracked, legs.get(str(row.point_of_sale), empty), cc_share, offline)
              for row in frame_rows(missing)]
    missing["cause"] = causes
    return missing.drop(columns=["received_at"])


def _cc_share(tracked: pd.DataFrame) -> dict[Hashable, float]:
    """(point of sale, portal) -> share of its tracked leads that came by CC."""
    if tracked.empty:
        return {}
    grouped = tracked.assign(cc=tracked["channel"] == "cc").groupby(["point_of_sale", "portal"])["cc"]
    # mean and count of one grouping: the same groups in the same order
    return {key: share for (key, share), count in zip(grouped.mean().items(), grouped.count(), strict=True)
            if count >= 5}


def _offline_pattern(missing: pd.DataFrame, tracked: pd.DataFrame) -> set[str]:
    """Points of sale whose misses fall outside office hours while their tracked leads do not:
    a client-side rule that only runs while the mail client is open."""
    found: set[str] = set()
    for pos, rows in missing.groupby("point_of_sale"):
        if len(rows) < 5:
            continue
        off = sum(not _office_hours(t) for t in rows["local_time"])
        # the rule's own copies: forwards by the mail client (CC or server copies come any time)
        history = tracked[(tracked["point_of_sale"] == pos) & (tracked["channel"] == "forward")]
        in_hours = sum(_office_hours(t) for t in history["local_time"])
        if off / len(rows) >= 0.8 and len(history) >= 10 and in_hours / len(history) >= 0.9:
            found.add(str(pos))
    return found


def _cause(row: Any, last_tracked: pd.Series[Any], legs: pd.DataFrame, cc_share: dict[Hashable, float],
           offline: set[str]) -> str:
    """The likely cause of one missing lead; ``legs`` are its point of sale's forward legs."""
    pos, when = row.point_of_sale, pd.Timestamp(row.received_at)
    if not legs.empty:
        same = legs[legs["message_id"] == row.message_id] if row.message_id else legs.iloc[0:0]
        if same.empty:  # a client forward has a new Message-ID: look at the hours after the lead
            window = legs[(legs["event_time"] >= when) & (legs["event_time"] <= when + pd.Timedelta(hours=12))]
            same = window
        statuses = set(same["status"])
        if "bounced" in statuses and "sent" not in statuses:
            return "forward_bounced"
        if "deferred" in statuses and "sent" not in statuses:
            return "forward_deferred"
    last = last_tracked.get(pos)
    if last is None or pd.isna(last):
        return "never_forwards"
    if pos in offline and not _office_hours(row.local_time):
        return "client_rule_offline"  # also after its last tracked lead: the rule will run again
    if when > pd.Timestamp(last):
        return "forwarding_stopped"
    if row.portal and cc_share.get((pos, row.portal), 0) >= 0.5:
        return "cc_absent"
    return "unknown"


# --------------------------------------------------------------------------- alerts

def daily_leads(sql: SqlRunner) -> pd.DataFrame:
    """Point-of-sale leads per point of sale, portal and local day; ``sql(query, params)`` runs a query."""
    daily = sql("SELECT point_of_sale, portal, local_date, count(*) AS leads FROM leads "
                "WHERE point_of_sale IS NOT NULL GROUP BY ALL", [])
    daily["local_date"] = pd.to_datetime(daily["local_date"]).dt.date
    return daily


def silent_points_of_sale(daily: pd.DataFrame, as_of: dt.date) -> list[Alert]:
    """The points of sale (not their portals) silent up to ``as_of`` for longer than their own
    history and the network's trend make plausible (the same test as the silence alert)."""
    found = _silences(daily, as_of.strftime("%Y-%m"), None, as_of)
    return [a for a in found if a.portal is None]


def silences(data: Analytics, month: str) -> list[Alert]:
    """The silence alerts of ``month`` alone (points of sale, and their portals): the cheap part of
    ``alerts``, enough to flag a point of sale's tracking beside its figures."""
    start, end = month_bounds(month)
    return _silences(daily_leads(data.sql), month, start, min(end - dt.timedelta(days=1), dt.date.today()))


def alerts(data: Analytics, month: str) -> list[Alert]:
    """Every alert for ``month`` (as of its last day, or today if the month is not over)."""
    start, _ = month_bounds(month)
    found = silences(data, month)
    # a point of sale silent since before the month: its drop says nothing more
    silent = {a.point_of_sale for a in found if a.portal is None and a.since is not None and a.since < start}
    found += [a for a in _drops(data, month) if a.point_of_sale not in silent]
    # a silence on the whole point of sale already says that nothing reaches tracking
    explained = {a.point_of_sale for a in found if a.kind == "silence" and a.portal is None}
    found = [a for a in _low_coverage(data, month) if a.point_of_sale not in explained] + found
    found += _template_spikes(data, month)
    found += _unknown_senders(data, month)
    return found


def _low_coverage(data: Analytics, month: str) -> list[Alert]:
    """Points of sale whose leads received (mail logs, mailbox export: the ``coverage`` view) did not
    reach tracking: measured, not inferred, so no history is needed; the lowest coverage first."""
    rows = data.sql("SELECT point_of_sale, expected, tracked FROM coverage "
                    "WHERE month = ? AND expected > 0 AND point_of_sale IS NOT NULL "
                    "ORDER BY tracked / expected, point_of_sale", [month])
    found = []
    for row in frame_rows(rows):
        expected, tracked = int(row.expected), int(row.tracked)
        if tracked < LOW_COVERAGE * expected and expected - tracked >= LOW_COVERAGE_MIN_MISSING:
            found.append(Alert("low_coverage", month, str(row.point_of_sale), None,
                               f"{row.point_of_sale}: {tracked} of the {expected} leads its mail logs or mailbox "
                               f"export show reached tracking ({tracked / expected:.0%} coverage)",
                               observed=tracked, expected=expected))
    return found


def _silences(daily: pd.DataFrame, month: str, start: dt.date | None, as_of: dt.date) -> list[Alert]:
    found = []
    network_day = daily.groupby("local_date")["leads"].sum()
    for keys, scope in ((["point_of_sale"], "point_of_sale"), (["point_of_sale", "portal"], "pair")):
        network = network_day
        for key, rows in daily.groupby(keys):
            # str(): the keys are the point of sale's and the portal's ids (groupby drops NULLs)
            pos, portal = (str(key[0]), None) if scope == "point_of_sale" else (str(key[0]), str(key[1]))
            if portal is not None:
                network = daily[daily["portal"] == portal].groupby("local_date")["leads"].sum()
            alert = _silence(rows, network, pos, portal, month, start, as_of)
            if alert:
                found.append(alert)
    # a silent point of sale explains its silent pairs
    silent = {a.point_of_sale for a in found if a.portal is None}
    return [a for a in found if a.portal is None or a.point_of_sale not in silent]


def _silence(rows: pd.DataFrame, network: pd.Series[Any], pos: str, portal: str | None, month: str,
             start: dt.date | None, as_of: dt.date) -> Alert | None:
    """A silence its own history makes unlikely: its lead rate over the 8 weeks before its last
    lead, times the days since, scaled by how the rest of the network moved meanwhile (weekdays,
    holidays, season)."""
    before = rows[rows["local_date"] <= as_of]
    if before.empty:
        return None
    last = before["local_date"].max()
    days_silent = (as_of - last).days
    if days_silent < SILENCE_MIN_DAYS:
        return None
    baseline_start = last - dt.timedelta(days=BASELINE_DAYS)
    own_days = before[(before["local_date"] > baseline_start) & (before["local_date"] <= last)]
    own = own_days["leads"].sum()
    if own < SILENCE_MIN_BASELINE:
        return None
    own_by_day = own_days.groupby("local_date")["leads"].sum()
    others = network.sub(own_by_day, fill_value=0)
    others_base = others[(others.index > baseline_start) & (others.index <= last)].sum() / BASELINE_DAYS
    others_during = others[(others.index > last) & (others.index <= as_of)].sum() / days_silent
    factor = others_during / others_base if others_base * BASELINE_DAYS >= 30 else 1.0
    expected = own / BASELINE_DAYS * days_silent * factor
    if expected < (SILENCE_EXPECTED if portal is None else SILENCE_EXPECTED_PAIR):
        return None
    scope = f"{pos}" + (f" × {portal}" if portal else "")
    return Alert("silence", month, pos, portal,
                 f"{scope}: no lead for {days_silent} days since {last.isoformat()}, "
                 f"{expected:.0f} expected from its own history and the network's trend",
                 observed=0, expected=round(expected, 1), probability=math.exp(-expected), since=last)


def _drops(data: Analytics, month: str) -> list[Alert]:
    """Points of sale far below what their trailing quarter and the network's trend predict,
    beyond their own usual month-to-month swings."""
    counts = data.sql("SELECT month, point_of_sale, count(*) AS leads FROM leads "
                      "WHERE point_of_sale IS NOT NULL AND month <= ? GROUP BY ALL", [month])
    if counts.empty:
        return []
    table = counts.pivot_table(index="point_of_sale", columns="month", values="leads", aggfunc="sum", fill_value=0)
    months = sorted(table.columns)
    if month not in months:
        return []
    found = []
    for pos_id, row in table.iterrows():
        pos = str(pos_id)
        ratios = [r for m in months[3:] if (r := _ratio(table, row, months, m)) is not None]
        now = _ratio(table, row, months, month)
        if now is None:
            continue
        ratio, observed, expected = now
        probability = poisson_cdf(observed, expected)
        past = [math.log(max(r[0], 0.05)) for r in ratios[:-1]]
        if len(past) >= 4:
            mean = sum(past) / len(past)
            spread = max(0.15, (sum((x - mean) ** 2 for x in past) / (len(past) - 1)) ** 0.5)
            unusual = (math.log(max(ratio, 0.05)) - mean) / spread < -3
        else:
            unusual = ratio < 0.4
        if ratio < DROP_RATIO and probability < DROP_PROBABILITY and unusual:
            found.append(Alert("drop", month, pos, None,
                               f"{pos}: {observed} leads against {expected:.0f} expected from its last three "
                               f"months and the network's trend", observed=observed, expected=round(expected, 1),
                               probability=probability))
    return found


def _ratio(table: pd.DataFrame, row: pd.Series[Any], months: list[str], month: str
           ) -> tuple[float, int, float] | None:
    """(observed / expected, observed, expected) leads of one point of sale in ``month``, the
    expectation being its trailing three months scaled by the network's change; None without
    enough history."""
    trailing_months = [shift_month(month, -i) for i in (3, 2, 1)]
    if any(m not in months for m in trailing_months):
        return None
    trailing = row[trailing_months].mean()
    network_before = table[trailing_months].sum(axis=1).sum() / 3
    if trailing < 10 or network_before <= 0:
        return None
    expected = trailing * table[month].sum() / network_before
    observed = int(row[month])
    ratio = observed / expected if expected else 1.0
    return ratio, observed, expected


def _template_spikes(data: Analytics, month: str) -> list[Alert]:
    months = [shift_month(month, -i) for i in (3, 2, 1)]
    counts = data.sql("SELECT month, portal, count(*) AS n FROM messages WHERE list_contains(flags, "
                      "'unrecognised_template') AND month IN (?, ?, ?, ?) GROUP BY ALL", months + [month])
    found = []
    for portal_id, rows in counts.groupby("portal"):
        portal = str(portal_id)
        now = int(rows.loc[rows["month"] == month, "n"].sum())
        before = rows.loc[rows["month"].isin(months), "n"].sum() / 3
        if now >= TEMPLATE_SPIKE_MIN and now >= 3 * (before + 1):
            found.append(Alert("template_spike", month, None, portal,
                               f"{portal}: {now} messages match none of its templates (about {before:.0f} a month "
                               f"before): the portal may have changed its format", observed=now,
                               expected=round(before, 1), examples=example_subjects(data, month, portal)))
    return found


# a prospect's details that without_details() did not know: addresses (the domain is kept,
# portal analysis needs it) and phone numbers written in the subject
_PSEUDONYM = re.compile(r"\bp-[0-9a-f]{16}\b")
_ADDRESS = re.compile(r"[\w.+'-]+@(?=[\w-]+(?:\.[\w-]+)+)", re.UNICODE)
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .]?\d(?:[ .-]?\d{1,4}){3,5}|0\d(?:[ .-]?\d{2}){4}"
                    r"|00\d{2}[ .]?\d(?:[ .-]?\d{1,4}){3,5})(?!\d)")
HIDDEN = "…"


def without_personal_data(text: str) -> str:
    """A subject already passed through the SQL macro ``without_details`` (the message's own
    prospect's name, email and phone replaced by pseudonyms) with those pseudonyms, and any
    other address or phone number, replaced by "…": "Contact de … (…@gmail.com)"."""
    text = _PSEUDONYM.sub(HIDDEN, text)
    text = _ADDRESS.sub(HIDDEN + "@", text)
    return _PHONE.sub(HIDDEN, text)


def example_subjects(data: Analytics, month: str, portal: str, limit: int = TEMPLATE_SPIKE_EXAMPLES) -> tuple[str, ...]:
    """Up to ``limit`` subjects of ``portal``'s messages of ``month`` that match none of its
    templates, without personal data: the prospect's details known for each message removed
    by the SQL macro ``without_details`` (as the view ``messages_pseudonymous`` shows them),
    then any other address or phone number. The most frequent first (a new template repeats once the prospect is taken
    out), then the most recent. Plain text: whoever shows them escapes them."""
    rows = data.sql(
        "SELECT subject, received_at FROM messages_pseudonymous "
        "WHERE list_contains(flags, 'unrecognised_template') AND month = ? AND portal = ? "
        "AND subject IS NOT NULL", [month, portal])
    counts: Counter[str] = Counter()
    latest: dict[str, Any] = {}  # subject -> its latest received_at
    for subject, received_at in zip(rows["subject"], rows["received_at"], strict=True):
        text = " ".join(without_personal_data(str(subject)).split())
        if not text:
            continue
        counts[text] += 1
        latest[text] = max(latest.get(text, received_at), received_at)
    ranked = sorted(counts, key=lambda s: s)
    ranked.sort(key=lambda s: latest[s], reverse=True)
    ranked.sort(key=lambda s: counts[s], reverse=True)
    return tuple(ranked[:limit])


def _unknown_senders(data: Analytics, month: str) -> list[Alert]:
    rows = data.sql(
        "SELECT split_part(m.sender, '@', 2) AS domain, count(*) AS copies, "
        "count(DISTINCT m.point_of_sale) AS points_of_sale, avg(s.has_contact::INTEGER) AS with_contact "
        "FROM messages m JOIN copy_facts s USING (message_key) "
        "WHERE m.month = ? AND m.portal IS NULL AND m.sender IS NOT NULL AND m.category = 'other' "
        "GROUP BY ALL", [month])
    found = []
    for row in frame_rows(rows):
        if row.copies >= UNKNOWN_SENDER_MIN and row.points_of_sale >= 2 and (row.with_contact or 0) >= 0.5:
            found.append(Alert("unknown_portal_sender", month, None, None,
                               f"{row.domain}: {row.copies} messages to {row.points_of_sale} points of sale look "
                               f"like leads (prospect contact details) from a sender no portal rule knows: add it "
                               f"to [[portals]]", observed=row.copies, sender=str(row.domain)))
    return found


def alerts_frame(found: list[Alert]) -> pd.DataFrame:
    columns = ["kind", "month", "point_of_sale", "portal", "detail", "observed", "expected", "probability", "since",
               "examples"]
    return pd.DataFrame([{c: getattr(a, c) for c in columns} for a in found], columns=columns, dtype=object)
