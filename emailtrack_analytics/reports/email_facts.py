"""What a report's email shows besides the recorded figures (summary.json): the names of points
of sale and portals, the month's movers, and the tracking health of each point of sale, so that a
fall caused by tracking (a lost CC, a forward stopped, low coverage) never reads as a sales drop.

Every number is read from the views that define it (``Analytics.figures`` for the previous month's
leads per point of sale, the ``coverage`` view, ``analytics.health``): nothing is recomputed here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..analytics import health
from ..analytics.api import Analytics, frame_rows
from ..config.months import shift_month

TOP_MOVERS = 5
# below this share of the leads it is known to have received, a point of sale's tracking is flagged
# (the same line the health report draws in its coverage chart)
COVERAGE_FLAG = health.LOW_COVERAGE


@dataclass(frozen=True)
class TrackingFlag:
    """Why a point of sale's figure of the month is not the whole story."""

    point_of_sale: str
    expected: int = 0               # leads its logs or mailbox export show it received
    tracked: int = 0                # of those, the ones that reached tracking
    cause: str | None = None        # the most frequent likely cause of the missing ones (health.CAUSES)
    silent_since: dt.date | None = None  # a silence alert: no lead tracked since this day
    # silent channels: (portal name, since) of each silence alert on one of its portals
    silent_portals: tuple[tuple[str, dt.date], ...] = ()

    @property
    def missing(self) -> int:
        return self.expected - self.tracked

    @property
    def coverage(self) -> float | None:
        return self.tracked / self.expected if self.expected else None


@dataclass(frozen=True)
class Mover:
    point_of_sale: str
    leads: int
    previous: int

    @property
    def delta(self) -> int:
        return self.leads - self.previous

    @property
    def change(self) -> float | None:
        return (self.leads - self.previous) / self.previous if self.previous else None


@dataclass
class EmailFacts:
    point_of_sale_names: dict[str, str] = field(default_factory=dict)
    portal_names: dict[str, str] = field(default_factory=dict)
    rises: list[Mover] = field(default_factory=list)
    falls: list[Mover] = field(default_factory=list)
    flags: dict[str, TrackingFlag] = field(default_factory=dict)
    # the month's alerts as structured facts (the summary keeps their English detail only)
    alerts: list[health.Alert] = field(default_factory=list)

    def pos_name(self, point_of_sale: str | None) -> str:
        return self.point_of_sale_names.get(point_of_sale or "", point_of_sale or "")

    def portal_name(self, portal: str | None) -> str | None:
        """A portal's display name; None for an unknown portal ('')."""
        return self.portal_names.get(portal, portal) if portal else None


def read_facts(data: Analytics, kind: str, month: str, figures: dict[str, Any],
               point_of_sale: str | None = None) -> EmailFacts:
    """The facts the email of report ``kind`` shows, ``figures`` being its recorded summary."""
    portals = data.sql("SELECT id, name FROM portal_catalogue")
    facts = EmailFacts({p.id: p.name for p in data.workspace.points_of_sale},
                       dict(zip(portals["id"], portals["name"], strict=True)))
    found = health.alerts(data, month)
    if point_of_sale:
        found = [a for a in found if a.point_of_sale in (None, point_of_sale)]
    facts.alerts = found
    facts.flags = tracking_flags(data, month, found, point_of_sale)
    if kind == "monthly" and not point_of_sale:
        facts.rises, facts.falls = movers(data, month, figures.get("leads_by_point_of_sale") or {})
    return facts


def movers(data: Analytics, month: str, current: dict[str, int]) -> tuple[list[Mover], list[Mover]]:
    """The largest rises and falls of point-of-sale leads against the previous month: ``current``
    is the month's recorded figure, the previous month's is read from the same view."""
    previous = data.figures(shift_month(month, -1))["leads_by_point_of_sale"]
    ids = [p.id for p in data.workspace.points_of_sale]
    ids += sorted((set(current) | set(previous)) - set(ids))
    moved = [Mover(p, int(current.get(p, 0)), int(previous.get(p, 0))) for p in ids]
    moved = [m for m in moved if m.delta]
    rises = sorted((m for m in moved if m.delta > 0), key=lambda m: (-m.delta, m.point_of_sale))
    falls = sorted((m for m in moved if m.delta < 0), key=lambda m: (m.delta, m.point_of_sale))
    return rises[:TOP_MOVERS], falls[:TOP_MOVERS]


def tracking_flags(data: Analytics, month: str, alerts: list[health.Alert],
                   point_of_sale: str | None = None, causes: bool = True) -> dict[str, TrackingFlag]:
    """Points of sale whose tracking failed in ``month``: coverage below ``COVERAGE_FLAG`` (with the
    likely cause of the missing leads), silent (a silence alert on the whole point of sale), or with
    a silent channel (a silence alert on one of its portals: a lost CC, a portal's forward). A drop
    alert is not a flag: a fall in business looks just like it, and the health report shows it."""
    where, params = "month = ? AND expected > 0", [month]
    if point_of_sale:
        where += " AND point_of_sale = ?"
        params.append(point_of_sale)
    coverage = data.sql(f"SELECT point_of_sale, expected, tracked FROM coverage WHERE {where}", params)
    low = {str(r.point_of_sale): (int(r.expected), int(r.tracked)) for r in frame_rows(coverage)
           if int(r.tracked) < COVERAGE_FLAG * int(r.expected)}
    silent = {a.point_of_sale: a.since for a in alerts
              if a.kind == "silence" and a.portal is None and a.point_of_sale
              and (not point_of_sale or a.point_of_sale == point_of_sale)}
    channels: dict[str, list[tuple[str, dt.date]]] = {}
    for alert in alerts:
        if alert.kind == "silence" and alert.portal and alert.point_of_sale and alert.since is not None \
                and (not point_of_sale or alert.point_of_sale == point_of_sale):
            channels.setdefault(alert.point_of_sale, []).append((alert.portal, alert.since))
    if not low and not silent and not channels:
        return {}
    if channels:
        portals = data.sql("SELECT id, name FROM portal_catalogue")
        names = dict(zip(portals["id"], portals["name"], strict=True))
        channels = {pos: [(str(names.get(p, p)), since) for p, since in pairs] for pos, pairs in channels.items()}
    likely: dict[str, str] = {}
    if low and causes:
        missing = health.missing_leads(data, month, point_of_sale)
        for pos, rows in missing.groupby("point_of_sale"):
            counts = rows["cause"].value_counts()
            # the most frequent cause; ties go to the first in health.CAUSES' order
            top = max(counts.index, key=lambda c: (counts[c], -_rank(str(c))))
            likely[str(pos)] = str(top)
    flags = {}
    for pos in sorted(set(low) | set(silent) | set(channels)):
        expected, tracked = low.get(pos, (0, 0))
        flags[pos] = TrackingFlag(pos, expected, tracked, likely.get(pos), silent.get(pos),
                                  tuple(sorted(channels.get(pos, []))))
    return flags


def _rank(cause: str) -> int:
    return health.CAUSES.index(cause) if cause in health.CAUSES else len(health.CAUSES)
