"""The monthly report: what ``notebooks/monthly.ipynb`` shows, one method per section.

The notebook stays thin (parameters, then one call per section); the figures are computed
here, from the workspace's SQL views, so that they can be tested against the exports. Each
headline figure is read from the view that defines it (analytics/views/045_figures.sql, through
``Analytics.figures``) and labelled with its name: network leads (distinct leads),
point-of-sale leads (one per lead per point of sale), tracking copies, mailbox copies.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..analytics.api import Analytics
from ..config.months import month_bounds, shift_month
from . import html as h
from .base import PALETTE, Report, change
from .labels import DAY_FORMAT, number, percent

TOP_MOVERS = 5
# the columns of ``leads`` the report reads (fewer columns: less to compute and to convert)
LEAD_COLUMNS = "lead_key, point_of_sale, month, portal, copies, local_date"


class MonthlyReport(Report):
    """Volumes of one month against the previous month and the same month last year."""

    title_key = "monthly_title"

    def __init__(self, data: Analytics, month: str, point_of_sale: str | None = None, language: str = ""):
        super().__init__(data, month, point_of_sale, language)
        where, params = "", [month, shift_month(month, -1), shift_month(month, -12)]
        if self.point_of_sale:
            where = " WHERE point_of_sale = ?"
            params.append(self.point_of_sale)
        # everything the report shows, read once through one connection (one snapshot)
        with data.session():
            # the three months the report compares: leads_in(months) gives the rows of `leads`
            # for those months, grouping only the copies of leads that have one in them
            self.leads = data.sql(f"SELECT {LEAD_COLUMNS} FROM leads_in([?, ?, ?]){where}", params)
            self._figures = {m: data.figures(m, self.point_of_sale) for m in params[:3]}
            self._traffic = self._read_traffic()
            self._network_days = data.sql("SELECT local_date, network_leads FROM network_leads_by_day "
                                          "WHERE month = ? ORDER BY local_date", [month])
            self._quarantined = int(data.sql("SELECT count(*) AS n FROM quarantine")["n"].iloc[0])
            self.portal_names()
        self.current = self.leads[self.leads["month"] == month]
        self.previous = self.leads[self.leads["month"] == shift_month(month, -1)]

    # ------------------------------------------------------------------ figures
    def _count(self, month: str) -> int:
        """The report's lead figure of ``month``: network leads, or one point of sale's leads."""
        return self._figures[month]["network_leads"]

    def figures(self) -> dict[str, Any]:
        """The headline figures (also recorded as the report's summary). ``leads`` is the network
        leads (distinct leads), or the point of sale's leads in a point of sale's report;
        ``copies`` the tracking copies of leads (``tracking_lead_copies``)."""
        previous, last_year = shift_month(self.month, -1), shift_month(self.month, -12)
        figures = self._figures[self.month]
        current = self._count(self.month)
        traffic = self.traffic()
        per_day = self.per_day()
        return {
            "report": "monthly",
            "month": self.month,
            "point_of_sale": self.point_of_sale,
            "leads": current,
            "network_leads": figures["network_leads"],
            "point_of_sale_leads": figures["point_of_sale_leads"],
            "point_of_sale_rows": figures["point_of_sale_leads"],
            "leads_previous_month": self._count(previous),
            "change_previous_month": change(current, self._count(previous)),
            "leads_same_month_last_year": self._count(last_year),
            "change_last_year": change(current, self._count(last_year)),
            "active_points_of_sale": len(figures["leads_by_point_of_sale"]),
            "copies": figures["tracking_lead_copies"],
            "tracking_copies": figures["tracking_copies"],
            "tracking_lead_copies": figures["tracking_lead_copies"],
            "mailbox_copies": figures["mailbox_copies"],
            "mailbox_lead_copies": figures["mailbox_lead_copies"],
            "leads_by_portal": figures["leads_by_portal"],
            "leads_by_point_of_sale": figures["leads_by_point_of_sale"],
            "leads_by_group": figures["leads_by_group"],
            "leads_by_day": {d.isoformat(): int(n) for d, n in zip(per_day.index, per_day, strict=True)},
            "non_lead_copies": int(traffic.loc[traffic["category"] != "lead", "tracking_copies"].sum()),
            "without_point_of_sale": int(traffic["without_point_of_sale"].sum()),
            "quarantined": self.quarantined(),
        }

    def by_portal_counts(self) -> pd.Series:
        """Network leads per portal ('' unknown), or the point of sale's leads per portal."""
        return pd.Series(self._figures[self.month]["leads_by_portal"], dtype=int)

    def by_group_counts(self, frame: pd.DataFrame) -> pd.Series:
        """Point-of-sale leads per group: a group's volume is its points of sale's leads."""
        groups = frame["point_of_sale"].map(self.pos_groups()).fillna("")
        return frame.groupby(groups)["lead_key"].count().sort_values(ascending=False)

    def per_day(self) -> pd.Series:
        """Leads per local day of the month: network leads, or the point of sale's leads."""
        if self.point_of_sale:
            dates = pd.to_datetime(self.current["local_date"]).dt.date
            return self.current.groupby(dates)["lead_key"].count()
        days = self._network_days
        return pd.Series(days["network_leads"].to_numpy(), index=pd.to_datetime(days["local_date"]).dt.date)

    def traffic(self) -> pd.DataFrame:
        """Copies of the month by category: tracking copies (with those without point of sale or
        portal among them) and, apart, mailbox copies."""
        return self._traffic

    def _read_traffic(self) -> pd.DataFrame:
        if self.point_of_sale:
            tracking = self.data.sql(
                "SELECT category, tracking_copies, 0 AS without_point_of_sale, without_portal "
                "FROM tracking_copies_by_point_of_sale WHERE month = ? AND point_of_sale = ?",
                [self.month, self.point_of_sale])
        else:
            tracking = self.data.sql(
                "SELECT category, tracking_copies, without_point_of_sale, without_portal FROM tracking_copies "
                "WHERE month = ?", [self.month])
        where, params = "month = ?", [self.month]
        if self.point_of_sale:
            where += " AND point_of_sale = ?"
            params.append(self.point_of_sale)
        mailbox = self.data.sql(f"SELECT category, sum(mailbox_copies) AS mailbox_copies FROM mailbox_copies "
                                f"WHERE {where} GROUP BY category", params)
        frame = tracking.merge(mailbox, on="category", how="outer")
        for column in ("tracking_copies", "without_point_of_sale", "without_portal", "mailbox_copies"):
            frame[column] = frame[column].fillna(0).astype(int)
        return frame.sort_values(["tracking_copies", "mailbox_copies", "category"],
                                 ascending=[False, False, True]).reset_index(drop=True)

    def quarantined(self) -> int:
        return self._quarantined

    def has_data(self) -> bool:
        return len(self.current) > 0

    # ------------------------------------------------------------------ sections
    def headline(self) -> h.HTML:
        f, lang, t = self.figures(), self.language, self.t
        items = [
            (self.lead_label(), number(f["leads"], lang),
             f"{t['previous_month']}: {number(f['leads_previous_month'], lang)} "
             f"({percent(f['change_previous_month'], lang, signed=True)})", f["change_previous_month"]),
            (t["last_year"], number(f["leads_same_month_last_year"], lang),
             percent(f["change_last_year"], lang, signed=True), f["change_last_year"]),
            (t["copies"], number(f["copies"], lang), None, None),
        ]
        if f["mailbox_copies"]:
            items.append((t["mailbox_copies"], number(f["mailbox_copies"], lang), None, None))
        if not self.point_of_sale:
            items.insert(1, (t["point_of_sale_rows"], number(f["point_of_sale_rows"], lang), None, None))
            items.append((t["active_points_of_sale"], number(f["active_points_of_sale"], lang), None, None))
        if not self.has_data():
            return h.HTML(str(h.cards(items)) + str(h.note(t["no_data"])))
        return h.HTML(str(h.cards(items)) + str(h.note(t["definitions"])))

    def by_point_of_sale_frame(self) -> pd.DataFrame:
        t = self.t
        current = self.current.groupby("point_of_sale", dropna=False)["lead_key"].count()
        before = self.previous.groupby("point_of_sale", dropna=False)["lead_key"].count()
        ids = [p.id for p in self.workspace.points_of_sale
               if not self.point_of_sale or p.id == self.point_of_sale]
        frame = pd.DataFrame({"point_of_sale": ids})
        frame[t["point_of_sale_leads"]] = frame["point_of_sale"].map(current).fillna(0).astype(int)
        frame[t["previous_month"]] = frame["point_of_sale"].map(before).fillna(0).astype(int)
        frame[t["change"]] = [change(a, b) for a, b in zip(frame[t["point_of_sale_leads"]], frame[t["previous_month"]], strict=True)]
        frame.insert(1, t["group"], frame["point_of_sale"].map(self.pos_groups()).map(self.group_label))
        frame.insert(0, t["point_of_sale"], frame["point_of_sale"].map(self.pos_label))
        return frame.sort_values(t["point_of_sale_leads"], ascending=False)

    def by_point_of_sale(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")  # the headline says there is no data
        t, lang = self.t, self.language
        frame = self.by_point_of_sale_frame().drop(columns="point_of_sale")
        fig = px.bar(frame, x=t["point_of_sale"], y=t["point_of_sale_leads"], color=t["group"],
                     color_discrete_sequence=PALETTE, title=t["by_point_of_sale"])
        fig.update_layout(xaxis_tickangle=-45, margin=dict(b=140), legend_title_text=t["group"])
        # plotly express writes each group's name into its hover template as markup: name it by
        # reference instead (h.figure escapes the names themselves)
        fig.update_traces(hovertemplate=f"%{{x}}<br>{h.chart_text(t['leads'])}: %{{y}}"
                                        "<extra>%{fullData.name}</extra>")
        table = h.table(frame, numeric=(t["point_of_sale_leads"], t["previous_month"], t["change"]),
                        formats={t["change"]: lambda v: percent(v, lang, signed=True)})
        return h.HTML(str(h.figure(fig, 480)) + str(table))

    def by_group(self) -> h.HTML:
        """Leads per group (region, brand) against the previous month."""
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        t, lang = self.t, self.language
        current, before = self.by_group_counts(self.current), self.by_group_counts(self.previous)
        groups = list(current.index) + [g for g in before.index if g not in current.index]
        frame = pd.DataFrame({t["group"]: [self.group_label(g) for g in groups],
                              t["point_of_sale_leads"]: [int(current.get(g, 0)) for g in groups],
                              t["previous_month"]: [int(before.get(g, 0)) for g in groups]})
        frame[t["change"]] = [change(a, b) for a, b in zip(frame[t["point_of_sale_leads"]], frame[t["previous_month"]], strict=True)]
        fig = px.bar(frame, x=t["group"], y=[t["point_of_sale_leads"], t["previous_month"]], barmode="group",
                     title=t["by_group"], color_discrete_sequence=PALETTE)
        fig.update_layout(legend_title_text="")
        table = h.table(frame, numeric=(t["point_of_sale_leads"], t["previous_month"], t["change"]),
                        formats={t["change"]: lambda v: percent(v, lang, signed=True)})
        return h.HTML(str(self.section("by_group")) + str(h.figure(fig, 380)) + str(table))

    def movers_frame(self) -> pd.DataFrame:
        """Points of sale by change in leads against the previous month, largest first."""
        frame = self.by_point_of_sale_frame()
        t = self.t
        frame["delta"] = frame[t["point_of_sale_leads"]] - frame[t["previous_month"]]
        return frame[frame["delta"] != 0].sort_values("delta", key=abs, ascending=False)

    def top_movers(self) -> h.HTML:
        """The largest rises and falls in leads against the previous month."""
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        t, lang = self.t, self.language
        movers = self.movers_frame()
        parts = [str(self.section("top_movers"))]
        for key, rows in (("rises", movers[movers["delta"] > 0].head(TOP_MOVERS)),
                          ("falls", movers[movers["delta"] < 0].head(TOP_MOVERS))):
            if rows.empty:
                continue
            view = pd.DataFrame({t["point_of_sale"]: rows[t["point_of_sale"]],
                                 t["point_of_sale_leads"]: rows[t["point_of_sale_leads"]], t["previous_month"]: rows[t["previous_month"]],
                                 t["difference"]: [f"{d:+d}" for d in rows["delta"]], t["change"]: rows[t["change"]]})
            parts.append(str(h.heading(t[key], level=3)))
            parts.append(str(h.table(view, numeric=(t["point_of_sale_leads"], t["previous_month"], t["difference"], t["change"]),
                                     formats={t["change"]: lambda v: percent(v, lang, signed=True)})))
        return h.HTML("".join(parts))

    def by_portal(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        t, lang = self.t, self.language
        counts = self.by_portal_counts()
        total = counts.sum() or 1
        frame = pd.DataFrame({t["portal"]: [self.portal_label(p) for p in counts.index],
                              self.lead_label(): counts.values.astype(int),
                              t["share"]: counts.to_numpy() / total})
        bar, pie = self._portal_charts(frame)
        table = h.table(frame, numeric=(self.lead_label(), t["share"]),
                        formats={t["share"]: lambda v: percent(v, lang)})
        return h.HTML(str(h.figure(bar, 420)) + str(h.figure(pie, 420)) + str(table))

    def _portal_charts(self, frame: pd.DataFrame) -> tuple[go.Figure, go.Figure]:
        t = self.t
        bar = px.bar(frame, x=t["portal"], y=self.lead_label(), title=self.scoped("by_portal"),
                     color=t["portal"], color_discrete_sequence=PALETTE)
        bar.update_layout(showlegend=False)
        bar.update_traces(hovertemplate="%{x}: %{y}<extra></extra>")  # (not each portal's name as markup)
        pie = go.Figure(go.Pie(labels=frame[t["portal"]], values=frame[self.lead_label()], hole=0.45,
                               marker=dict(colors=PALETTE), sort=False))
        pie.update_layout(title=t["portal_share"])
        return bar, pie

    def daily_chart(self) -> go.Figure:
        t = self.t
        per_day = self.per_day()
        start, end = month_bounds(self.month)
        days = pd.date_range(start, end - dt.timedelta(days=1), freq="D").date
        frame = pd.DataFrame({t["day"]: days, self.lead_label(): [int(per_day.get(d, 0)) for d in days]})
        fig = px.bar(frame, x=t["day"], y=self.lead_label(), title=self.scoped("daily"))
        fig.update_xaxes(tickformat=DAY_FORMAT.get(self.language, "%d/%m"))
        return fig

    def daily(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        return h.figure(self.daily_chart(), 360)

    def heatmap(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        t = self.t
        frame = self.current.assign(portal=self.current["portal"].fillna(""))
        pivot = frame.pivot_table(index="point_of_sale", columns="portal", values="lead_key",
                                  aggfunc="count", fill_value=0)
        if pivot.empty:
            return h.note(t["no_data"])
        pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]
        pivot = pivot[pivot.sum(axis=0).sort_values(ascending=False).index]
        fig = go.Figure(go.Heatmap(
            z=pivot.values, x=[self.portal_label(p) for p in pivot.columns],
            y=[self.pos_label(p) for p in pivot.index], colorscale="Blues",
            hovertemplate="%{y} · %{x}: %{z}<extra></extra>", text=pivot.values,
            texttemplate="%{text}"))
        fig.update_layout(title=t["heatmap"], yaxis_autorange="reversed")
        return h.figure(fig, max(360, 26 * len(pivot) + 140))

    def traffic_section(self) -> h.HTML:
        t, lang = self.t, self.language
        traffic = self.traffic()
        frame = pd.DataFrame({
            t["category"]: [t["categories"].get(c, c) for c in traffic["category"]],
            t["tracking_copies"]: traffic["tracking_copies"],
            t["without_point_of_sale"]: traffic["without_point_of_sale"],
            t["without_portal"]: traffic["without_portal"],
            t["mailbox_copies"]: traffic["mailbox_copies"],
        })
        if self.point_of_sale:  # a point of sale's copies have one by definition
            frame = frame.drop(columns=t["without_point_of_sale"])
        if not traffic["mailbox_copies"].any():
            frame = frame.drop(columns=t["mailbox_copies"])
        table = h.table(frame, numeric=tuple(frame.columns[1:]))
        return h.HTML(str(self.section("traffic")) + str(table)
                      + str(h.note(f"{t['quarantined']}: {number(self.quarantined(), lang)}")))

    def email_charts(self) -> list[tuple[str, go.Figure]]:
        if not self.has_data():
            return []
        t = self.t
        counts = self.by_portal_counts()
        frame = pd.DataFrame({t["portal"]: [self.portal_label(p) for p in counts.index],
                              self.lead_label(): counts.values.astype(int)})
        bar, _ = self._portal_charts(frame)
        return [(self.scoped("by_portal"), bar), (self.scoped("daily"), self.daily_chart())]
