"""Compare a workspace's attribution with a ground-truth file (the sample's, or one you label).

``compare(workspace)`` reads ``data/sample-truth/messages.csv`` and the stored
attribution, and reports agreement per field: the accuracy figures quoted for the sample.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..attribution.refresh import refresh_attribution
from ..config.workspace import Workspace
from ..store.db import connect

FIELDS = ("point_of_sale", "portal", "category", "channel")
Cell = tuple[str, str, str]  # (month, point of sale, portal) of a lead count
DETAIL_FIELDS = ("name", "email", "email_is_relay", "phone", "listing_reference")


@dataclass
class Comparison:
    messages: int = 0                      # ground-truth rows expected to be stored
    found: int = 0                         # of those, found in the database by source
    agree: Counter[str] = field(default_factory=Counter)
    all_fields: int = 0                    # rows right on every field
    quarantine_expected: int = 0
    quarantine_right: int = 0
    mistakes: list[tuple[str, str, str, str]] = field(default_factory=list)  # source, field, expected, got
    lead_cells: int = 0                    # (month, point of sale, portal) cells with leads, expected
    lead_cells_equal: int = 0              # of those (and any extra found), cells with the same count
    lead_count_differences: dict[Cell, tuple[int, int]] = field(default_factory=dict)  # cell -> (expected, got)
    leads_expected: int = 0                # lead x point-of-sale rows
    leads_found: int = 0
    leads_split: int = 0                   # ground-truth leads whose copies got several lead keys
    leads_merged: int = 0                  # lead keys shared by several ground-truth leads
    detail_copies: int = 0                 # lead copies compared on their prospect details
    detail_agree: Counter[str] = field(default_factory=Counter)
    detail_mistakes: list[tuple[str, str, str, str]] = field(default_factory=list)

    def accuracy(self, name: str | None = None) -> float:
        if not self.messages:
            return 0.0
        return (self.all_fields if name is None else self.agree[name]) / self.messages

    def lines(self) -> list[str]:
        out = [f"messages {self.messages}, found {self.found}, all fields right {self.accuracy():.4%}"]
        out += [f"  {name:<14} {self.accuracy(name):.4%}" for name in FIELDS]
        out.append(f"quarantine {self.quarantine_right}/{self.quarantine_expected} as expected")
        out.append(f"leads per (month, point of sale, portal): {self.lead_cells_equal}/{self.lead_cells} cells "
                   f"equal; rows expected {self.leads_expected}, found {self.leads_found}")
        out.append(f"lead identity: {self.leads_split} leads split, {self.leads_merged} lead keys merging leads")
        if self.detail_copies:
            out.append("lead details over %d copies: %s" % (self.detail_copies, ", ".join(
                f"{name} {self.detail_agree[name] / self.detail_copies:.2%}" for name in DETAIL_FIELDS)))
        return out


def compare(workspace: Workspace, truth: Path | None = None) -> Comparison:
    truth = truth or workspace.root / "data" / "sample-truth" / "messages.csv"
    with open(truth, encoding="utf-8", newline="") as handle:
        expected = list(csv.DictReader(handle))
    con = connect(workspace.database)
    try:
        refresh_attribution(con, workspace)
        got = {row[0]: row[1:5] for row in con.execute(
            "SELECT s.source, a.point_of_sale, a.portal, a.category, a.channel, a.lead_key "
            "FROM sightings s JOIN attribution a USING (message_key)").fetchall()}
        keys = dict(con.execute("SELECT s.source, a.lead_key FROM sightings s "
                                "JOIN attribution a USING (message_key) WHERE a.category = 'lead'").fetchall())
        quarantined = dict(con.execute("SELECT source, reason FROM quarantine_items").fetchall())
        details = {row[0]: row[1:] for row in con.execute(
            "SELECT s.source, d.name, d.email, d.email_is_relay, d.phone, d.listing_reference "
            "FROM sightings s LEFT JOIN lead_details d USING (message_key)").fetchall()}
        found_cells = {(m, p or "", q or ""): n for m, p, q, n in con.execute(
            "SELECT month, point_of_sale, portal, count(*) FROM leads GROUP BY ALL").fetchall()}
    finally:
        con.close()
    result = Comparison()
    for row in expected:
        source = row["source"]
        if row["expected_quarantine"]:
            result.quarantine_expected += 1
            result.quarantine_right += quarantined.get(source) == row["expected_quarantine"]
            continue
        result.messages += 1
        values = got.get(source)
        if values is None:
            result.mistakes.append((source, "stored", "yes", quarantined.get(source, "missing")))
            continue
        result.found += 1
        right = True
        for name, value in zip(FIELDS, values, strict=True):
            if (value or "") == row[name]:
                result.agree[name] += 1
            else:
                right = False
                result.mistakes.append((source, name, row[name], value or ""))
        result.all_fields += right
    _compare_lead_counts(expected, found_cells, result)
    _compare_lead_identity(expected, keys, result)
    leads_file = truth.parent / "leads.csv"
    if leads_file.exists():
        with open(leads_file, encoding="utf-8", newline="") as handle:
            _compare_details(expected, {r["lead_id"]: r for r in csv.DictReader(handle)}, details, result)
    return result


def _detail_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _compare_details(expected: list[dict[str, str]], leads: dict[str, dict[str, str]], found: dict[str, tuple[Any, ...]],
                     result: Comparison) -> None:
    for row in expected:
        truth = leads.get(row["lead_id"])
        if not truth or row["expected_quarantine"] or row["source"] not in found:
            continue
        result.detail_copies += 1
        for name, value in zip(DETAIL_FIELDS, found[row["source"]], strict=True):
            got = _detail_text(value if value is not None or name != "email_is_relay" else False)
            if got == truth[name]:
                result.detail_agree[name] += 1
            else:
                result.detail_mistakes.append((row["source"], name, truth[name], got))


def _compare_lead_identity(expected: list[dict[str, str]], keys: dict[str, str], result: Comparison) -> None:
    by_lead: dict[str, set[str]] = {}
    by_key: dict[str, set[str]] = {}
    for row in expected:
        key = keys.get(row["source"])
        if row["lead_id"] and key:
            by_lead.setdefault(row["lead_id"], set()).add(key)
            by_key.setdefault(key, set()).add(row["lead_id"])
    result.leads_split = sum(1 for found in by_lead.values() if len(found) > 1)
    result.leads_merged = sum(1 for found in by_key.values() if len(found) > 1)


def _compare_lead_counts(expected: list[dict[str, str]], found: dict[Cell, int], result: Comparison) -> None:
    pairs: dict[tuple[str, str], tuple[str, str]] = {}
    for row in expected:
        if row["expected_quarantine"] or not row["lead_id"]:
            continue
        points = [p for p in row["distribution_points"].split(";") if p] or [row["point_of_sale"]]
        for point in points:
            pairs.setdefault((row["lead_id"], point), (row["lead_month"], row["portal"]))
    cells: Counter[Cell] = Counter()
    for (_, point), (month, portal) in pairs.items():
        cells[(month, point, portal)] += 1
    result.leads_expected = sum(cells.values())
    result.leads_found = sum(found.values())
    result.lead_cells = len(cells)
    for cell in set(cells) | set(found):
        if cells.get(cell, 0) == found.get(cell, 0):
            result.lead_cells_equal += cell in cells
        else:
            result.lead_count_differences[cell] = (cells.get(cell, 0), found.get(cell, 0))


@dataclass
class HealthComparison:
    coverage_cells: int = 0
    coverage_equal: int = 0
    coverage_differences: dict[tuple[str, str], tuple[tuple[int, int], tuple[int, int]]] = field(
        default_factory=dict)   # (month, pos) -> (expected truth, found)
    missing_expected: int = 0
    causes_right: int = 0
    cause_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (truth, found) -> n
    # (kind, point of sale, portal, month)
    alerts_expected: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    alerts_found: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    alerts_missed: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    alerts_on_healthy: list[tuple[str, str, str | None, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"coverage cells equal: {self.coverage_equal}/{self.coverage_cells}",
                f"missing-lead causes right: {self.causes_right}/{self.missing_expected}",
                f"alerts: {len(self.alerts_expected) - len(self.alerts_missed)}/{len(self.alerts_expected)} planted "
                f"found, {len(self.alerts_on_healthy)} on healthy points of sale"]


def compare_health(workspace: Workspace, truth_dir: Path | None = None) -> HealthComparison:
    """The product's coverage, missing-lead causes and alerts against the sample's ground truth."""
    from ..analytics import health
    from ..analytics.api import Analytics, frame_rows

    truth_dir = truth_dir or workspace.root / "data" / "sample-truth"
    result = HealthComparison()
    with open(truth_dir / "coverage.csv", encoding="utf-8", newline="") as handle:
        truth = {(r["month"], r["point_of_sale"]): (int(r["expected"]), int(r["tracked"]))
                 for r in csv.DictReader(handle)}
    with open(truth_dir / "missing.csv", encoding="utf-8", newline="") as handle:
        missing = list(csv.DictReader(handle))
    with open(truth_dir / "alerts.csv", encoding="utf-8", newline="") as handle:
        planted = list(csv.DictReader(handle))
    facts = __import__("json").loads((truth_dir / "sample_facts.json").read_text(encoding="utf-8"))
    troubled = {f["point_of_sale"] for f in facts.get("failures", {}).values()} \
        | {a["point_of_sale"] for a in planted if a["point_of_sale"]}
    with Analytics(workspace) as data:
        found = {(r.month, r.point_of_sale): (int(r.expected), int(r.tracked))
                 for r in frame_rows(data.sql("SELECT * FROM coverage"))}
        for cell in set(truth) | {c for c, v in found.items() if v[0]}:
            want, got = truth.get(cell, (0, 0)), found.get(cell, (0, 0))
            result.coverage_cells += 1
            if want == got:
                result.coverage_equal += 1
            else:
                result.coverage_differences[cell] = (want, got)
        months = sorted({r["month"] for r in missing})
        causes: dict[tuple[str, str], str] = {}
        for month in months:
            frame = health.missing_leads(data, month)
            for found_row in frame_rows(frame):
                causes[(found_row.point_of_sale, found_row.message_id)] = found_row.cause
        for row in missing:
            result.missing_expected += 1
            got_cause = causes.get((row["point_of_sale"], row["message_id"].strip("<>")), "not found")
            result.causes_right += got_cause == row["cause"]
            result.cause_confusion[(row["cause"], got_cause)] += 1
        for month in data.months():
            for alert in health.alerts(data, month):
                result.alerts_found.append((alert.kind, alert.point_of_sale or "", alert.portal or "", month))
                if alert.point_of_sale and alert.point_of_sale not in troubled:
                    result.alerts_on_healthy.append((alert.kind, alert.point_of_sale, alert.portal, month))
    found_keys = {(k, p, q, m) for k, p, q, m in result.alerts_found}
    for planted_alert in planted:
        key = (planted_alert["kind"], planted_alert["point_of_sale"], planted_alert["portal"], planted_alert["month"])
        result.alerts_expected.append(key)
        if key not in found_keys:
            result.alerts_missed.append(key)
    return result
