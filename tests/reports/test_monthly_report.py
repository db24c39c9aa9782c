"""The monthly report's content (issue 13): trend, year to date, same month last year only when
there is data, rank/share/averages, tracking flags beside every point of sale, group totals
explained, a point of sale's trend and peers. Every figure is checked against the stored leads,
counted here with SQL of the test's own (not through the views the report reads)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re

import numpy as np
import pytest

from emailtrack_analytics.analytics.api import Analytics
from emailtrack_analytics.analytics.health import Alert
from emailtrack_analytics.config.months import shift_month
from emailtrack_analytics.demo.sample import DROP_POINT_OF_SALE, FAILURES
from emailtrack_analytics.reports.email_facts import tracking_flags
from emailtrack_analytics.reports.health_text import flag_lines
from emailtrack_analytics.reports.labels import labels, number, percent
from emailtrack_analytics.reports.monthly import MonthlyReport
from emailtrack_analytics.reports.style import portal_colors
from tests.conftest import SAMPLE_END_MONTH

MONTH = SAMPLE_END_MONTH


@pytest.fixture(scope="module")
def stored(sample_workspace):
    """Leads per month and per (month, point of sale), counted from the `leads` view directly."""
    data = Analytics(sample_workspace)
    network = dict(data.sql("SELECT month, count(DISTINCT lead_key) AS n FROM leads GROUP BY month")
                   .itertuples(index=False, name=None))
    rows = data.sql("SELECT month, point_of_sale, count(*) AS n FROM leads WHERE point_of_sale IS NOT NULL "
                    "GROUP BY ALL").itertuples(index=False, name=None)
    per_pos: dict[str, dict[str, int]] = {}
    for month, pos, n in rows:
        per_pos.setdefault(month, {})[pos] = n
    return network, per_pos


def figures_of(markup: object) -> list[dict]:
    """The plotly figures of a page section, as the page's loader reads them."""
    return [json.loads(m) for m in re.findall(r'data-emailtrack-figure="[^"]+">(.*?)</script>', str(markup), flags=re.S)]


@pytest.fixture(scope="module")
def network_report(sample_workspace):
    return MonthlyReport.load(str(sample_workspace), MONTH)


def test_trend_and_year_to_date_equal_the_stored_leads(network_report, stored):
    network, _ = stored
    f = network_report.figures()
    months = [shift_month(MONTH, -i) for i in range(11, -1, -1)]
    assert f["trend"] == {m: network.get(m) for m in months}
    this_year = [m for m in network if m.startswith(MONTH[:4]) and m <= MONTH]
    assert f["leads_year_to_date"] == sum(network[m] for m in this_year)
    assert f["year_to_date_from"] == min(this_year)
    # the sample starts 12 months before its end: nothing a year earlier, so n/d, never 0
    assert f["leads_same_month_last_year"] is None and f["change_last_year"] is None
    assert f["leads_year_to_date_last_year"] is None and f["change_year_to_date"] is None
    page = str(network_report.headline())
    assert "n/d" in page and "aucune donnée pour octobre 2025" in page
    assert number(f["leads_year_to_date"], "fr") in page


def test_same_month_last_year_is_given_when_that_month_has_data(sample_workspace, stored):
    """The month after the sample's end: no lead of its own, but its month a year earlier has data."""
    network, _ = stored
    month = shift_month(MONTH, 1)
    report = MonthlyReport.load(str(sample_workspace), month)
    f = report.figures()
    earlier = network[shift_month(month, -12)]
    assert earlier > 0
    assert f["leads"] == 0 and f["leads_same_month_last_year"] == earlier
    assert f["change_last_year"] == -1.0
    assert number(earlier, "fr") in str(report.headline())


def test_rank_share_and_averages_equal_the_stored_leads(network_report, stored, sample_workspace):
    _, per_pos = stored
    counts = per_pos[MONTH]
    config = network_report.workspace.points_of_sale
    standings = network_report.standings().set_index("point_of_sale")
    total = sum(counts.values())
    for point in config:
        n = counts.get(point.id, 0)
        row = standings.loc[point.id]
        assert row["leads"] == n
        assert row["rank"] == 1 + sum(1 for m in counts.values() if m > n)
        assert row["share"] == pytest.approx(n / total)
        peers = [p.id for p in config if p.group == point.group]
        assert row["group_average"] == pytest.approx(sum(counts.get(p, 0) for p in peers) / len(peers))
        assert row["network_average"] == pytest.approx(total / len(config))


def test_planted_tracking_failures_are_flagged_and_the_real_drop_is_not(network_report):
    flags = network_report.tracking_flags()
    planted = {FAILURES[c] for c in ("cc_absent", "client_rule_offline", "never_forwards", "forwarding_stopped")}
    assert planted <= set(flags)
    assert DROP_POINT_OF_SALE not in flags
    # every flagged row of the ranking carries its flag, in the page's language
    page = str(network_report.by_point_of_sale())
    for pos in planted:
        name = network_report.pos_label(pos)
        row = next(r for r in re.findall(r"<tr>.*?</tr>", page) if f">{name}<" in r)
        assert "⚠" in row, name
    drop_row = next(r for r in re.findall(r"<tr>.*?</tr>", page)
                    if f">{network_report.pos_label(DROP_POINT_OF_SALE)}<" in r)
    assert "⚠" not in drop_row


def test_a_silent_channel_is_a_flag(sample_workspace):
    """A silence alert on one portal of a point of sale (a lost CC) flags it, with the portal's name."""
    data = Analytics(sample_workspace)
    since = dt.date(2026, 9, 10)
    alert = Alert("silence", MONTH, "lyon-6", "leboncoin", "…", observed=0, expected=20, since=since)
    flags = tracking_flags(data, MONTH, [alert])
    assert flags["lyon-6"].silent_portals == (("leboncoin", since),)
    assert flag_lines(flags["lyon-6"], "fr") == ("⚠ aucun lead de leboncoin depuis le 10/09/2026 (canal silencieux)",)
    assert tracking_flags(data, MONTH, [alert], point_of_sale="lyon-3").get("lyon-6") is None


def test_group_totals_are_explained(network_report, stored):
    network, per_pos = stored
    page = str(network_report.by_group())
    groups = {p.id: p.group for p in network_report.workspace.points_of_sale}
    total = sum(n for pos, n in per_pos[MONTH].items() if pos in groups)
    assert total > network[MONTH]  # the sample's multi-distribution leads reach two groups
    assert (f"la somme des groupes ({number(total, 'fr')}) dépasse les leads du réseau "
            f"({number(network[MONTH], 'fr')})") in page


def test_point_of_sale_report_shows_its_trend_standing_and_peers(sample_workspace, stored):
    _, per_pos = stored
    pos = FAILURES["cc_absent"]
    report = MonthlyReport.load(str(sample_workspace), MONTH, pos)
    f = report.figures()
    assert f["trend"] == {m: per_pos.get(m, {}).get(pos, 0) if m in per_pos else None
                          for m in (shift_month(MONTH, -i) for i in range(11, -1, -1))}
    counts = per_pos[MONTH]
    assert f["rank"] == 1 + sum(1 for n in counts.values() if n > counts[pos])
    assert f["ranked"] == len(report.workspace.points_of_sale)
    headline = str(report.headline())
    assert f"{f['rank']} sur {f['ranked']}" in headline
    assert percent(f["share_of_network"], "fr") in headline
    assert "⚠" in headline  # its tracking failed this month: said beside its figure
    # its peers: the points of sale of its group, no other
    group = next(p.group for p in report.workspace.points_of_sale if p.id == pos)
    expected = {p.name for p in report.workspace.points_of_sale if p.group == group}
    page = str(report.by_point_of_sale())
    t = labels("fr")
    assert t["peers"] in page
    shown = set(re.findall(r'<tr><td class="num">\d+</td><td class="">([^<]+)</td>', page))
    assert shown == expected
    (trend,) = figures_of(report.trend_section())
    lines = {trace["name"]: trace["y"] for trace in trend["data"]}
    assert set(lines) == {t["this_year"], t["group_average"], t["network_average"]}
    peers = [p.id for p in report.workspace.points_of_sale if p.group == group]
    assert lines[t["group_average"]][-1] == pytest.approx(sum(counts.get(p, 0) for p in peers) / len(peers))


def test_portal_charts_write_numbers_the_french_way_in_the_portals_colours(network_report):
    figures = figures_of(network_report.by_portal())
    bar, pie = (next(f for f in figures if f["data"][0]["type"] == kind) for kind in ("bar", "pie"))
    counts = network_report.by_portal_counts()
    assert pie["data"][0]["text"] == [percent(n / counts.sum(), "fr") for n in counts]  # "29,3 %" like the table
    assert pie["layout"]["separators"] == bar["layout"]["separators"] == ", "
    colors = portal_colors(list(network_report.portal_names()))
    assert bar["data"][0]["marker"]["color"] == pie["data"][0]["marker"]["colors"] == [colors[p] for p in counts.index]
    assert bar["layout"]["yaxis"]["tickformat"] == ",d"  # counts on whole numbers


def test_an_early_month_draws_its_trend_with_no_data_before_it(sample_workspace, stored):
    """The sample's second month: ten months of its trend have no data (null, no bar), not 0."""
    network, _ = stored
    month = min(network)
    month = shift_month(month, 1)
    report = MonthlyReport.load(str(sample_workspace), month)
    trend = report.figures()["trend"]
    assert [m for m, n in trend.items() if n is not None] == [shift_month(month, -1), month]
    (chart,) = figures_of(report.trend_section())
    bars = values(chart["data"][0]["y"])
    assert bars[-2:] == [network[shift_month(month, -1)], network[month]]
    assert all(math.isnan(y) for y in bars[:-2])


def values(array: object) -> list[float]:
    """A trace's numbers as plotly writes them: a list, or a typed array (dtype + base64 bytes)."""
    if isinstance(array, dict) and "bdata" in array:
        return [float(v) for v in np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))]
    return [float("nan") if v is None else float(v) for v in array]
