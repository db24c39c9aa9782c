"""The distribution report: where a month's leads come from and when they arrive.

The network's page: portal share per point of sale and per group, concentration (how many portals
make 80% of a point of sale's leads), weekday x hour, tracking channels, 12-month trends (network,
groups, portals). A point of sale's page: its own 12-month trend against the average point of sale
of its group and of the network, its portals month by month, and its peers (its portal mix beside
its group's and the network's), its weekday x hour over 12 months and its channels.

Two lead figures (analytics/views/045_figures.sql), each named wherever it shows (``lead_label``,
``scoped``, ``definitions``): network leads (distinct leads) for the network's total, its portals,
its weekday x hour and its trend; point-of-sale leads (one per lead per point of sale) for points of
sale, groups, channels and every comparison of a point of sale with its peers.

A point of sale whose tracking failed this month carries its flag (``Report.flag``) in a table
column, and "⚠" after its name in charts with the flag in the hover: a lost CC reads as a tracking
failure, not as a change of mix. A portal has its one colour (``Report.portal_color``) in every chart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ..analytics.api import Analytics, frame_rows
from ..config.months import shift_month
from . import html as h
from .base import Report
from .labels import number, percent, short_month
from .style import CURRENT, FLAGGED, UNKNOWN, count_axis, count_colorbar, series_colors

CONCENTRATION = 0.8
CHANNELS = ("forward", "redirect", "cc", "distribution", "direct", "unknown")
FLAG_MARK = "⚠"
NETWORK_LINE = "#3e4c59"  # the network's average: a dark neutral, never a group's or a portal's colour
LEAD_COLUMNS = ("lead_key, month, point_of_sale, coalesce(\"group\", '') AS \"group\", "
                "coalesce(portal, '') AS portal, channel, weekday, local_hour")


def portals_for_share(counts: pd.Series, share: float = CONCENTRATION) -> int:
    """How many portals, largest first, it takes to reach ``share`` of the leads (0 when none)."""
    total = counts.sum()
    if total <= 0:
        return 0
    cumulative = counts.sort_values(ascending=False).cumsum() / total
    return int((cumulative < share - 1e-9).sum() + 1)


def whole_percent(value: float, language: str) -> str:
    """A round share as the tables write it: ``20 %`` / ``20%``."""
    return percent(value, language).replace(",0\u00a0%", "\u00a0%").replace(".0%", "%")


def points(value: float | None, language: str) -> str:
    """A gap between two shares in percentage points: ``+5,2`` / ``+5.2``."""
    text = percent(value, language, signed=True)
    return text.replace("\u00a0%", "").replace("%", "")


def share_axis(language: str) -> dict[str, Any]:
    """A 0-100 % axis written like the tables' shares (plotly's own ``%`` format has no space)."""
    ticks = [i / 5 for i in range(6)]
    return dict(range=[0, 1.001], tickvals=ticks, ticktext=[whole_percent(v, language) for v in ticks])


class DistributionReport(Report):
    title_key = "distribution_title"

    def __init__(self, data: Analytics, month: str, point_of_sale: str | None = None, language: str = ""):
        super().__init__(data, month, point_of_sale, language)
        self.months = [shift_month(month, -i) for i in range(11, -1, -1)]
        where, params = "month BETWEEN ? AND ?", [self.months[0], month]
        if self.point_of_sale:
            where += " AND point_of_sale = ?"
            params.append(self.point_of_sale)
        with data.session():  # one snapshot for every figure of the page
            # the report's own leads over 12 months, row by row (a point of sale's own in its report)
            self.year = data.sql(f"SELECT {LEAD_COLUMNS} FROM leads WHERE {where}", params)
            # every point of sale's leads over 12 months, by the view that defines them: groups,
            # averages and peers are sums of it
            self.pos_leads = data.sql(
                "SELECT month, point_of_sale, coalesce(\"group\", '') AS \"group\", portal, channel, "
                "point_of_sale_leads FROM point_of_sale_leads WHERE month BETWEEN ? AND ?", [self.months[0], month])
            self._network = data.sql("SELECT month, network_leads FROM network_leads WHERE month BETWEEN ? AND ?",
                                     [self.months[0], month])
            self._network_portals = data.sql("SELECT month, portal, network_leads FROM network_leads_by_portal "
                                             "WHERE month BETWEEN ? AND ?", [self.months[0], month])
            self._figures = data.figures(month, self.point_of_sale)
            self.portal_names()
        self.current = self.year[self.year["month"] == month]

    def has_data(self) -> bool:
        return len(self.current) > 0

    # ------------------------------------------------------------------ figures
    def share_table(self, by: str) -> pd.DataFrame:
        """Rows: point of sale or group; columns: portals; values: share of the row's point-of-sale leads."""
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

    def weekday_hour(self, frame: pd.DataFrame | None = None) -> pd.DataFrame:
        """7 x 24 lead counts (rows ISO weekday 1-7, columns hour 0-23) in the workspace zone: the
        month's network leads, or a point of sale's leads; ``frame`` other rows of ``leads``."""
        if frame is None:
            frame = self.current if self.point_of_sale else self.current.drop_duplicates("lead_key")
        grid = frame.pivot_table(index="weekday", columns="local_hour", values="lead_key",
                                 aggfunc="count", fill_value=0)
        return grid.reindex(index=range(1, 8), columns=range(24), fill_value=0)

    def trend(self) -> pd.Series:
        """Network leads per month over 12 months (a point of sale's leads in its report)."""
        if self.point_of_sale:
            own = self.pos_leads[self.pos_leads["point_of_sale"] == self.point_of_sale]
            counts = own.groupby("month")["point_of_sale_leads"].sum()
        else:
            counts = self._network.set_index("month")["network_leads"]
        return pd.Series([int(counts.get(m, 0)) for m in self.months], index=self.months)

    def portal_trend(self) -> pd.DataFrame:
        """Months x portals over 12 months: network leads (a point of sale's leads in its report)."""
        if self.point_of_sale:
            own = self.pos_leads[self.pos_leads["point_of_sale"] == self.point_of_sale]
            table = own.pivot_table(index="month", columns="portal", values="point_of_sale_leads",
                                    aggfunc="sum", fill_value=0)
        else:
            table = self._network_portals.pivot_table(index="month", columns="portal", values="network_leads",
                                                      aggfunc="sum", fill_value=0)
        return table.reindex(self.months, fill_value=0).astype(int)

    def group_trend(self) -> pd.DataFrame:
        """Months x groups over 12 months: point-of-sale leads ('' no group)."""
        table = self.pos_leads.pivot_table(index="month", columns="group", values="point_of_sale_leads",
                                           aggfunc="sum", fill_value=0)
        return table.reindex(self.months, fill_value=0).astype(int)

    def own_group(self) -> str | None:
        """The report's point of sale's group (None in the network's report, '' for no group)."""
        return self.pos_groups().get(self.point_of_sale, "") if self.point_of_sale else None

    def average_trend(self, group: str | None = None) -> pd.Series:
        """The average point of sale's leads per month over 12 months, of ``group`` or of the
        network: point-of-sale leads divided by the points of sale with at least one lead that
        month (None for a month without any)."""
        rows = self.pos_leads if group is None else self.pos_leads[self.pos_leads["group"] == group]
        rows = rows[rows["point_of_sale"].notna()]
        by_month = rows.groupby("month").agg(leads=("point_of_sale_leads", "sum"),
                                             active=("point_of_sale", "nunique"))
        average = by_month["leads"] / by_month["active"]
        return pd.Series([float(average[m]) if m in average.index else None for m in self.months],
                         index=self.months, dtype=object)

    def peer_counts(self) -> pd.DataFrame:
        """This month's point-of-sale leads per portal (columns) of the point of sale, its group
        (when it has one) and the network (rows ``point_of_sale``, ``group``, ``network``)."""
        month = self.pos_leads[self.pos_leads["month"] == self.month]
        scopes = {"point_of_sale": month[month["point_of_sale"] == self.point_of_sale]}
        if self.own_group():
            scopes["group"] = month[month["group"] == self.own_group()]
        scopes["network"] = month
        table = pd.DataFrame({scope: rows.groupby("portal")["point_of_sale_leads"].sum()
                              for scope, rows in scopes.items()}).T.fillna(0).astype(int)
        # portals in the network's order, largest first: the three rows read alike
        network = table.T["network"]
        return table[network.sort_values(ascending=False, kind="stable").index]

    def peer_shares(self) -> pd.DataFrame:
        counts = self.peer_counts()
        return counts.div(counts.sum(axis=1).replace(0, 1), axis=0)

    def flagged(self) -> list[str]:
        """The points of sale of this report whose tracking failed this month."""
        scope = [self.point_of_sale] if self.point_of_sale else [p.id for p in self.workspace.points_of_sale]
        return [p for p in scope if self.flag(p)]

    def figures(self) -> dict[str, Any]:
        figures = self._figures
        by_portal = pd.Series(figures["leads_by_portal"], dtype=int)
        total = figures["network_leads"]
        concentration = self.concentration_frame()
        result: dict[str, Any] = {
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
            "flagged_points_of_sale": self.flagged(),
        }
        if self.point_of_sale:
            counts = self.peer_counts()
            result["peers"] = {scope: {str(p): int(n) for p, n in row.items() if n} for scope, row in counts.iterrows()}
            result["group_average_trend"] = dict(self.average_trend(self.own_group()).items()) \
                if self.own_group() else {}
            result["network_average_trend"] = dict(self.average_trend().items())
        return result

    # ------------------------------------------------------------------ names with their flag
    def flagged_pos_label(self, pos: str) -> str:
        """A point of sale's name, with ⚠ after it when its tracking failed this month."""
        return f"{self.pos_label(pos)} {FLAG_MARK}" if self.flag(pos) else self.pos_label(pos)

    def group_flags(self, group: object) -> list[str]:
        """``name: flag`` of each flagged point of sale of ``group``."""
        members = [pos for pos, g in self.pos_groups().items() if g == group]
        return [f"{self.pos_label(p)} {self.flag(p)}" for p in members if self.flag(p)]

    def flagged_group_label(self, group: object) -> str:
        return f"{self.group_label(group)} {FLAG_MARK}" if self.group_flags(group) else self.group_label(group)

    def _hover(self, text: str, flag: str) -> str:
        return f"{text} · {flag}" if flag else text

    def silent_rows(self, shown: Iterable[str]) -> list[str]:
        """The flagged points of sale without a lead this month (not in ``shown``): a silent point
        of sale keeps its row, with its flag, instead of vanishing from the charts."""
        return [p for p in self.flagged() if p not in set(shown)]

    def _flag_text(self, fig: go.Figure, rows: Sequence[str]) -> None:
        """Write the flag of each point of sale of ``rows`` (no bar: no lead) in its empty row."""
        if rows:  # a bar of no length carrying the text: the row's value, written where its bar would be
            fig.add_trace(go.Bar(x=[0] * len(rows), y=[self.flagged_pos_label(p) for p in rows], orientation="h",
                                 text=[self.flag(p) for p in rows], textposition="outside", cliponaxis=False,
                                 marker_color=FLAGGED, showlegend=False, hoverinfo="skip"))

    def flag_note(self) -> h.HTML:
        """What the ⚠ means, where the page shows one."""
        t, flagged = self.t, self.flagged()
        if not flagged:
            return h.HTML("")
        if self.point_of_sale:
            return h.note(t["dist_flagged_pos"].format(flag=self.flag(self.point_of_sale).removeprefix(f"{FLAG_MARK} ")))
        return h.note(t["dist_flagged"].format(names=", ".join(self.pos_label(p) for p in flagged)))

    # ------------------------------------------------------------------ sections
    def headline(self) -> h.HTML:
        t, lang, f = self.t, self.language, self.figures()
        if not self.has_data():
            return h.HTML(str(h.cards([(self.lead_label(), "0", None, None)])) + str(h.note(t["no_data"])))
        top_portal, top_share = max(f["portal_share"].items(), key=lambda item: item[1])
        items: list[tuple[str, str, str | None, float | None]] = [
            (self.lead_label(), number(f["leads"], lang), None, None),
            (self.scoped("dist_top_portal"), self.portal_label(top_portal), percent(top_share, lang), None),
            (self.scoped("dist_portals_for_80"), number(f["portals_for_80_network"], lang), None, None),
        ]
        if not self.point_of_sale:
            items.insert(1, (t["point_of_sale_rows"], number(f["point_of_sale_leads"], lang), None, None))
        elif self.flag(self.point_of_sale):
            items.append((t["dist_tracking"], self.flag(self.point_of_sale), None, -1))
        return h.HTML(str(h.cards(items)) + str(self.definitions()) + str(self.flag_note()))

    def _share_bars(self, shares: pd.DataFrame, names: Sequence[str], flags: Sequence[str], title: str,
                    axis_title: str) -> go.Figure:
        """Stacked 100 % bars, a row per name, a segment per portal in the portal's colour; each
        row's tracking flag in its hover."""
        lang = self.language
        fig = go.Figure([go.Bar(name=self.portal_label(p), y=list(names), x=list(shares[p]), orientation="h",
                                marker_color=self.portal_color(p),
                                hovertext=[self._hover(f"{self.portal_label(p)} · {percent(v, lang)}", flag)
                                           for v, flag in zip(shares[p], flags, strict=True)],
                                hovertemplate="%{y}<br>%{hovertext}<extra></extra>")
                         for p in shares.columns])
        fig.update_layout(barmode="stack", title=title, legend_traceorder="normal")
        fig.update_xaxes(title_text=self.t["dist_share_axis"], **share_axis(lang))
        fig.update_yaxes(title_text=axis_title, autorange="reversed")
        return fig

    def _stacked_shares(self, by: str) -> h.HTML:
        t, lang = self.t, self.language
        shares = self.share_table(by)
        if shares.empty:
            return h.HTML("")
        order = self.current.groupby("portal")["lead_key"].count().sort_values(ascending=False).index
        shares = shares[[p for p in order if p in shares.columns]]
        silent = self.silent_rows(shares.index) if by == "point_of_sale" else []
        shares = shares.reindex(list(shares.index) + silent)
        if by == "point_of_sale":
            names = [self.flagged_pos_label(p) for p in shares.index]
            flags = [self.flag(p) for p in shares.index]
            title, axis_title = t["dist_share_by_pos"], t["point_of_sale"]
        else:
            names = [self.flagged_group_label(g) for g in shares.index]
            flags = [" · ".join(self.group_flags(g)) for g in shares.index]
            title, axis_title = t["dist_share_by_group"], t["group"]
        fig = self._share_bars(shares, names, flags, title, axis_title)
        self._flag_text(fig, silent)
        table = shares.copy()
        table.columns = [self.portal_label(p) for p in table.columns]
        numeric = tuple(table.columns)
        label = self.pos_label if by == "point_of_sale" else self.group_label
        table.insert(0, axis_title, [label(i) for i in shares.index])
        table[t["dist_tracking"]] = flags
        return h.HTML(str(self.chart(fig, max(340, 26 * len(shares) + 220)))
                      + str(h.table(table, numeric=numeric, formats={c: (lambda v: percent(v, lang)) for c in numeric})))

    def portal_share_by_point_of_sale(self) -> h.HTML:
        """The network's page: each point of sale's portal mix (a point of sale's page: ``peers``)."""
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        return h.HTML(str(self.section("portal_share_by_pos")) + str(self._stacked_shares("point_of_sale")))

    def portal_share_by_group(self) -> h.HTML:
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        return h.HTML(str(self.section("portal_share_by_group")) + str(self._stacked_shares("group")))

    def peers(self) -> h.HTML:
        """A point of sale's portal mix beside its group's and the network's (point-of-sale leads
        all three), in a chart and a table with its gap to the network."""
        if not self.point_of_sale or not self.has_data():
            return h.HTML("")
        t, lang = self.t, self.language
        counts, shares = self.peer_counts(), self.peer_shares()
        group = self.own_group()
        row_names = {"point_of_sale": self.flagged_pos_label(self.point_of_sale),
                     "group": t["dist_group_row"].format(group=self.group_label(group)),
                     "network": t["network"]}
        own_flag = self.flag(self.point_of_sale)
        flags = [own_flag if scope == "point_of_sale" else "" for scope in shares.index]
        names = [row_names[scope] for scope in shares.index]
        fig = self._share_bars(shares, names, flags, t["dist_peers_chart"], "")
        fig.update_yaxes(title_text="")  # three named rows: the names are the axis
        columns = {scope: t["dist_share_of"].format(scope=row_names[scope].removesuffix(f" {FLAG_MARK}"))
                   for scope in shares.index}
        table = pd.DataFrame({t["portal"]: [self.portal_label(str(p)) for p in shares.columns]})
        by_scope = shares.T
        for scope in shares.index:
            table[columns[scope]] = by_scope[scope].to_numpy()
        table[t["dist_gap"]] = (by_scope["point_of_sale"] - by_scope["network"]).to_numpy()
        table.insert(1, self.lead_label(), counts.T["point_of_sale"].to_numpy())
        shares_columns = tuple(columns.values())
        formats: dict[str, Callable[[Any], str]] = {c: (lambda v: percent(v, lang)) for c in shares_columns}
        formats[t["dist_gap"]] = lambda v: points(v, lang)
        return h.HTML(str(self.section("dist_peers")) + str(self.chart(fig, 400))
                      + str(h.table(table, numeric=(self.lead_label(), *shares_columns, t["dist_gap"]),
                                    formats=formats))
                      + str(h.note(t["dist_peers_note"])))

    def concentration(self) -> h.HTML:
        """The network's page: how concentrated each point of sale's portals are (a point of sale's
        page gives its own figure in the headline)."""
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        t, lang = self.t, self.language
        frame = self.concentration_frame().sort_values(["portals_for_80", "leads"], ascending=[True, False])
        view = pd.DataFrame({t["point_of_sale"]: frame["point_of_sale"].map(self.pos_label),
                             t["point_of_sale_leads"]: frame["leads"], t["portals_for_80"]: frame["portals_for_80"],
                             t["top_portal"]: frame["top_portal"].map(self.portal_label),
                             t["top_portal_share"]: frame["top_share"],
                             t["dist_tracking"]: frame["point_of_sale"].map(self.flag)})
        needed = range(1, int(frame["portals_for_80"].max()) + 1)
        members = {n: [self.flagged_pos_label(p) for p in frame.loc[frame["portals_for_80"] == n, "point_of_sale"]]
                   for n in needed}
        sizes = [len(members[n]) for n in needed]
        fig = go.Figure(go.Bar(x=list(needed), y=sizes, marker_color=CURRENT, text=[number(s, lang) for s in sizes],
                               textposition="outside", cliponaxis=False,
                               hovertext=[", ".join(members[n]) for n in needed],
                               hovertemplate="%{x} · %{y}<br>%{hovertext}<extra></extra>"))
        fig.update_layout(title=t["dist_concentration"], bargap=0.2, showlegend=False)
        fig.update_xaxes(title_text=t["portals_for_80"], tick0=1, dtick=1)
        fig.update_yaxes(title_text=t["dist_pos_count"])
        count_axis(fig, max(sizes) * 1.15)
        return h.HTML(str(self.section("concentration")) + str(self.chart(fig, 340))
                      + str(h.table(view, numeric=(t["point_of_sale_leads"], t["portals_for_80"], t["top_portal_share"]),
                                    formats={t["top_portal_share"]: lambda v: percent(v, lang)})))

    def weekday_hour_heatmap(self) -> h.HTML:
        """The month's network leads by weekday and hour; a point of sale's leads over 12 months
        (a month holds too few of them to show a pattern)."""
        if not self.has_data():
            return h.HTML("")
        t = self.t
        if self.point_of_sale:
            grid, title = self.weekday_hour(self.year), t["dist_weekday_hour_year_pos"]
        else:
            grid, title = self.weekday_hour(), self.scoped("weekday_hour")
        top = int(grid.values.max()) or 1
        fig = go.Figure(go.Heatmap(z=grid.values, x=[f"{hour}h" for hour in grid.columns], y=t["weekdays"],
                                   colorscale="Blues", zmin=0, zmax=top,
                                   colorbar=dict(title=dict(text=self.lead_label(), side="right"),
                                                 **count_colorbar(top)),
                                   hovertemplate="%{y} %{x} · %{z}<extra></extra>"))
        fig.update_layout(title=title)
        fig.update_xaxes(title_text=t["hour"])
        fig.update_yaxes(title_text=t["weekday"], autorange="reversed")
        return h.HTML(str(h.heading(title, level=2)) + str(self.chart(fig, 380)))

    def channel_colors(self) -> dict[str, str]:
        """A colour per channel, the same in the pie and the bars."""
        return series_colors(CHANNELS)

    def channel_mix(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        t, lang = self.t, self.language
        counts = self.channel_counts()
        colors = self.channel_colors()
        names = [t["channels"].get(c, c) for c in counts.index]
        shares = counts.to_numpy() / max(1, counts.sum())
        # the slices' text written like the tables' (plotly's own percent reads 29,3% in French)
        pie = go.Figure(go.Pie(labels=names, values=list(counts.values), hole=0.45, sort=False,
                               marker=dict(colors=[colors[c] for c in counts.index]),
                               text=[percent(s, lang) for s in shares], textinfo="text",
                               hovertext=[self.flag(self.point_of_sale) if self.point_of_sale else ""] * len(counts),
                               hovertemplate="%{label} · %{value} · %{text}<br>%{hovertext}<extra></extra>"))
        pie.update_layout(title=t["dist_channel_mix"])
        parts = [str(self.section("channel_mix")), str(self.chart(pie, 380))]
        if not self.point_of_sale:
            per_pos = self.current.pivot_table(index="point_of_sale", columns="channel", values="lead_key",
                                               aggfunc="count", fill_value=0)
            per_pos = per_pos.loc[per_pos.sum(axis=1).sort_values(ascending=False, kind="stable").index]
            silent = self.silent_rows(per_pos.index)
            per_pos = per_pos.reindex(list(per_pos.index) + silent)
            labels = [self.flagged_pos_label(p) for p in per_pos.index]
            flags = [self.flag(p) for p in per_pos.index]
            stacked = go.Figure([go.Bar(name=t["channels"].get(c, c), y=labels, x=list(per_pos[c]), orientation="h",
                                        marker_color=colors[c],
                                        hovertext=[self._hover(f"{t['channels'].get(c, c)} · {number(n, lang)}", flag)
                                                   for n, flag in zip(per_pos[c], flags, strict=True)],
                                        hovertemplate="%{y}<br>%{hovertext}<extra></extra>")
                                 for c in CHANNELS if c in per_pos.columns])
            self._flag_text(stacked, silent)
            stacked.update_layout(barmode="stack", title=t["dist_channel_by_pos"], legend_traceorder="normal")
            stacked.update_xaxes(title_text=t["point_of_sale_leads"])
            stacked.update_yaxes(title_text=t["point_of_sale"], autorange="reversed")
            count_axis(stacked, per_pos.sum(axis=1).max(), axis="x")
            parts.append(str(self.chart(stacked, max(340, 26 * len(per_pos) + 220))))
        table = pd.DataFrame({t["channel"]: names, t["point_of_sale_leads"]: counts.values, t["share"]: shares})
        parts.append(str(h.table(table, numeric=(t["point_of_sale_leads"], t["share"]),
                                 formats={t["share"]: lambda v: percent(v, lang)})))
        return h.HTML("".join(parts))

    def trend_chart(self) -> go.Figure:
        """The network leads' 12 months; a point of sale's leads against its group's and the
        network's average point of sale, its flag on this month's bar."""
        t, lang = self.t, self.language
        trend = self.trend()
        axis = [short_month(m, lang) for m in trend.index]
        if not self.point_of_sale:
            fig = go.Figure(go.Scatter(x=axis, y=list(trend.values), mode="lines+markers+text", name=self.lead_label(),
                                       line=dict(color=CURRENT, width=3), text=[number(n, lang) for n in trend],
                                       textposition="top center", cliponaxis=False,
                                       hovertemplate="%{x} · %{y}<extra></extra>"))
            fig.update_layout(title=t["dist_trend"], showlegend=False)
            top = max(trend.max(), 1)
        else:
            flag = self.flag(self.point_of_sale)
            hover = [self._hover(f"{m} · {number(n, lang)}", flag if month == self.month else "")
                     for m, n, month in zip(axis, trend, trend.index, strict=True)]
            fig = go.Figure(go.Bar(x=axis, y=list(trend.values), name=self.flagged_pos_label(self.point_of_sale),
                                   marker_color=CURRENT, text=[number(n, lang) for n in trend],
                                   textposition="outside", cliponaxis=False, hovertext=hover,
                                   hovertemplate="%{hovertext}<extra>%{fullData.name}</extra>"))
            averages = [(t["dist_network_average"], self.average_trend(), NETWORK_LINE, "dash")]
            group = self.own_group()
            if group:
                color = self.group_colors().get(group, UNKNOWN)
                averages.insert(0, (t["dist_group_average"].format(group=self.group_label(group)),
                                    self.average_trend(group), color, "solid"))
            top = max(trend.max(), 1)
            for name, values, color, dash in averages:
                fig.add_trace(go.Scatter(x=axis, y=list(values), name=name, mode="lines+markers",
                                         line=dict(color=color, dash=dash, width=2), connectgaps=False,
                                         hovertemplate="%{x} · %{y:.1f}<extra>%{fullData.name}</extra>"))
                top = max(top, max((v for v in values if v is not None), default=0))
            fig.update_layout(title=t["dist_trend_pos"])
        fig.update_xaxes(title_text=t["month"])
        fig.update_yaxes(title_text=self.lead_label())
        return count_axis(fig, top * 1.15)

    def group_colors(self) -> dict[str, str]:
        """A colour per group (series_colors, groups by name), grey for no group: the same on every page."""
        groups = sorted({g for g in self.pos_groups().values() if g})
        return {**series_colors(groups), "": UNKNOWN}

    def group_trend_chart(self) -> go.Figure:
        t, lang = self.t, self.language
        by_group = self.group_trend()
        axis = [short_month(m, lang) for m in by_group.index]
        colors = self.group_colors()
        order = by_group.sum().sort_values(ascending=False, kind="stable").index
        fig = go.Figure([go.Scatter(x=axis, y=list(by_group[g]), mode="lines+markers", name=self.flagged_group_label(g),
                                    line=dict(color=colors.get(g, UNKNOWN)),
                                    hovertext=[self._hover(f"{m} · {number(n, lang)}", " · ".join(self.group_flags(g))
                                                           if month == self.month else "")
                                               for m, n, month in zip(axis, by_group[g], by_group.index, strict=True)],
                                    hovertemplate="%{hovertext}<extra>%{fullData.name}</extra>")
                         for g in order])
        fig.update_layout(title=t["dist_group_trend"])
        fig.update_xaxes(title_text=t["month"])
        fig.update_yaxes(title_text=t["point_of_sale_leads"])
        return count_axis(fig, by_group.values.max() * 1.1 if by_group.size else 1)

    def portal_trend_chart(self) -> go.Figure:
        """Network leads per portal and month (lines); a point of sale's leads (stacked bars)."""
        t, lang = self.t, self.language
        by_portal = self.portal_trend()
        axis = [short_month(m, lang) for m in by_portal.index]
        order = by_portal.sum().sort_values(ascending=False, kind="stable").index
        hover = "%{x} · %{y}<extra>%{fullData.name}</extra>"
        if self.point_of_sale:
            flag = self.flag(self.point_of_sale)
            flags = [flag if month == self.month else "" for month in by_portal.index]
            fig = go.Figure([go.Bar(x=axis, y=list(by_portal[p]), name=self.portal_label(p),
                                    marker_color=self.portal_color(p), hovertext=flags,
                                    hovertemplate="%{x} · %{y}<br>%{hovertext}<extra>%{fullData.name}</extra>")
                             for p in order])
            fig.update_layout(barmode="stack", title=t["dist_portal_trend_pos"], legend_traceorder="normal")
            top = by_portal.sum(axis=1).max() if by_portal.size else 1
        else:
            fig = go.Figure([go.Scatter(x=axis, y=list(by_portal[p]), mode="lines+markers", name=self.portal_label(p),
                                        line=dict(color=self.portal_color(p)), hovertemplate=hover) for p in order])
            fig.update_layout(title=t["dist_portal_trend"])
            top = by_portal.values.max() if by_portal.size else 1
        fig.update_xaxes(title_text=t["month"])
        fig.update_yaxes(title_text=self.lead_label())
        return count_axis(fig, top * 1.1)

    def trends(self) -> h.HTML:
        if self.year.empty:
            return h.HTML("")
        parts = [str(self.section("trends")), str(self.chart(self.trend_chart(), 420))]
        if self.point_of_sale:
            parts.append(str(h.note(self.t["dist_average_note"])))
        else:
            parts.append(str(self.chart(self.group_trend_chart(), 420)))
        parts.append(str(self.chart(self.portal_trend_chart(), 440)))
        return h.HTML("".join(parts))
