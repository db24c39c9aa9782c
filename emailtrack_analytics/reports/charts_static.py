"""The email's inline charts: a few simple bar charts drawn from the report's recorded figures
(summary.json) and the email's facts, rendered as PNG by kaleido with the installed Chromium.

Mail clients run no scripts, so the charts are pictures; every number on them is localised
(``1 234``, ``29,3 %``) and counts sit on whole-number axes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Any

import plotly.graph_objects as go

from ..config.months import month_bounds
from .email_facts import EmailFacts
from .labels import DAY_FORMAT, by_count, email_labels, labels, number, percent, short_month
from .style import FLAGGED, PALETTE, portal_colors, separators, whole_ticks

WIDTH, HEIGHT = 640, 300
MAX_BARS = 10


def _layout(fig: go.Figure, title: str, language: str, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=15)), template="plotly_white",
                      separators=separators(language), showlegend=False,
                      margin=dict(l=10, r=20, t=44, b=10), height=height, width=WIDTH,
                      font=dict(family="Arial, sans-serif", size=12))
    return fig


def _hbar(title: str, names: list[str], values: list[float], texts: list[str], language: str,
          colors: list[str] | None = None, axis: dict[str, Any] | None = None) -> go.Figure:
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", text=texts, textposition="outside",
                           cliponaxis=False, marker_color=colors or PALETTE[0]))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(**(axis or whole_ticks(max(values, default=1) * 1.15)))
    return _layout(fig, title, language, height=max(180, 60 + 26 * len(names)))


def _every_day(figures: dict[str, Any]) -> dict[str, int]:
    """The month's leads per day, the days without any as 0 (the summary lists days with leads)."""
    recorded = figures.get("leads_by_day") or {}
    month = str(figures.get("month") or "")
    if not recorded or len(month) != 7:
        return dict(recorded)
    start, end = month_bounds(month)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    return {d.isoformat(): int(recorded.get(d.isoformat(), 0)) for d in days}


def _portal_colors(facts: EmailFacts, portals: list[str]) -> list[str]:
    """Each portal in its colour of the reports (style.portal_colors)."""
    colors = portal_colors(list(facts.portal_names))
    return [colors.get(p, colors[""]) for p in portals]


def monthly_charts(figures: dict[str, Any], facts: EmailFacts, language: str) -> list[tuple[str, go.Figure]]:
    t, e, lang = labels(language), email_labels(language), language
    scoped = bool(figures.get("point_of_sale"))
    charts: list[tuple[str, go.Figure]] = []
    days = _every_day(figures)
    if any(days.values()):
        title = t["daily_pos" if scoped else "daily"]
        fig = go.Figure(go.Bar(x=list(days), y=list(days.values()), marker_color=PALETTE[0]))
        fig.update_xaxes(tickformat=DAY_FORMAT.get(lang, "%d/%m"))
        fig.update_yaxes(**whole_ticks(max(days.values())))
        charts.append((title, _layout(fig, title, lang)))
    portals = by_count(figures.get("leads_by_portal") or {})[:MAX_BARS]
    if portals:
        title = t["by_portal_pos" if scoped else "by_portal"]
        total = sum((figures.get("leads_by_portal") or {}).values()) or 1
        charts.append((title, _hbar(title, [facts.portal_name(p) or t["unknown_portal"] for p, _ in portals],
                                    [n for _, n in portals],
                                    [f"{number(n, lang)} · {percent(n / total, lang)}" for _, n in portals], lang,
                                    _portal_colors(facts, [p for p, _ in portals]))))
    movers = facts.rises + facts.falls
    if movers:
        title = e["movers"].split(" (")[0]
        movers.sort(key=lambda m: -m.delta)
        names = [facts.pos_name(m.point_of_sale) + (" ⚠" if m.point_of_sale in facts.flags else "") for m in movers]
        colors = [FLAGGED if m.point_of_sale in facts.flags else PALETTE[0] if m.delta > 0 else PALETTE[1]
                  for m in movers]
        top = max(abs(m.delta) for m in movers) * 1.3
        step = whole_ticks(top)["dtick"]
        ticks = list(range(-int(top // step) * step, int(top // step) * step + 1, step))
        # signed like the table (−3, +4), and 0 without a sign
        axis = {"range": [-top, top], "tickvals": ticks,
                "ticktext": [f"{v:+d}".replace("-", "\u2212") if v else "0" for v in ticks]}
        charts.append((title, _hbar(title, names, [m.delta for m in movers],
                                    [f"{m.delta:+d}".replace("-", "\u2212") for m in movers], lang, colors, axis)))
    return charts


def health_charts(figures: dict[str, Any], facts: EmailFacts, language: str) -> list[tuple[str, go.Figure]]:
    t, lang = labels(language), language
    rows = [(p, c) for p, c in (figures.get("coverage_by_point_of_sale") or {}).items() if c.get("expected")]
    rows.sort(key=lambda item: (item[1]["tracked"] / item[1]["expected"], item[0]))
    charts: list[tuple[str, go.Figure]] = []
    if rows:
        rows = rows[:MAX_BARS]
        shares = [c["tracked"] / c["expected"] for _, c in rows]
        axis = dict(range=[0, 1.18], tickformat=".0%", tick0=0, dtick=0.25)
        charts.append((t["coverage_by_pos"], _hbar(
            t["coverage_by_pos"], [facts.pos_name(p) for p, _ in rows], shares,
            [f"{percent(s, lang)} ({number(c['tracked'], lang)}/{number(c['expected'], lang)})"
             for s, (_, c) in zip(shares, rows, strict=True)], lang,
            [PALETTE[1] if s < 0.9 else PALETTE[0] for s in shares], axis)))
    causes = figures.get("missing_by_cause") or {}
    if causes:
        items = by_count(causes)
        charts.append((t["missing_leads"], _hbar(
            t["missing_leads"], [t["causes"].get(c, c) for c, _ in items], [n for _, n in items],
            [number(n, lang) for _, n in items], lang, [PALETTE[1]] * len(items))))
    return charts


def distribution_charts(figures: dict[str, Any], facts: EmailFacts, language: str) -> list[tuple[str, go.Figure]]:
    t, lang = labels(language), language
    charts: list[tuple[str, go.Figure]] = []
    shares = sorted((figures.get("portal_share") or {}).items(), key=lambda item: -item[1])[:MAX_BARS]
    if shares:
        axis = dict(range=[0, max(s for _, s in shares) * 1.3], tickformat=".0%", rangemode="tozero")
        charts.append((t["portal_share"], _hbar(
            t["portal_share"], [facts.portal_name(p) or t["unknown_portal"] for p, _ in shares],
            [s for _, s in shares], [percent(s, lang) for _, s in shares], lang,
            _portal_colors(facts, [p for p, _ in shares]), axis)))
    trend = figures.get("trend") or {}
    if trend:
        title = t["trends"]
        fig = go.Figure(go.Bar(x=[short_month(m, lang) for m in trend], y=list(trend.values()),
                               marker_color=PALETTE[0], text=[number(n, lang) for n in trend.values()],
                               textposition="outside", cliponaxis=False))
        fig.update_yaxes(**whole_ticks(max(trend.values()) * 1.15))
        charts.append((title, _layout(fig, title, lang)))
    return charts


CHARTS = {"monthly": monthly_charts, "health": health_charts, "distribution": distribution_charts}


def email_charts(kind: str, figures: dict[str, Any], facts: EmailFacts,
                 language: str) -> list[tuple[str, go.Figure]]:
    """The (title, figure) pairs the email of report ``kind`` shows (none for other notebooks)."""
    draw = CHARTS.get(kind)
    return draw(figures, facts, language) if draw else []


@contextlib.contextmanager
def _one_browser() -> Iterator[None]:
    """One Chromium for all the charts of an email (kaleido starts one per image otherwise)."""
    import kaleido
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "kopts ignored with a server": the server has the defaults
        kaleido.start_sync_server(silence_warnings=True)
        try:
            yield
        finally:
            kaleido.stop_sync_server(silence_warnings=True)


def render_png(charts: list[tuple[str, go.Figure]]) -> tuple[list[tuple[str, bytes]], str | None]:
    """Charts as PNG images. Returns the images and, when they cannot be made, why (the email then
    goes out with its figures in text and tables only)."""
    if not charts:
        return [], None
    try:
        with _one_browser():
            return [(title, fig.to_image(format="png", width=WIDTH, height=fig.layout.height or HEIGHT, scale=1.5))
                    for title, fig in charts], None
    except Exception as exc:  # noqa: BLE001 - no kaleido, no Chromium, or it crashed: the text is enough
        return [], f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
