"""The tracking health report: configuration problems with their fix, alerts with their evidence
(a point of sale whose coverage is below the line is one), coverage per point of sale and over
12 months, and the leads that never reached tracking with their likely cause (no personal data).
Every text is written in the page's language from the facts the analytics carry (their ``detail``
and ``fix`` are English, for ``emailtrack status`` and logs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ..analytics import checks, deployment, health
from ..analytics.api import Analytics, frame_rows
from ..config.months import month_bounds, shift_month
from ..config.workspace import Workspace
from . import html as h
from .base import Report
from .health_text import alert_evidence
from .labels import date, labels, month_name, number, percent, short_month
from .style import CURRENT, FALL, PREVIOUS, RISE

# room right of a 100 % bar for its value; above a 100 % line for its value, and below it so that a
# line at 0 % is not hidden by the axis
COVERAGE_AXIS_TOP = 1.18
TREND_AXIS_RANGE = (-0.04, 1.1)


class HealthReport(Report):
    title_key = "health_title"

    def __init__(self, data: Analytics, month: str, point_of_sale: str | None = None, language: str = ""):
        super().__init__(data, month, point_of_sale, language)
        first = shift_month(month, -11)
        where, params = "month BETWEEN ? AND ?", [first, month]
        # the network's coverage per month, beside a point of sale's own in its report
        self.network_coverage = data.sql(
            f"SELECT month, sum(expected) AS expected, sum(tracked) AS tracked FROM coverage WHERE {where} "
            "GROUP BY month ORDER BY month", params)
        if self.point_of_sale:
            where += " AND point_of_sale = ?"
            params.append(self.point_of_sale)
        self.coverage = data.sql(f"SELECT * FROM coverage WHERE {where} ORDER BY month, point_of_sale", params)
        self.current = self.coverage[self.coverage["month"] == month]
        self.missing = health.missing_leads(data, month, self.point_of_sale)
        found = health.alerts(data, month)
        if self.point_of_sale:
            found = [a for a in found if a.point_of_sale in (None, self.point_of_sale)]
        self.alert_list = found  # the facts each alert's evidence is written from, in the page's language
        self.alerts = health.alerts_frame(found)
        problems = checks.find_checks(data.sql, self.workspace)
        if self.point_of_sale:
            problems = [c for c in problems if c.point_of_sale in (None, self.point_of_sale)]
        self.check_list = problems
        self.checks = checks.frame(problems)
        # as of the month's last day, or the last copy before it when the data stops earlier
        self.deployment = deployment.deployment(data.sql, self.workspace,
                                                month_bounds(month)[1] - dt.timedelta(days=1),
                                                self.point_of_sale or None, found=problems, within_data=True)
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
    def title(self) -> h.HTML:
        """The report, its scope (the point of sale, else the network) and month; the day it was made."""
        t, lang = self.t, self.language
        month = month_name(self.month, lang)
        head = (f"{t[self.title_key]} — {self.pos_label(self.point_of_sale)} — {month}" if self.point_of_sale
                else f"{t[self.title_key]} — {month}")
        return h.heading(head, f"{self.workspace.name} · {t['generated']} {date(dt.date.today(), lang)}")

    def headline(self) -> h.HTML:
        t, lang, f = self.t, self.language, self.figures()
        items = [(t["expected"], number(f["expected"], lang), None, None),
                 (t["tracked"], number(f["tracked"], lang), None, None),
                 (t["coverage"], percent(f["coverage"], lang), None, None),
                 (t["checks"], number(len(f["checks"]), lang), None, -1 if f["checks"] else None),
                 (t["alerts"], number(len(f["alerts"]), lang), None, -1 if f["alerts"] else None)]
        note = "" if f["expected"] else str(h.note(t["no_evidence"]))
        colon = " : " if lang == "fr" else ": "
        scale = h.note(f"{t['point_of_sale_leads']}{colon}{number(f['point_of_sale_leads'], lang)} · "
                       f"{t['mailbox_copies']}{colon}{number(f['mailbox_copies'], lang)}")
        return h.HTML(str(h.cards(items)) + note + str(scale) + str(self.definitions()))

    def checks_section(self) -> h.HTML:
        """Configuration problems (checks.py), each with its evidence and its fix written in the page's
        language: the TOML to add for an address no point of sale claims. Every cell is escaped
        (addresses come from emails)."""
        t, lang = self.t, self.language
        if not self.check_list:
            return h.HTML(str(self.section("checks")) + str(h.note(t["no_checks"])))
        names = self.pos_names()
        table = pd.DataFrame({
            t["check_kind"]: [t["check_kinds"].get(c.kind, c.kind) for c in self.check_list],
            t["point_of_sale"]: [self.pos_label(c.point_of_sale) if c.point_of_sale else "" for c in self.check_list],
            t["address"]: [c.address or "" for c in self.check_list],
            t["count"]: [number(c.count, lang) for c in self.check_list],
            t["evidence"]: [check_evidence(c, lang, names) for c in self.check_list],
            t["fix"]: [check_fix(c, lang, self.workspace, self.check_list, names) for c in self.check_list]})
        return h.HTML(str(self.section("checks")) + str(h.table(table, numeric=(t["count"],))))

    def deployment_section(self) -> h.HTML:
        """Each point of sale's set-up: the modes its copies reach tracking by (live or stopped), its
        last copy, its failed forwards with what their code means, and the deployment's alerts
        (analytics/deployment.py), in the page's language."""
        t, lang, found = self.t, self.language, self.deployment
        head = str(self.section("deployment"))
        if found.as_of is None:
            return h.HTML(head + str(h.note(t["deployment_none"])))
        day = found.as_of.replace(tzinfo=dt.timezone.utc).astimezone(self.workspace.tz).date()
        note = str(t["deployment_note"]).format(day=date(day, lang), days=number(found.window_days, lang))
        rows = found.points_of_sale
        table = pd.DataFrame({
            t["point_of_sale"]: [self.pos_label(p.point_of_sale) for p in rows],
            t["deployment_state"]: [t["deployment_states"][p.state] for p in rows],
            t["live_modes"]: [[str(t["mode_since"]).format(mode=t["modes"].get(m.how, m.channel),
                                                           since=date(self._local_day(m.since), lang),
                                                           copies=number(m.recent_copies, lang),
                                                           days=number(found.window_days, lang))
                               for m in p.live_modes] for p in rows],
            t["stopped_modes"]: [[str(t["mode_last"]).format(mode=t["modes"].get(m.how, m.channel),
                                                             last=date(self._local_day(m.last_copy), lang))
                                  for m in p.modes if not m.live] for p in rows],
            t["last_copy"]: [date(self._local_day(p.last_copy), lang) if p.last_copy else "" for p in rows],
            t["failed_forwards"]: [[self._failure_text(f) for f in p.failures] for p in rows],
            t["deployment_alerts"]: [[self._deployment_alert(a, p) for a in p.alerts] for p in rows]})
        return h.HTML(head + str(h.note(note)) + str(h.table(table)))

    def _local_day(self, moment: dt.datetime) -> dt.date:
        return moment.replace(tzinfo=dt.timezone.utc).astimezone(self.workspace.tz).date()

    def _failure_text(self, failure: deployment.Failure) -> str:
        t, lang = self.t, self.language
        code = failure.code or str(t["no_code"])
        text = str(t["failure"]).format(address=failure.tracked_address, count=number(failure.count, lang),
                                        status=t["failure_statuses"].get(failure.status, failure.status), code=code,
                                        last=date(self._local_day(failure.last), lang))
        meaning = failure_meaning(failure.code, lang)
        colon = " : " if lang == "fr" else ": "
        return f"{text}{colon}{meaning}" if meaning else text

    def _deployment_alert(self, alert: deployment.DeploymentAlert, pos: deployment.Deployment) -> str:
        """A deployment alert written from the facts it was made of, in the page's language."""
        t, lang = self.t, self.language
        if alert.mode is not None and alert.kind == "client_rule_delays":
            m = alert.mode
            return str(t["delays_evidence"]).format(late=number(m.late_copies, lang), copies=number(m.run_copies, lang),
                                                    since=date(self._local_day(m.since), lang),
                                                    hours=number(deployment.LATE_AFTER_S // 3600, lang))
        if alert.mode is not None and alert.kind == "mode_stopped":
            m = alert.mode
            as_of = self.deployment.as_of or m.last_copy
            return str(t["stopped_evidence"]).format(mode=t["modes"].get(m.how, m.channel),
                                                     days=number((as_of - m.last_copy).days, lang),
                                                     last=date(self._local_day(m.last_copy), lang))
        if alert.failure is not None:
            f = alert.failure
            return str(t["failures_evidence"]).format(count=number(f.recent, lang), address=f.tracked_address,
                                                      code=f.code or t["no_code"],
                                                      days=number(self.deployment.window_days, lang))
        return alert.detail

    def likely_cause(self, point_of_sale: object) -> str:
        """The most frequent likely cause of a point of sale's missing leads this month, ties to the
        first in ``health.CAUSES`` (as the email's flags); '' without missing leads."""
        if self.missing.empty:
            return ""
        counts = self.missing.loc[self.missing["point_of_sale"] == point_of_sale, "cause"].value_counts()
        if counts.empty:
            return ""
        order = {cause: i for i, cause in enumerate(health.CAUSES)}
        cause = str(max(counts.index, key=lambda c: (counts[c], -order.get(str(c), len(order)))))
        return str(self.t["causes"].get(cause, cause))

    def coverage_section(self) -> h.HTML:
        """Each point of sale's coverage, the lowest first: a bar with its value written beside it (a
        0 % bar has no length), the line below which tracking failed, and a table with its flag."""
        t, lang = self.t, self.language
        rows = self.current[self.current["expected"] > 0].sort_values(["coverage", "point_of_sale"])
        if rows.empty:
            return h.HTML("")
        ids = [str(p) for p in rows["point_of_sale"]]
        names = [self.pos_label(p) for p in ids]
        values = [float(c) for c in rows["coverage"]]
        flags = [self.flag(p) for p in ids]
        # (name, coverage, tracked, expected, flag) per bar
        bars = [(n, v, int(tr), int(ex), f) for n, v, tr, ex, f
                in zip(names, values, rows["tracked"], rows["expected"], flags, strict=True)]
        if self.point_of_sale:  # one bar says little without the network's beside it
            network = self.network_coverage[self.network_coverage["month"] == self.month]
            if not network.empty and int(network["expected"].iloc[0]):
                tracked, expected = int(network["tracked"].iloc[0]), int(network["expected"].iloc[0])
                bars.append((str(t["network"]), tracked / expected, tracked, expected, ""))
        # below the line in the alert's colour; the network, a reference, in grey
        colors = [FALL if bar[1] < health.LOW_COVERAGE else RISE for bar in bars]
        colors[len(rows):] = [PREVIOUS] * (len(bars) - len(rows))
        fig = go.Figure(go.Bar(
            x=[bar[1] for bar in bars], y=[bar[0] for bar in bars], orientation="h", marker_color=colors,
            text=[percent(bar[1], lang) for bar in bars], textposition="outside", cliponaxis=False,
            customdata=[[f"{number(tr, lang)}/{number(ex, lang)}", flag] for _, _, tr, ex, flag in bars],
            hovertemplate="%{y}: %{text} (%{customdata[0]}) %{customdata[1]}<extra></extra>"))
        fig.add_vline(x=health.LOW_COVERAGE, line_dash="dash", line_color=PREVIOUS,
                      annotation_text=str(t["coverage_line"]).format(line=percent(health.LOW_COVERAGE, lang)),
                      annotation_position="top")
        fig.update_layout(title=t["coverage_by_pos"], showlegend=False, xaxis_title=t["coverage"], yaxis_title="")
        fig.update_xaxes(tickformat=".0%", range=[0, COVERAGE_AXIS_TOP], tickvals=[0, 0.25, 0.5, 0.75, 1])
        fig.update_yaxes(autorange="reversed")
        table = pd.DataFrame({t["point_of_sale"]: names,
                              t["expected"]: [number(v, lang) for v in rows["expected"]],
                              t["tracked"]: [number(v, lang) for v in rows["tracked"]],
                              t["missing_leads"]: [number(v, lang) for v in rows["missing"]],
                              t["coverage"]: [percent(v, lang) for v in values],
                              t["tracking_flag"]: flags,
                              t["cause"]: [self.likely_cause(p) if m else "" for p, m in zip(ids, rows["missing"],
                                                                                            strict=True)]})
        return h.HTML(str(self.section("coverage_by_pos")) + str(self.chart(fig, max(260, 26 * len(bars) + 150)))
                      + str(h.table(table, numeric=(t["expected"], t["tracked"], t["missing_leads"], t["coverage"]))))

    def coverage_trend(self) -> h.HTML:
        """Coverage month by month over 12 months (months without evidence left out), from 0 to
        100 %; a point of sale's report shows the network's beside its own."""
        t, lang = self.t, self.language
        own = _per_month(self.coverage)
        if own.empty:
            return h.HTML("")
        network = _per_month(self.network_coverage)
        months = sorted(set(own.index) | (set(network.index) if self.point_of_sale else set()))
        fig = go.Figure()
        if self.point_of_sale:
            fig.add_trace(go.Scatter(x=[short_month(m, lang) for m in network.index], y=list(network),
                                     name=str(t["network"]), mode="lines+markers",
                                     line=dict(color=PREVIOUS, dash="dot"),
                                     hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>"))
        name = self.pos_label(self.point_of_sale) if self.point_of_sale else str(t["network"])
        fig.add_trace(go.Scatter(x=[short_month(m, lang) for m in own.index], y=list(own), name=name,
                                 mode="lines+markers+text", line=dict(color=CURRENT, width=3), marker_size=8,
                                 text=[percent(v, lang) for v in own], textposition="top center", cliponaxis=False,
                                 hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>"))
        fig.add_hline(y=health.LOW_COVERAGE, line_dash="dash", line_color=FALL, line_width=1)
        title = (str(t["coverage_trend_pos"]).format(point_of_sale=name) if self.point_of_sale
                 else t["coverage_trend"])
        fig.update_layout(title=title, showlegend=bool(self.point_of_sale), xaxis_title=t["month"],
                          yaxis_title=t["coverage"])
        fig.update_xaxes(type="category", categoryorder="array",
                         categoryarray=[short_month(m, lang) for m in months])
        fig.update_yaxes(tickformat=".0%", range=list(TREND_AXIS_RANGE), tickvals=[0, 0.25, 0.5, 0.75, 1])
        return self.chart(fig, 340)

    def alerts_section(self) -> h.HTML:
        """One row per alert, its evidence written from its facts in the page's language, with the
        likely cause of the point of sale's missing leads; a template spike also shows example subjects
        (personal details removed). Every cell is escaped by ``h.table``: evidence holds text from
        emails (a sender's domain, subjects)."""
        t, lang = self.t, self.language
        if not self.alert_list:
            note = t["no_alerts_but_checks"] if self.check_list else t["no_alerts"]
            return h.HTML(str(self.section("alerts")) + str(h.note(note)))
        table = pd.DataFrame({
            t["alert_kind"]: [t["alert_kinds"].get(a.kind, a.kind) for a in self.alert_list],
            t["point_of_sale"]: [self.pos_label(a.point_of_sale) if a.point_of_sale else "" for a in self.alert_list],
            t["portal"]: [self.portal_label(a.portal) if a.portal else a.sender or "" for a in self.alert_list],
            t["evidence"]: [alert_evidence(a, lang) for a in self.alert_list],
            t["cause"]: [self.likely_cause(a.point_of_sale) if a.point_of_sale else "" for a in self.alert_list]})
        if not any(table[t["cause"]]):
            table = table.drop(columns=[t["cause"]])
        if any(a.examples for a in self.alert_list):
            table[t["examples"]] = [list(a.examples) for a in self.alert_list]
        return h.HTML(str(self.section("alerts")) + str(h.table(table)))

    def missing_section(self) -> h.HTML:
        t, lang = self.t, self.language
        if self.missing.empty:
            return h.HTML(str(self.section("missing")) + str(h.note(t["none_missing"])))
        by_cause = self.missing.groupby(["point_of_sale", "cause"]).size().reset_index(name="n")
        summary = pd.DataFrame({t["point_of_sale"]: [self.pos_label(p) for p in by_cause["point_of_sale"]],
                                t["cause"]: [t["causes"].get(c, c) for c in by_cause["cause"]],
                                t["missing_leads"]: [number(n, lang) for n in by_cause["n"]]})
        # one line per missing lead: when, where, which portal, why; never who
        detail = pd.DataFrame({
            t["received"]: [f"{date(x.date(), lang)} {x.strftime('%H:%M')}" for x in self.missing["local_time"]],
            t["point_of_sale"]: [self.pos_label(p) for p in self.missing["point_of_sale"]],
            t["portal"]: [self.portal_label(p) for p in self.missing["portal"]],
            t["cause"]: [t["causes"].get(c, c) for c in self.missing["cause"]]})
        return h.HTML(str(self.section("missing")) + str(h.table(summary, numeric=(t["missing_leads"],)))
                      + str(h.heading(t["missing_list"], level=3)) + str(h.table(detail)))


def _per_month(coverage: pd.DataFrame) -> pd.Series[Any]:
    """Tracked / expected per month, for the months with evidence (mail logs, mailbox exports)."""
    per_month = coverage.groupby("month")[["expected", "tracked"]].sum()
    per_month = per_month[per_month["expected"] > 0]
    return (per_month["tracked"] / per_month["expected"]).astype(float)


def failure_meaning(code: str | None, language: str) -> str:
    """What a failed forward's status code asks, in ``language`` (English: analytics/deployment.py's)."""
    if language == "en" or not code:
        return deployment.failure_meaning(code) if code else ""
    meanings = labels(language)["failure_meanings"]
    return str(meanings.get(code) or meanings.get(code[0], ""))


# ---------------------------------------------------------------------- configuration problems, written

def check_evidence(check: checks.Check, language: str, names: dict[str, str]) -> str:
    """What a configuration problem's copies show, in ``language`` (``Check.detail`` is English)."""
    t, lang = labels(language), language
    pos = names.get(check.point_of_sale or "", check.point_of_sale or "")
    since = date(check.since, lang) if check.since else ""
    if check.kind == "unclaimed_address":
        text = str(t["check_unclaimed"]).format(address=check.address, copies=number(check.count, lang),
                                                leads=number(check.lead_copies, lang), since=since)
        if check.point_of_sale and check.counted:
            return text + str(t["check_unclaimed_pos"]).format(point_of_sale=pos)
        if check.point_of_sale and check.nearest_address:
            return text + str(t["check_unclaimed_nearest"]).format(point_of_sale=pos, address=check.nearest_address)
        return text + str(t["check_unclaimed_none"])
    if check.kind == "silent_point_of_sale":
        if check.expected is not None:
            return str(t["check_silence"]).format(days=number(check.count, lang), since=since,
                                                  expected=number(check.expected, lang))
        if check.received:
            return str(t["check_never_received"]).format(received=number(check.received, lang), since=since)
        return str(t["check_never"]).format(days=number(check.count, lang),
                                            until=date(check.until, lang) if check.until else "")
    if check.kind == "mailbox_not_tracked":
        first = check.since.strftime("%Y-%m") if check.since else ""
        last = check.until.strftime("%Y-%m") if check.until else first
        months = month_name(first, lang) if first == last else str(t["month_range"]).format(
            first=month_name(first, lang), last=month_name(last, lang))
        return str(t["check_mailbox"]).format(missing=number(check.count, lang),
                                              received=number(check.received, lang), months=months)
    if check.kind == "pending_confirmation":
        return str(t["check_confirmation"]).format(
            provider=check.provider or t["the_provider"], mailbox=check.mailbox or t["the_mailbox"],
            address=check.address or "", since=since,
            count=str(t["check_confirmation_count"]).format(count=number(check.count, lang)) if check.count > 1
            else "") + (str(t["check_confirmation_unclaimed"]) if check.unclaimed
                                                         else "")
    return check.detail if language == "en" else ""


def check_fix(check: checks.Check, language: str, workspace: Workspace, found: list[checks.Check],
              names: dict[str, str]) -> str | list[str]:
    """What to do about a configuration problem, in ``language``; the TOML to add, when that is the
    fix, as lines after the sentence (TOML whatever the language, its comment in ``language``)."""
    t = labels(language)
    if check.fix_kind in ("toml", "rule_or_toml") and check.address:
        toml = checks.tracked_address_toml(check.address, check.point_of_sale, str(t["toml_placeholder"]))
        if check.fix_kind == "toml":
            first = str(t["fix_toml"])
        else:
            singular, plural = t["characters"]
            first = str(t["fix_rule_or_toml"]).format(nearest=check.nearest_address, distance=check.distance,
                                                      characters=singular if check.distance == 1 else plural)
        return [first, *toml.splitlines()]
    if check.fix_kind == "confirmation":
        addresses = [c.address for c in found if c.kind == "pending_confirmation"
                     and c.point_of_sale == check.point_of_sale and c.address]
        return str(t["fix_confirmation"]).format(addresses=", ".join(addresses))
    if check.fix_kind == "unclaimed":
        addresses = [c.address for c in found if c.kind == "unclaimed_address"
                     and c.point_of_sale == check.point_of_sale and c.address]
        return str(t["fix_unclaimed"]).format(addresses=", ".join(addresses))
    pos = workspace.point_of_sale(check.point_of_sale) if check.point_of_sale else None
    if check.fix_kind == "forwarding" and pos is not None:
        verb = ("mailbox" if check.kind == "mailbox_not_tracked" else
                "silence" if check.expected is not None else "never")
        return str(t["fix_forwarding"]).format(
            mailbox=t["either"].join(pos.mailboxes) or t["its_mailbox"], verb=t["forwarding_verbs"][verb],
            tracked=t["either"].join(pos.tracked_addresses) or t["its_tracked_address"])
    if check.fix_kind == "tracked_address":
        return str(t["fix_tracked_address"]).format(
            point_of_sale=names.get(check.point_of_sale or "", check.point_of_sale or ""))
    if check.fix_kind == "add_point_of_sale":
        return str(t["fix_add_point_of_sale"])
    if check.fix_kind == "confirm":
        if not check.link and not check.code:
            return str(t["fix_confirm_open"])
        code = str(t["fix_confirm_code"]).format(code=check.code, mailbox=check.mailbox or t["the_mailbox"],
                                                 provider=check.provider or t["the_provider"])
        if not check.link:
            return code
        return [str(t["fix_confirm_link"]), check.link, *([str(t["fix_confirm_or"]) + code] if check.code else [])]
    return check.fix if language == "en" else ""
