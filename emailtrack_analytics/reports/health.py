"""The tracking health report: configuration problems with their fix, coverage per point of sale,
alerts with their evidence, and the leads that never reached tracking with their likely cause
(no personal data)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..analytics import checks, health
from ..analytics.api import Analytics, frame_rows
from ..config.months import shift_month
from . import html as h
from .base import PALETTE, Report
from .labels import number, percent, short_month


class HealthReport(Report):
    title_key = "health_title"

    def __init__(self, data: Analytics, month: str, point_of_sale: str | None = None, language: str = ""):
        super().__init__(data, month, point_of_sale, language)
        first = shift_month(month, -11)
        where, params = "month BETWEEN ? AND ?", [first, month]
        if self.point_of_sale:
            where += " AND point_of_sale = ?"
            params.append(self.point_of_sale)
        self.coverage = data.sql(f"SELECT * FROM coverage WHERE {where} ORDER BY month, point_of_sale", params)
        self.current = self.coverage[self.coverage["month"] == month]
        self.missing = health.missing_leads(data, month, self.point_of_sale)
        found = health.alerts(data, month)
        if self.point_of_sale:
            found = [a for a in found if a.point_of_sale in (None, self.point_of_sale)]
        self.alerts = health.alerts_frame(found)
        problems = checks.find_checks(data.sql, self.workspace)
        if self.point_of_sale:
            problems = [c for c in problems if c.point_of_sale in (None, self.point_of_sale)]
        self.checks = checks.frame(problems)
        where, params = "month = ?", [month]
        if self.point_of_sale:
            where += " AND point_of_sale = ?"
            params.append(self.point_of_sale)
        # the month's volume, for scale: the point-of-sale leads and the mailbox copies (evidence)
        self.point_of_sale_leads = int(data.sql(
            f"SELECT coalesce(sum(point_of_sale_leads), 0) AS n FROM point_of_sale_leads WHERE {where}",
            params)["n"].iloc[0])
        self.mailbox_copies = int(data.sql(
            f"SELECT coalesce(sum(mailbox_copies), 0) AS n FROM mailbox_copies WHERE {where}", params)["n"].iloc[0])

    def figures(self) -> dict[str, Any]:
        expected, tracked = int(self.current["expected"].sum()), int(self.current["tracked"].sum())
        return {
            "report": "health",
            "month": self.month,
            "point_of_sale": self.point_of_sale,
            "expected": expected,
            "tracked": tracked,
            "missing": expected - tracked,
            "coverage": tracked / expected if expected else None,
            "coverage_by_point_of_sale": {
                str(r.point_of_sale): {"expected": int(r.expected), "tracked": int(r.tracked), "missing": int(r.missing)}
                for r in frame_rows(self.current)},
            "missing_by_cause": {str(k): int(v) for k, v in self.missing.groupby("cause").size().items()}
            if not self.missing.empty else {},
            "point_of_sale_leads": self.point_of_sale_leads,
            "mailbox_copies": self.mailbox_copies,
            "checks": [{"kind": r.kind, "point_of_sale": r.point_of_sale, "address": r.address, "count": int(r.count),
                        "detail": r.detail, "fix": r.fix} for r in frame_rows(self.checks)],
            "alerts": [{"kind": r.kind, "point_of_sale": r.point_of_sale, "portal": r.portal, "detail": r.detail,
                        **({"examples": list(r.examples)} if r.examples else {})}
                       for r in frame_rows(self.alerts)],
        }

    # ------------------------------------------------------------------ sections
    def headline(self) -> h.HTML:
        t, lang, f = self.t, self.language, self.figures()
        items = [(t["expected"], number(f["expected"], lang), None, None),
                 (t["tracked"], number(f["tracked"], lang), None, None),
                 (t["coverage"], percent(f["coverage"], lang), None, None),
                 (t["checks"], number(len(f["checks"]), lang), None, -1 if f["checks"] else None),
                 (t["alerts"], number(len(f["alerts"]), lang), None, -1 if f["alerts"] else None)]
        note = "" if f["expected"] else str(h.note(t["no_evidence"]))
        scale = h.note(f"{t['point_of_sale_leads']}: {number(f['point_of_sale_leads'], lang)} · "
                       f"{t['mailbox_copies']}: {number(f['mailbox_copies'], lang)}")
        return h.HTML(str(h.cards(items)) + note + str(scale) + str(self.definitions()))

    def checks_section(self) -> h.HTML:
        """Configuration problems (checks.py), each with its evidence and its fix: the TOML to add
        for an address no point of sale claims. Every cell is escaped (addresses come from emails)."""
        t = self.t
        if self.checks.empty:
            return h.HTML(str(self.section("checks")) + str(h.note(t["no_checks"])))
        table = pd.DataFrame({
            t["check_kind"]: [t["check_kinds"].get(k, k) for k in self.checks["kind"]],
            t["point_of_sale"]: [self.pos_label(p) if isinstance(p, str) else "" for p in self.checks["point_of_sale"]],
            t["address"]: [a or "" for a in self.checks["address"]],
            t["count"]: self.checks["count"],
            t["evidence"]: self.checks["detail"],
            t["fix"]: [fix.splitlines() if "\n" in fix else fix for fix in self.checks["fix"]]})
        return h.HTML(str(self.section("checks")) + str(h.table(table, numeric=(t["count"],))))

    def coverage_section(self) -> h.HTML:
        t, lang = self.t, self.language
        rows = self.current[self.current["expected"] > 0].sort_values("coverage")
        if rows.empty:
            return h.HTML("")
        names = [self.pos_label(p) for p in rows["point_of_sale"]]
        fig = go.Figure(go.Bar(x=list(rows["coverage"]), y=names, orientation="h",
                               marker_color=[PALETTE[1] if c < 0.9 else PALETTE[0] for c in rows["coverage"]],
                               hovertemplate="%{y}: %{x:.0%}<extra></extra>"))
        fig.update_layout(title=t["coverage_by_pos"], xaxis_tickformat=".0%", xaxis_range=[0, 1],
                          yaxis_autorange="reversed")
        table = pd.DataFrame({t["point_of_sale"]: names, t["expected"]: rows["expected"],
                              t["tracked"]: rows["tracked"], t["missing_leads"]: rows["missing"],
                              t["coverage"]: rows["coverage"]})
        return h.HTML(str(self.section("coverage_by_pos")) + str(h.figure(fig, max(320, 24 * len(rows) + 140)))
                      + str(h.table(table, numeric=(t["expected"], t["tracked"], t["missing_leads"], t["coverage"]),
                                    formats={t["coverage"]: lambda v: percent(v, lang)})))

    def coverage_trend(self) -> h.HTML:
        t = self.t
        per_month = self.coverage.groupby("month")[["expected", "tracked"]].sum()
        per_month = per_month[per_month["expected"] > 0]
        if per_month.empty:
            return h.HTML("")
        fig = px.line(x=[short_month(m, self.language) for m in per_month.index],
                      y=per_month["tracked"] / per_month["expected"], markers=True, title=t["coverage_trend"])
        fig.update_layout(yaxis_tickformat=".0%", xaxis_title=t["month"], yaxis_title=t["coverage"])
        return h.figure(fig, 320)

    def alerts_section(self) -> h.HTML:
        """One row per alert; a template spike also shows example subjects (personal details
        removed). Every cell is escaped by ``h.table``: evidence holds text from emails (a sender's
        domain, subjects)."""
        t = self.t
        if self.alerts.empty:
            note = t["no_alerts_but_checks"] if not self.checks.empty else t["no_alerts"]
            return h.HTML(str(self.section("alerts")) + str(h.note(note)))
        table = pd.DataFrame({
            t["alert_kind"]: [t["alert_kinds"].get(k, k) for k in self.alerts["kind"]],
            t["point_of_sale"]: [self.pos_label(p) if isinstance(p, str) else "" for p in self.alerts["point_of_sale"]],
            t["portal"]: [self.portal_label(p) if isinstance(p, str) else "" for p in self.alerts["portal"]],
            t["evidence"]: self.alerts["detail"]})
        if any(self.alerts["examples"]):
            table[t["examples"]] = [list(e) for e in self.alerts["examples"]]
        return h.HTML(str(self.section("alerts")) + str(h.table(table)))

    def missing_section(self) -> h.HTML:
        t, lang = self.t, self.language
        if self.missing.empty:
            return h.HTML(str(self.section("missing")) + str(h.note(t["none_missing"])))
        by_cause = self.missing.groupby(["point_of_sale", "cause"]).size().reset_index(name="n")
        summary = pd.DataFrame({t["point_of_sale"]: [self.pos_label(p) for p in by_cause["point_of_sale"]],
                                t["cause"]: [t["causes"].get(c, c) for c in by_cause["cause"]],
                                t["missing_leads"]: by_cause["n"]})
        # one line per missing lead: when, where, which portal, why; never who
        detail = pd.DataFrame({
            t["received"]: [x.strftime("%d/%m/%Y %H:%M" if lang == "fr" else "%Y-%m-%d %H:%M")
                            for x in self.missing["local_time"]],
            t["point_of_sale"]: [self.pos_label(p) for p in self.missing["point_of_sale"]],
            t["portal"]: [self.portal_label(p) for p in self.missing["portal"]],
            t["cause"]: [t["causes"].get(c, c) for c in self.missing["cause"]]})
        return h.HTML(str(self.section("missing")) + str(h.table(summary, numeric=(t["missing_leads"],)))
                      + str(h.heading(t["missing_list"], level=3)) + str(h.table(detail)))
