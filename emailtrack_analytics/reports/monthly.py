"""The monthly report: what ``notebooks/monthly.ipynb`` shows, one method per section.

What a network manager looks for first: the month against the previous one, the same month last
year (only when the workspace has data for it: else "n/d", never 0) and the year to date; the
12-month trend; each point of sale's rank, share and distance to its group's and the network's
average, with its tracking health beside its figure so that a tracking failure never reads as a
sales drop. A point of sale's own report shows its trend and its peers (its group).

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
import plotly.graph_objects as go

from ..analytics.api import Analytics
from ..config.months import month_bounds, shift_month
from . import html as h
from .base import Report, change
from .labels import DAY_FORMAT, colon, month_name, number, percent, short_month
from .style import AVERAGE, CURRENT, FLAGGED, PREVIOUS, count_axis, count_colorbar, series_colors

TOP_MOVERS = 5
# the columns of ``leads`` the report reads (fewer columns: less to compute and to convert)
LEAD_COLUMNS = "lead_key, point_of_sale, month, portal, copies, local_date"


class MonthlyReport(Report):
    """Volumes of one month against the previous month, the same month last year and the year
    to date, for the network or one point of sale."""

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
            # the network's figures: every point of sale's rank, share and averages need them all
            self._network = {m: data.figures(m) if self.point_of_sale else self._figures[m] for m in params[:2]}
            # 24 months: the 12 the trend shows, and the 12 before for "a year earlier"
            self._history = data.history(shift_month(month, -23), month, self.point_of_sale)
            self._peer_history = data.sql(
                "SELECT month, point_of_sale, sum(point_of_sale_leads)::BIGINT AS leads FROM point_of_sale_leads "
                "WHERE month BETWEEN ? AND ? AND point_of_sale IS NOT NULL GROUP BY ALL",
                [shift_month(month, -11), month]) if self.point_of_sale else pd.DataFrame()
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

    def _has_data(self, month: str) -> bool:
        """Whether the workspace holds any copy of ``month`` (else its figures read n/d, not 0)."""
        rows = self._history[self._history["month"] == month]
        return bool(rows["has_data"].iloc[0]) if len(rows) else False

    def last_year(self) -> tuple[int | None, float | None]:
        """The same month last year and the change against it; (None, None) when the workspace
        has no data for that month."""
        month = shift_month(self.month, -12)
        if not self._has_data(month):
            return None, None
        return self._count(month), change(self._count(self.month), self._count(month))

    def year_to_date(self) -> dict[str, Any]:
        """Leads from January (or the first month with data that year) to the report's month, and
        the same months a year earlier when the workspace has data for every one of them."""
        rows = self._history[(self._history["month"] >= f"{self.month[:4]}-01") & self._history["has_data"]]
        if rows.empty:
            return {"leads": None, "from": None, "last_year": None, "change": None}
        total = int(rows["leads"].sum())
        earlier = self._history[self._history["month"].isin([shift_month(m, -12) for m in rows["month"]])]
        last_year = int(earlier["leads"].sum()) if len(earlier) == len(rows) and earlier["has_data"].all() else None
        return {"leads": total, "from": str(rows["month"].iloc[0]), "last_year": last_year,
                "change": change(total, last_year) if last_year is not None else None}

    def trend(self) -> pd.DataFrame:
        """The last 12 months: ``leads`` (NA for a month without data) and ``a_year_earlier``."""
        months = [shift_month(self.month, -i) for i in range(11, -1, -1)]
        by_month = self._history.set_index("month")["leads"]

        def leads(month: str) -> float:  # NaN: no data that month (not 0)
            value = by_month.get(month)
            return float(value) if value is not None and not pd.isna(value) else float("nan")

        return pd.DataFrame({"month": months, "leads": [leads(m) for m in months],
                             "a_year_earlier": [leads(shift_month(m, -12)) for m in months]})

    def standings(self) -> pd.DataFrame:
        """Every point of sale of the network this month: its leads, the previous month's, rank,
        share of the network's point-of-sale leads, its group's and the network's average per
        point of sale (every configured point of sale counts, one without a lead as 0), and its
        tracking flag. Sorted by rank."""
        current = self._network[self.month]["leads_by_point_of_sale"]
        before = self._network[shift_month(self.month, -1)]["leads_by_point_of_sale"]
        ids = [p.id for p in self.workspace.points_of_sale]
        ids += sorted((set(current) | set(before)) - set(ids))
        frame = pd.DataFrame({"point_of_sale": ids,
                              "group": [self.pos_groups().get(p, "") for p in ids],
                              "leads": [int(current.get(p, 0)) for p in ids],
                              "previous": [int(before.get(p, 0)) for p in ids]})
        frame["rank"] = frame["leads"].rank(method="min", ascending=False).astype(int)
        total = int(frame["leads"].sum())
        frame["share"] = frame["leads"] / total if total else None
        frame["group_average"] = frame.groupby("group")["leads"].transform("mean")
        frame["network_average"] = frame["leads"].mean()
        frame["vs_group"] = [change(n, avg) for n, avg in zip(frame["leads"], frame["group_average"], strict=True)]
        frame["change"] = [change(n, b) for n, b in zip(frame["leads"], frame["previous"], strict=True)]
        frame["flag"] = [self.flag(p) for p in ids]
        return frame.sort_values(["rank", "point_of_sale"]).reset_index(drop=True)

    def figures(self) -> dict[str, Any]:
        """The headline figures (also recorded as the report's summary). ``leads`` is the network
        leads (distinct leads), or the point of sale's leads in a point of sale's report;
        ``copies`` the tracking copies of leads (``tracking_lead_copies``). A comparison with a
        month the workspace has no data for is None (n/d), never 0."""
        previous = shift_month(self.month, -1)
        figures = self._figures[self.month]
        current = self._count(self.month)
        traffic = self.traffic()
        per_day = self.per_day()
        last_year, change_last_year = self.last_year()
        ytd = self.year_to_date()
        flags = self.tracking_flags()
        values = {
            "report": "monthly",
            "month": self.month,
            "point_of_sale": self.point_of_sale,
            "leads": current,
            "network_leads": figures["network_leads"],
            "point_of_sale_leads": figures["point_of_sale_leads"],
            "point_of_sale_rows": figures["point_of_sale_leads"],
            "leads_previous_month": self._count(previous) if self._has_data(previous) else None,
            "change_previous_month": change(current, self._count(previous)) if self._has_data(previous) else None,
            "leads_same_month_last_year": last_year,
            "change_last_year": change_last_year,
            "leads_year_to_date": ytd["leads"],
            "year_to_date_from": ytd["from"],
            "leads_year_to_date_last_year": ytd["last_year"],
            "change_year_to_date": ytd["change"],
            "trend": {str(m): None if pd.isna(n) else int(n) for m, n in self.trend()[["month", "leads"]].to_numpy()},
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
            "tracking_flags": sorted(flags),
        }
        if self.point_of_sale:
            values.update(self._standing())
        return values

    def _standing(self) -> dict[str, Any]:
        """A point of sale's place in the network: rank, share, its group's and the network's average."""
        frame = self.standings()
        row = frame[frame["point_of_sale"] == self.point_of_sale].iloc[0]
        return {"rank": int(row["rank"]), "ranked": len(frame),
                "share_of_network": None if pd.isna(row["share"]) else float(row["share"]),
                "group": self.pos_groups().get(str(self.point_of_sale), ""),
                "group_average": float(row["group_average"]), "network_average": float(row["network_average"]),
                "change_vs_group": row["vs_group"]}

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

    # ------------------------------------------------------------------ texts
    def _signed(self, value: float | None) -> str:
        return percent(value, self.language, signed=True).replace("-", "\u2212")

    def _compared(self, key: str, count: int | None, delta: float | None, month: str) -> str:
        """``Mois précédent : 750 (−5,2 %)``, or ``aucune donnée pour octobre 2026``."""
        if count is None:
            return str(self.t["no_data_for"]).format(month=month_name(month, self.language))
        return f"{self.t[key]}{colon(self.language)}{number(count, self.language)} ({self._signed(delta)})"

    # ------------------------------------------------------------------ sections
    def headline(self) -> h.HTML:
        f, lang, t = self.figures(), self.language, self.t
        previous, last_year = shift_month(self.month, -1), shift_month(self.month, -12)
        ytd_label = t["year_to_date"] if (f["year_to_date_from"] or "").endswith("-01") else \
            str(t["year_to_date_since"]).format(month=month_name(f["year_to_date_from"] or self.month, lang))
        ytd_detail = (str(t["same_period_last_year"]).format(n=number(f["leads_year_to_date_last_year"], lang),
                                                              change=self._signed(f["change_year_to_date"]))
                      if f["leads_year_to_date_last_year"] is not None
                      else str(t["no_data_for"]).format(month=str(int(self.month[:4]) - 1)))
        items: list[tuple[str, str, str | None, float | None]] = [
            (self.lead_label(), number(f["leads"], lang),
             self._compared("previous_month", f["leads_previous_month"], f["change_previous_month"], previous),
             f["change_previous_month"]),
            (t["last_year"], number(f["leads_same_month_last_year"], lang),
             self._signed(f["change_last_year"]) if f["leads_same_month_last_year"] is not None
             else str(t["no_data_for"]).format(month=month_name(last_year, lang)), f["change_last_year"]),
            (ytd_label, number(f["leads_year_to_date"], lang), ytd_detail, f["change_year_to_date"]),
        ]
        if self.point_of_sale:
            items += self._standing_cards(f)
        else:
            items.insert(1, (t["point_of_sale_rows"], number(f["point_of_sale_rows"], lang), None, None))
            items.append((t["active_points_of_sale"], number(f["active_points_of_sale"], lang), None, None))
        items.append((t["copies"], number(f["copies"], lang), None, None))
        if f["mailbox_copies"]:
            items.append((t["mailbox_copies"], number(f["mailbox_copies"], lang), None, None))
        notes = [str(h.note(t["no_data"]))] if not self.has_data() else []
        if self.point_of_sale and self.point_of_sale in self.tracking_flags():
            notes.append(str(h.note(t["flag_explained"])))
        return h.HTML(str(h.cards(items)) + "".join(notes) + str(h.note(t["definitions"])))

    def _standing_cards(self, f: dict[str, Any]) -> list[tuple[str, str, str | None, float | None]]:
        t, lang = self.t, self.language
        cards: list[tuple[str, str, str | None, float | None]] = [
            (t["rank"], str(t["rank_value"]).format(rank=f["rank"], of=f["ranked"]), None, None),
            (t["share_of_network"], percent(f["share_of_network"], lang), None, None),
            (t["vs_group"], self._signed(f["change_vs_group"]),
             f"{t['group_average']}{colon(lang)}{number(f['group_average'], lang)} · "
             f"{t['network_average']}{colon(lang)}{number(f['network_average'], lang)}", f["change_vs_group"]),
        ]
        flag = self.flag(self.point_of_sale)
        if flag:
            cards.append((t["tracking"], "⚠", flag, -1))
        return cards

    def trend_section(self) -> h.HTML:
        """The last 12 months, with the same months a year earlier where there is data; in a point
        of sale's report, its group's and the network's average per point of sale beside it."""
        t, lang = self.t, self.language
        trend = self.trend()
        if trend["leads"].isna().all():
            return h.HTML("")
        months = [short_month(m, lang) for m in trend["month"]]
        fig = go.Figure(go.Bar(x=months, y=trend["leads"], name=t["this_year"],
                               marker_color=CURRENT, hovertemplate="%{x}: %{y:,d}<extra></extra>"))
        if trend["a_year_earlier"].notna().any():
            fig.add_trace(go.Scatter(x=months, y=trend["a_year_earlier"], name=t["a_year_earlier"],
                                     mode="lines+markers", line=dict(color=PREVIOUS, width=3)))
        if self.point_of_sale:
            for name, values, dash in self._average_lines(trend["month"]):
                fig.add_trace(go.Scatter(x=months, y=values, name=name, mode="lines",
                                         line=dict(dash=dash, width=2, color=AVERAGE)))
        values = pd.concat([trend["leads"], trend["a_year_earlier"]])
        top = float(values.max()) if values.notna().any() else 1.0
        count_axis(fig, top * 1.1)
        fig.update_layout(title=self.scoped("trend_12"), yaxis_title=self.lead_label(), xaxis_title=t["month"],
                          showlegend=len(fig.data) > 1)
        return h.HTML(str(self.section("trends")) + str(self.chart(fig, 380)))

    def _average_lines(self, months: pd.Series) -> list[tuple[str, list[float], str]]:
        """The group's and the network's average per point of sale, month by month (every
        configured point of sale counts, one without a lead as 0)."""
        history = self._peer_history
        ids = [p.id for p in self.workspace.points_of_sale]
        group = self.pos_groups().get(str(self.point_of_sale), "")
        peers = [p for p in ids if self.pos_groups().get(p, "") == group]
        lines = []
        for name, members, dash in ((self.t["group_average"], peers, "dot"), (self.t["network_average"], ids, "dash")):
            rows = history[history["point_of_sale"].isin(members)].groupby("month")["leads"].sum()
            lines.append((name, [float(rows.get(m, 0)) / len(members) for m in months], dash))
        return lines

    def _standings_view(self, frame: pd.DataFrame) -> h.HTML:
        t, lang = self.t, self.language
        view = pd.DataFrame({
            t["rank"]: frame["rank"], t["point_of_sale"]: frame["point_of_sale"].map(self.pos_label),
            t["group"]: frame["group"].map(self.group_label), t["point_of_sale_leads"]: frame["leads"],
            t["share_of_network"]: frame["share"], t["previous_month"]: frame["previous"],
            t["change"]: frame["change"], t["vs_group"]: frame["vs_group"], t["tracking"]: frame["flag"]})
        signed = self._signed
        return h.table(view, numeric=(t["rank"], t["point_of_sale_leads"], t["share_of_network"], t["previous_month"],
                                      t["change"], t["vs_group"]),
                       formats={t["share_of_network"]: lambda v: percent(v, lang), t["change"]: signed,
                                t["vs_group"]: signed, t["point_of_sale_leads"]: lambda v: number(v, lang),
                                t["previous_month"]: lambda v: number(v, lang)})

    def _standings_chart(self, frame: pd.DataFrame, title: str) -> go.Figure:
        """Horizontal bars per point of sale, largest first, coloured by group (in a point of
        sale's report: itself against its peers); a point of sale whose tracking failed is grey,
        hatched and marked ⚠, its flag in the hover."""
        t = self.t
        names = [self.pos_label(p) + (" ⚠" if flag else "")
                 for p, flag in zip(frame["point_of_sale"], frame["flag"], strict=True)]
        frame = frame.assign(name=names)
        groups = list(dict.fromkeys(frame["group"]))
        colors = series_colors(groups)
        fig = go.Figure()

        def bars(rows: pd.DataFrame, name: str, marker: dict[str, Any]) -> None:
            fig.add_trace(go.Bar(y=rows["name"], x=rows["leads"], orientation="h", name=name, marker=marker,
                                 text=rows["leads"], textposition="outside", cliponaxis=False,
                                 customdata=rows["flag"], hovertemplate="%{y}: %{x:,d}<br>%{customdata}<extra></extra>"))

        flagged = frame["flag"] != ""
        if self.point_of_sale:  # itself against its peers, a flagged one hatched
            for rows, name, color in ((frame[frame["point_of_sale"] == self.point_of_sale],
                                       self.pos_label(self.point_of_sale), CURRENT),
                                      (frame[frame["point_of_sale"] != self.point_of_sale], t["peers_legend"], PREVIOUS)):
                if len(rows):
                    bars(rows, name, dict(color=color, pattern_shape=["/" if f else "" for f in rows["flag"]]))
        else:
            for group in groups:
                rows = frame[(frame["group"] == group) & ~flagged]
                if len(rows):
                    bars(rows, self.group_label(group), dict(color=colors[group]))
            if flagged.any():
                bars(frame[flagged], t["flagged_legend"], dict(color=FLAGGED, pattern_shape="/"))
        count_axis(fig, float(frame["leads"].max() or 1) * 1.12, axis="x")
        fig.update_layout(title=title, xaxis_title=t["point_of_sale_leads"], barmode="overlay",
                          yaxis=dict(categoryorder="array", categoryarray=list(frame["name"]), autorange="reversed"),
                          showlegend=len(fig.data) > 1)
        return fig

    def by_point_of_sale_frame(self) -> pd.DataFrame:
        """The points of sale of the report's scope: leads, previous month, change (labelled)."""
        t = self.t
        frame = self.standings()
        if self.point_of_sale:
            frame = frame[frame["point_of_sale"] == self.point_of_sale]
        view = pd.DataFrame({"point_of_sale": frame["point_of_sale"],
                             t["point_of_sale"]: frame["point_of_sale"].map(self.pos_label),
                             t["group"]: frame["group"].map(self.group_label),
                             t["point_of_sale_leads"]: frame["leads"], t["previous_month"]: frame["previous"],
                             t["change"]: frame["change"], "flag": frame["flag"]})
        return view.sort_values(t["point_of_sale_leads"], ascending=False, kind="stable")

    def by_point_of_sale(self) -> h.HTML:
        """The network's points of sale ranked, each with its tracking flag; in a point of sale's
        report, its peers (the points of sale of its group, or of the network without groups)."""
        if not self.has_data():
            return h.HTML("")  # the headline says there is no data
        t = self.t
        frame = self.standings()
        title = str(t["by_point_of_sale"])
        heading = ""
        if self.point_of_sale:
            group = self.pos_groups().get(self.point_of_sale, "")
            frame = frame[frame["group"] == group] if group else frame
            title = str(t["peers"] if group else t["peers_network"])
            heading = str(h.heading(title, level=2))
        chart = self.chart(self._standings_chart(frame, title), 150 + 24 * len(frame))
        note = str(h.note(t["flag_explained"])) if (frame["flag"] != "").any() else ""
        return h.HTML(heading + str(chart) + str(self._standings_view(frame)) + note)

    def by_group(self) -> h.HTML:
        """Leads per group (region, brand) against the previous month; a lead that reached points
        of sale of two groups counts in both, which the note says when the groups add up to more."""
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        t, lang = self.t, self.language
        current, before = self.by_group_counts(self.current), self.by_group_counts(self.previous)
        groups = list(current.index) + [g for g in before.index if g not in current.index]
        names = [self.group_label(g) for g in groups]
        now = [int(current.get(g, 0)) for g in groups]
        then = [int(before.get(g, 0)) for g in groups]
        frame = pd.DataFrame({t["group"]: names, t["point_of_sale_leads"]: now, t["previous_month"]: then,
                              t["change"]: [change(a, b) for a, b in zip(now, then, strict=True)]})
        fig = go.Figure([go.Bar(x=names, y=now, name=month_name(self.month, lang), marker_color=CURRENT,
                                text=now, textposition="outside", cliponaxis=False),
                         go.Bar(x=names, y=then, name=t["previous_month"], marker_color=PREVIOUS,
                                text=then, textposition="outside", cliponaxis=False)])
        count_axis(fig, max(now + then + [1]) * 1.15)
        fig.update_layout(barmode="group", title=t["by_group"], xaxis_title=t["group"],
                          yaxis_title=t["point_of_sale_leads"])
        table = h.table(frame, numeric=(t["point_of_sale_leads"], t["previous_month"], t["change"]),
                        formats={t["change"]: self._signed, t["point_of_sale_leads"]: lambda v: number(v, lang),
                                 t["previous_month"]: lambda v: number(v, lang)})
        total, network = sum(now), self._count(self.month)
        note = str(h.note(str(t["group_note"]).format(rows=number(total, lang), network=number(network, lang)))) \
            if total > network else ""
        return h.HTML(str(self.section("by_group")) + str(self.chart(fig, 380)) + str(table) + note)

    def movers_frame(self) -> pd.DataFrame:
        """Points of sale by change in leads against the previous month, largest first."""
        frame = self.by_point_of_sale_frame()
        t = self.t
        frame["delta"] = frame[t["point_of_sale_leads"]] - frame[t["previous_month"]]
        return frame[frame["delta"] != 0].sort_values("delta", key=abs, ascending=False)

    def top_movers(self) -> h.HTML:
        """The largest rises and falls in leads against the previous month, each with its tracking
        flag: a fall that tracking caused says so beside it."""
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        t, lang = self.t, self.language
        movers = self.movers_frame()
        parts = [str(self.section("top_movers"))]
        flagged = False
        for key, rows in (("falls", movers[movers["delta"] < 0].head(TOP_MOVERS)),
                          ("rises", movers[movers["delta"] > 0].head(TOP_MOVERS))):
            if rows.empty:
                continue
            flagged = flagged or bool((rows["flag"] != "").any())
            view = pd.DataFrame({t["point_of_sale"]: rows[t["point_of_sale"]],
                                 t["point_of_sale_leads"]: rows[t["point_of_sale_leads"]],
                                 t["previous_month"]: rows[t["previous_month"]],
                                 t["difference"]: [f"{d:+d}".replace("-", "\u2212") for d in rows["delta"]],
                                 t["change"]: rows[t["change"]], t["tracking"]: rows["flag"]})
            parts.append(str(h.heading(t[key], level=3)))
            parts.append(str(h.table(view, numeric=(t["point_of_sale_leads"], t["previous_month"], t["difference"], t["change"]),
                                     formats={t["change"]: self._signed, t["point_of_sale_leads"]: lambda v: number(v, lang),
                                              t["previous_month"]: lambda v: number(v, lang)})))
        if flagged:
            parts.append(str(h.note(t["flag_explained"])))
        return h.HTML("".join(parts))

    def by_portal(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        t, lang = self.t, self.language
        counts = self.by_portal_counts()
        total = counts.sum() or 1
        frame = pd.DataFrame({"portal": counts.index, t["portal"]: [self.portal_label(p) for p in counts.index],
                              self.lead_label(): counts.values.astype(int),
                              t["share"]: counts.to_numpy() / total})
        bar, pie = self._portal_charts(frame)
        table = h.table(frame.drop(columns="portal"), numeric=(self.lead_label(), t["share"]),
                        formats={t["share"]: lambda v: percent(v, lang), self.lead_label(): lambda v: number(v, lang)})
        return h.HTML(str(self.chart(bar, 420)) + str(self.chart(pie, 420)) + str(table))

    def _portal_charts(self, frame: pd.DataFrame) -> tuple[go.Figure, go.Figure]:
        t, lang = self.t, self.language
        colors = [self.portal_color(p) for p in frame["portal"]]
        values = frame[self.lead_label()]
        bar = go.Figure(go.Bar(x=frame[t["portal"]], y=values, marker_color=colors, text=values,
                               textposition="outside", cliponaxis=False,
                               hovertemplate="%{x}: %{y:,d}<extra></extra>"))
        count_axis(bar, float(values.max() or 1) * 1.15)
        bar.update_layout(title=self.scoped("by_portal"), showlegend=False, xaxis_title=t["portal"],
                          yaxis_title=self.lead_label())
        shares = [percent(s, lang) for s in frame[t["share"]]]
        pie = go.Figure(go.Pie(labels=frame[t["portal"]], values=values, hole=0.45, sort=False,
                               marker=dict(colors=colors), text=shares, textinfo="text",
                               hovertemplate="%{label}: %{value:,d} (%{text})<extra></extra>"))
        pie.update_layout(title=t["portal_share"])
        return bar, pie

    def daily_chart(self) -> go.Figure:
        t = self.t
        per_day = self.per_day()
        start, end = month_bounds(self.month)
        days = pd.date_range(start, end - dt.timedelta(days=1), freq="D").date
        values = [int(per_day.get(d, 0)) for d in days]
        fig = go.Figure(go.Bar(x=list(days), y=values, marker_color=CURRENT,
                               hovertemplate="%{x}: %{y:,d}<extra></extra>"))
        count_axis(fig, max(values + [1]) * 1.1)
        fig.update_xaxes(tickformat=DAY_FORMAT.get(self.language, "%d/%m"))
        fig.update_layout(title=self.scoped("daily"), xaxis_title=t["day"], yaxis_title=self.lead_label())
        return fig

    def daily(self) -> h.HTML:
        if not self.has_data():
            return h.HTML("")
        return self.chart(self.daily_chart(), 360)

    def heatmap(self) -> h.HTML:
        """Point-of-sale leads by portal and point of sale (the network's report: a point of sale's
        own would be one row; its peers show above)."""
        if not self.has_data() or self.point_of_sale:
            return h.HTML("")
        t = self.t
        frame = self.current.assign(portal=self.current["portal"].fillna(""))
        pivot = frame.pivot_table(index="point_of_sale", columns="portal", values="lead_key",
                                  aggfunc="count", fill_value=0)
        if pivot.empty:
            return h.note(t["no_data"])
        pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]
        pivot = pivot[pivot.sum(axis=0).sort_values(ascending=False).index]
        flags = {p: self.flag(p) for p in pivot.index}
        fig = go.Figure(go.Heatmap(
            z=pivot.values, x=[self.portal_label(p) for p in pivot.columns],
            y=[self.pos_label(p) + (" ⚠" if flags[p] else "") for p in pivot.index], colorscale="Blues",
            hovertemplate="%{y} · %{x}: %{z}<extra></extra>", text=pivot.values,
            texttemplate="%{text}",
            colorbar=dict(title=dict(text=t["point_of_sale_leads"]), **count_colorbar(float(pivot.values.max())))))
        fig.update_layout(title=t["heatmap"], yaxis_autorange="reversed", xaxis_title=t["portal"],
                          yaxis_title=t["point_of_sale"])
        return self.chart(fig, max(360, 26 * len(pivot) + 160))

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
        numeric = tuple(frame.columns[1:])
        table = h.table(frame, numeric=numeric, formats={c: (lambda v: number(v, lang)) for c in numeric})
        return h.HTML(str(self.section("traffic")) + str(table)
                      + str(h.note(f"{t['quarantined']}{colon(lang)}{number(self.quarantined(), lang)}")))
