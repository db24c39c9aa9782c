"""The distribution report: where a month's leads come from and when they arrive.

Portal share per point of sale and group, concentration (how many portals make 80% of a point
of sale's leads), weekday x hour, tracking channels, and 12-month trends. Two lead figures
(analytics/views/045_figures.sql), each labelled where it shows: network leads (distinct leads) for the
network's total, its portals, its weekday x hour and its trend; point-of-sale leads (one per lead
per point of sale) for points of sale, groups and channels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..analytics.api import Analytics, frame_rows
from ..config.months import shift_month
from . import html as h
from .base import PALETTE, Report
from .labels import number, percent, short_month

CONCENTRATION = 0.8
CHANNELS = ("forward", "redirect", "cc", "distribution", "direct", "unknown")


def portals_for_share(counts: pd.Series, share: float = CONCENTRATION) -> int:
    """How many portals, largest first, it takes to reach ``share`` of the leads (0 when none)."""
    total = counts.sum()
    if total <= 0:
        return 0
    cumulative = counts.sort_values(ascending=False).cumsum() / total
    return int((cumulative < share - 1e-9).sum() + 1)


class DistributionReport(Report):
    title_key = "distribution_title"

    def __init__(self, data: Analytics, month: str, point_of_sale: str | None = None, language: str = ""):
        super().__init__(data, month, point_of_sale, language)
        first = shift_month(month, -11)
        where, params = "month BETWEEN ? AND ?", [first, month]
        if self.point_of_sale:
            where += " AND point_of_sale = ?"
            params.append(self.point_of_sale)
        self.year = data.sql(f"SELECT * FROM leads WHERE {where}", params)
        self.year = self.year.assign(portal=self.year["portal"].fillna(""),
                                     group=self.year["point_of_sale"].map(self.pos_groups()).fillna(""))
        self.current = self.year[self.year["month"] == month]
        self._figures = data.figures(month, self.point_of_sale)

    def has_data(self) -> bool:
        return len(self.current) > 0

    # ------------------------------------------------------------------ figures
    def share_table(self, by: str) -> pd.DataFrame:
        """Rows: point of sale or group; columns: portals; values: share of the row's leads."""
        counts = self.current.pivot_table(index=by, columns="portal", values="lead_key",
                                          aggfunc="count", fill_value=0)
        return counts.div(counts.sum(axis=1), axis=0)

    def concentration_frame(self) -> pd.DataFrame:
        rows = []
        for pos, frame in self.current.groupby("point_of_sale"):
            counts = frame.groupby("portal")["lead_key"].count().sort_values(ascending=False)
            rows.append({"point_of_sale": pos, "leads": int(counts.sum()),
                         "portals_for_80": portals_for_share(counts),
                         "top_portal": counts.index[0], "top_share": counts.iloc[0] / counts.sum()})
        return pd.DataFrame(rows, columns=["point_of_sale", "leads", "portals_for_80", "top_portal", "top_share"])

    def channel_counts(self) -> pd.Series:
        return self.current.groupby("channel")["lead_key"].count().reindex(
            [c for c in CHANNELS if c in set(self.current["channel"])]).fillna(0).astype(int)

    def weekday_hour(self) -> pd.DataFrame:
        """7 x 24 lead counts (rows ISO weekday 1-7, columns hour 0-23) in the workspace zone."""
        frame = self.current if self.point_of_sale else self.current.drop_duplicates("lead_key")
        grid = frame.pivot_table(index="weekday", columns="local_hour", values="lead_key",
                                 aggfunc="count", fill_value=0)
        return grid.reindex(index=range(1, 8), columns=range(24), fill_value=0)

    def trend(self) -> pd.Series:
        """Network leads per month over 12 months (a point of sale's leads in its report)."""
        months = [shift_month(self.month, -i) for i in range(11, -1, -1)]
        if self.point_of_sale:
            counts = self.year.groupby("month")["lead_key"].count()
        else:
            counts = self.data.sql("SELECT month, network_leads FROM network_leads WHERE month BETWEEN ? AND ?",
                                   [months[0], months[-1]]).set_index("month")["network_leads"]
        return pd.Series([int(counts.get(m, 0)) for m in months], index=months)

    def portal_trend(self) -> pd.DataFrame:
        """Months x portals over 12 months: network leads (a point of sale's leads in its report)."""
        months = list(self.trend().index)
        if self.point_of_sale:
            table = self.year.groupby(["month", "portal"])["lead_key"].count().unstack(fill_value=0)
        else:
            table = self.data.sql("SELECT month, portal, network_leads FROM network_leads_by_portal "
                                  "WHERE month BETWEEN ? AND ?", [months[0], months[-1]]).pivot_table(
                index="month", columns="portal", values="network_leads", aggfunc="sum", fill_value=0)
        return table.reindex(months, fill_value=0).astype(int)

    def figures(self) -> dict[str, Any]:
        figures = self._figures
        by_portal = pd.Series(figures["leads_by_portal"], dtype=int)
        total = figures["network_leads"]
        concentration = self.concentration_frame()
        return {
            "report": "distribution",
            "month": self.month,
            "point_of_sale": self.point_of_sale,
            "leads": total,
            "network_leads": figures["network_leads"],
            "point_of_sale_leads": figures["point_of_sale_leads"],
            "leads_by_portal": figures["leads_by_portal"],
            "leads_by_point_of_sale": figures["leads_by_point_of_sale"],
            "portal_share": {str(p): n / by_portal.sum() for p, n in by_portal.items()} if total else {},
            "portals_for_80_network": portals_for_share(by_portal),
            "portals_for_80": {str(r.point_of_sale): int(r.portals_for_80) for r in frame_rows(concentration)},
            "channel_mix": figures["leads_by_channel"],
            "weekday_hour_total": int(self.weekday_hour().values.sum()),
            "trend": {m: int(n) for m, n in self.trend().items()},
        }

    # ------------------------------------------------------------------ sections
    def headline(self) -> h.HTML:
        t, lang, f = self.t, self.language, self.figures()
        if not self.has_data():
            return h.HTML(str(h.cards([(self.lead_label(), "0", None, None)])) + str(h.note(t["no_data"])))
        top_portal, top_share = max(f["portal_share"].items(), key=lambda item: item[1])
        items = [
            (self.lead_label(), number(f["leads"], lang), None, None),
            (t["top_portal"], self.portal_label(top_portal), percent(top_share, lang), None),
            (t["portals_for_80"], number(f["portals_for_80_network"], lang), None, None),
        ]
        if not self.point_of_sale:
            items.insert(1, (t["point_of_sale_rows"], number(f["point_of_sale_leads"], lang), None, None))
        return h.HTML(str(h.cards(items)) + str(self.definitions()))

    def _stacked_shares(self, by: str, label: Callable[[Any], str]) -> h.HTML:
        t, lang = self.t, self.language
        shares = self.share_table(by)
        if shares.empty:
            return h.HTML("")
        order = self.current.groupby("portal")["lead_key"].count().sort_values(ascending=False).index
        shares = shares[[p for p in order if p in shares.columns]]
        names = [label(i) for i in shares.index]
        fig = go.Figure([go.Bar(name=self.portal_label(p), y=names, x=shares[p], orientation="h",
                                marker_color=PALETTE[i % len(PALETTE)],
                                hovertemplate="%{y}: %{x:.0%}<extra>%{fullData.name}</extra>")
                         for i, p in enumerate(shares.columns)])
        fig.update_layout(barmode="stack", xaxis_tickformat=".0%", yaxis_autorange="reversed",
                          legend_title_text=t["portal"])
        table = shares.copy()
        table.columns = [self.portal_label(p) for p in table.columns]
        table.insert(0, t["point_of_sale"] if by == "point_of_sale" else t["group"], names)
        numeric = tuple(table.columns[1:])
        return h.HTML(str(h.figure(fig, max(320, 24 * len(shares) + 160)))
                      + str(h.table(table, numeric=numeric, formats={c: (lambda v: percent(v, lang)) for c in numeric})))

    def portal_share_by_point_of_sale(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        return h.HTML(str(self.section("portal_share_by_pos")) + str(self._stacked_shares("point_of_sale", self.pos_label)))

    def portal_share_by_group(self) -> h.HTML:
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        return h.HTML(str(self.section("portal_share_by_group")) + str(self._stacked_shares("group", self.group_label)))

    def concentration(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        t, lang = self.t, self.language
        frame = self.concentration_frame().sort_values(["portals_for_80", "leads"], ascending=[True, False])
        view = pd.DataFrame({t["point_of_sale"]: frame["point_of_sale"].map(self.pos_label),
                             t["point_of_sale_leads"]: frame["leads"], t["portals_for_80"]: frame["portals_for_80"],
                             t["top_portal"]: frame["top_portal"].map(self.portal_label),
                             t["top_portal_share"]: frame["top_share"]})
        fig = px.histogram(view, x=t["portals_for_80"], title=t["concentration"])
        fig.update_layout(yaxis_title=t["point_of_sale"], bargap=0.2)
        return h.HTML(str(self.section("concentration")) + str(h.figure(fig, 320))
                      + str(h.table(view, numeric=(t["point_of_sale_leads"], t["portals_for_80"], t["top_portal_share"]),
                                    formats={t["top_portal_share"]: lambda v: percent(v, lang)})))

    def weekday_hour_heatmap(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        t = self.t
        grid = self.weekday_hour()
        fig = go.Figure(go.Heatmap(z=grid.values, x=[f"{hour}h" for hour in grid.columns], y=t["weekdays"],
                                   colorscale="Blues", hovertemplate="%{y} %{x}: %{z}<extra></extra>"))
        fig.update_layout(title=self.scoped("weekday_hour"), yaxis_autorange="reversed")
        return h.HTML(str(h.heading(self.scoped("weekday_hour"), level=2)) + str(h.figure(fig, 360)))

    def channel_mix(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        t, lang = self.t, self.language
        counts = self.channel_counts()
        names = [t["channels"].get(c, c) for c in counts.index]
        pie = go.Figure(go.Pie(labels=names, values=counts.values, hole=0.45, sort=False,
                               marker=dict(colors=PALETTE)))
        pie.update_layout(title=t["channel_mix"])
        per_pos = self.current.pivot_table(index="point_of_sale", columns="channel", values="lead_key",
                                           aggfunc="count", fill_value=0)
        stacked = go.Figure([go.Bar(name=t["channels"].get(c, c), y=[self.pos_label(p) for p in per_pos.index],
                                    x=per_pos[c], orientation="h", marker_color=PALETTE[i % len(PALETTE)])
                             for i, c in enumerate(c for c in CHANNELS if c in per_pos.columns)])
        stacked.update_layout(barmode="stack", yaxis_autorange="reversed", legend_title_text=t["channel"])
        table = pd.DataFrame({t["channel"]: names, t["point_of_sale_leads"]: counts.values,
                              t["share"]: counts.to_numpy() / max(1, counts.sum())})
        return h.HTML(str(self.section("channel_mix")) + str(h.figure(pie, 360))
                      + str(h.figure(stacked, max(320, 24 * len(per_pos) + 160)))
                      + str(h.table(table, numeric=(t["point_of_sale_leads"], t["share"]),
                                    formats={t["share"]: lambda v: percent(v, lang)})))

    def trend_chart(self) -> go.Figure:
        t = self.t
        trend = self.trend()
        axis = [short_month(m, self.language) for m in trend.index]
        fig = go.Figure(go.Scatter(x=axis, y=list(trend.values), mode="lines+markers", name=self.lead_label()))
        if not self.point_of_sale:
            by_group = self.year.groupby(["month", "group"])["lead_key"].count().unstack(fill_value=0)
            by_group = by_group.reindex(trend.index, fill_value=0)
            for i, group in enumerate(by_group.columns):
                fig.add_trace(go.Scatter(x=axis, y=list(by_group[group]), mode="lines",
                                         name=f"{self.group_label(group)} · {t['point_of_sale_leads']}",
                                         line=dict(color=PALETTE[i % len(PALETTE)])))
        fig.update_layout(title=t["trends"], xaxis_title=t["month"], yaxis_title=t["leads"])
        return fig

    def trends(self) -> h.HTML:
        if self.year.empty:
            return h.HTML("")
        t = self.t
        by_portal = self.portal_trend()
        axis = [short_month(m, self.language) for m in by_portal.index]
        portals = go.Figure([go.Scatter(x=axis, y=list(by_portal[p]), mode="lines",
                                        name=self.portal_label(p), line=dict(color=PALETTE[i % len(PALETTE)]))
                             for i, p in enumerate(by_portal.sum().sort_values(ascending=False).index)])
        portals.update_layout(title=self.scoped("by_portal"), xaxis_title=t["month"], yaxis_title=self.lead_label())
        return h.HTML(str(self.section("trends")) + str(h.figure(self.trend_chart(), 380))
                      + str(h.figure(portals, 380)))

    def email_charts(self) -> list[tuple[str, go.Figure]]:
        return [(self.t["trends"], self.trend_chart())] if not self.year.empty else []
