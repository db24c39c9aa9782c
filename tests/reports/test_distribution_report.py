"""The distribution report as a network manager reads it (issue 13, items 3-4): every chart names
the lead figure it counts, a portal keeps one colour, every point of sale whose tracking failed
carries its flag (a lost CC read as a change of mix before), and a point of sale's own page shows
its 12-month trend and its peers (it showed one bar and a one-row heatmap), equal to the database.

The pages are read as they are written: their charts are the figures' JSON the page draws, their
tables the page's HTML.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from typing import Any

import pytest

from emailtrack_analytics.analytics.api import Analytics
from emailtrack_analytics.config.months import shift_month
from emailtrack_analytics.demo.sample import FAILURES
from emailtrack_analytics.reports.distribution import DistributionReport
from emailtrack_analytics.reports.labels import LABELS, short_month
from emailtrack_analytics.reports.style import portal_colors
from tests.conftest import SAMPLE_END_MONTH, run_cli

MONTH = SAMPLE_END_MONTH
MONTHS = [shift_month(MONTH, -i) for i in range(11, -1, -1)]
POS = FAILURES["cc_absent"]   # its leboncoin leads lost their CC mid-month: flagged, and its mix "changed"
FR, EN = LABELS["fr"], LABELS["en"]
FIGURE = re.compile(r"<script[^>]*data-emailtrack-figure=[^>]*>(.*?)</script>", re.S)
DEFAULT_TITLES = {"", "value", "variable", "index", "count"}   # plotly express's, or none


@pytest.fixture(scope="module")
def pages(sample_workspace, tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("distribution")
    runs = {"network": (), "pos": ("--point-of-sale", POS), "pos_en": ("--point-of-sale", POS, "--lang", "en")}
    found = {}
    for name, args in runs.items():
        result = run_cli("--workspace", sample_workspace, "report", "distribution", "--month", MONTH,
                         "--out", out / name, *args)
        assert result.code == 0, result.err
        (page,) = (out / name / MONTH).glob("*.html")
        found[name] = page.read_text(encoding="utf-8")
        found[f"{name}.summary"] = next((out / name / MONTH).glob("*.summary.json")).read_text()
    return found


@pytest.fixture(scope="module")
def report(sample_workspace):
    report = DistributionReport.load(str(sample_workspace), MONTH)
    yield report
    report.data.close()


@pytest.fixture(scope="module")
def pos_leads(sample_workspace) -> list[dict[str, Any]]:
    """The ``point_of_sale_leads`` view's rows over the report's 12 months."""
    data = Analytics(sample_workspace)
    try:
        frame = data.sql("SELECT month, point_of_sale, coalesce(\"group\", '') AS grp, portal, "
                         "point_of_sale_leads AS n FROM point_of_sale_leads WHERE month BETWEEN ? AND ?",
                         [MONTHS[0], MONTH])
    finally:
        data.close()
    return frame.to_dict("records")


def charts(page: str) -> dict[str, dict[str, Any]]:
    """The page's charts by title (an untitled one by its place on the page)."""
    figures = [json.loads(body) for body in FIGURE.findall(page)]
    return {(f["layout"].get("title") or {}).get("text") or f"untitled chart {i}": f for i, f in enumerate(figures)}


def tables(page: str) -> list[list[list[str]]]:
    """The page's tables: rows of cell texts, the header first."""
    found = []
    for body in re.findall(r'<table class="et-table">(.*?)</table>', page, re.S):
        rows = [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                 for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
                for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
        found.append(rows)
    return found


def shows(page: str, text: str) -> bool:
    """``text`` is on the page: as HTML, or in a chart's JSON (non-ASCII written as \\uXXXX)."""
    return text in page or json.dumps(text)[1:-1] in page


def trace_color(trace: dict[str, Any]) -> str | None:
    return (trace.get("marker") or {}).get("color") or (trace.get("line") or {}).get("color")


def test_a_portal_has_one_colour_in_every_chart_the_one_style_gives(pages, report):
    expected = {report.portal_label(p): color for p, color in portal_colors(list(report.portal_names())).items()}
    for page in ("network", "pos"):
        colors, where = defaultdict(set), defaultdict(set)
        for title, fig in charts(pages[page]).items():
            for trace in fig["data"]:
                if trace.get("name") in expected:
                    colors[trace["name"]].add(trace_color(trace))
                    where[trace["name"]].add(title)
        assert len(where["leboncoin"]) >= 2, (page, where["leboncoin"])   # the same portal, two charts
        for name, found in colors.items():
            assert found == {expected[name]}, (page, name, found)


def test_every_chart_names_its_figure_and_its_axes_and_counts_on_whole_numbers(pages):
    for page, t in (("network", FR), ("pos", FR), ("pos_en", EN)):
        found = charts(pages[page])
        assert len(found) >= (9 if page == "network" else 5), list(found)
        for title, fig in found.items():
            # which lead figure: distinct network leads, or one per lead per point of sale
            assert t["network_leads"].split(" ", 1)[1] in title or t["point_of_sale_leads"].split(" ", 1)[1] in title, title
            if all(trace["type"] == "pie" for trace in fig["data"]):
                continue
            for axis in ("xaxis", "yaxis"):
                text = fig["layout"][axis].get("title", {}).get("text", "")
                if title == t["dist_peers_chart"] and axis == "yaxis":
                    assert text == ""   # three rows named point of sale, group, network: no title needed
                    continue
                assert text.strip().lower() not in DEFAULT_TITLES, (title, axis, text)
                if text in (t["network_leads"], t["point_of_sale_leads"], t["dist_pos_count"]):
                    assert fig["layout"][axis]["tickformat"] == ",d", (title, axis)
                    assert float(fig["layout"][axis]["dtick"]).is_integer(), (title, axis)
            for trace in fig["data"]:   # never plotly's default colours
                assert trace_color(trace) or trace["type"] == "heatmap" or trace.get("mode") == "text", (title, trace)


def test_pie_slices_read_like_the_tables(pages):
    for page, pattern in (("network", r"\d+,\d\u00a0%"), ("pos_en", r"\d+\.\d%")):
        (pie,) = [trace for fig in charts(pages[page]).values() for trace in fig["data"] if trace["type"] == "pie"]
        assert pie["textinfo"] == "text"
        assert all(re.fullmatch(pattern, text) for text in pie["text"]), pie["text"]
        summary = json.loads(pages[f"{page}.summary"])
        assert sum(pie["values"]) == sum(summary["channel_mix"].values())


def test_no_english_label_on_the_french_page_nor_french_on_the_english_one(pages):
    for key, english in EN.items():
        if key.startswith("dist_") and "{" not in english and english != FR[key]:
            assert not shows(pages["network"], english) and not shows(pages["pos"], english), key
            assert not shows(pages["pos_en"], FR[key]), key
    assert shows(pages["pos"], FR["dist_trend_pos"]) and shows(pages["pos_en"], EN["dist_trend_pos"])


def test_the_flag_column_lists_every_flagged_point_of_sale_silent_ones_included(pages, report):
    """A silent point of sale (no lead this month) vanished from the charts and tables before: its
    failure read as nothing at all."""
    flags = report.tracking_flags()
    expected = {report.pos_label(p): report.flag(p) for p in flags}
    assert len(expected) >= 3 and all(expected.values())
    assert report.pos_label(FAILURES["forwarding_stopped"]) in expected
    (share_table,) = [rows for rows in tables(pages["network"])
                      if rows[0][0] == FR["point_of_sale"] and rows[0][-1] == FR["dist_tracking"]
                      and FR["portals_for_80"] not in rows[0]]
    assert {row[0]: row[-1] for row in share_table[1:] if row[-1]} == expected
    # the charts say it too: ⚠ after the name, the flag in the hover
    for title in (FR["dist_share_by_pos"], FR["dist_channel_by_pos"]):
        fig = charts(pages["network"])[title]
        names = {y for trace in fig["data"] for y in trace["y"]}
        assert {n.removesuffix(" ⚠") for n in names if n.endswith(" ⚠")} == set(expected), title
        hovers = " ".join(h for trace in fig["data"] for h in trace.get("hovertext") or trace.get("text") or [])
        assert all(flag in hovers for flag in expected.values()), title
    assert json.loads(pages["network.summary"])["flagged_points_of_sale"] == sorted(
        flags, key=[p.id for p in report.workspace.points_of_sale].index)


def test_a_point_of_sale_page_has_its_trend_and_its_peers_equal_to_the_database(pages, pos_leads, report):
    own = [r for r in pos_leads if r["point_of_sale"] == POS]
    (group,) = {r["grp"] for r in own}
    found = charts(pages["pos"])

    def average(rows, month):
        rows = [r for r in rows if r["month"] == month]
        return sum(r["n"] for r in rows) / len({r["point_of_sale"] for r in rows}) if rows else None

    trend = found[FR["dist_trend_pos"]]
    bars, group_line, network_line = trend["data"]
    assert bars["x"] == [short_month(m, "fr") for m in MONTHS]
    assert bars["y"] == [sum(r["n"] for r in own if r["month"] == m) for m in MONTHS]
    assert bars["name"] == f"{report.pos_label(POS)} ⚠"
    assert group_line["name"] == FR["dist_group_average"].format(group=group)
    assert group_line["y"] == pytest.approx([average([r for r in pos_leads if r["grp"] == group], m) for m in MONTHS])
    assert network_line["y"] == pytest.approx([average(pos_leads, m) for m in MONTHS])

    # its portal mix beside its group's and the network's, point-of-sale leads all three
    month = [r for r in pos_leads if r["month"] == MONTH]
    scopes = {"point_of_sale": [r for r in month if r["point_of_sale"] == POS],
              "group": [r for r in month if r["grp"] == group], "network": month}
    peers = found[FR["dist_peers_chart"]]
    ids = {report.portal_label(p): p for p in report.portal_names()}
    shown = set()
    for trace in peers["data"]:
        portal = ids[trace["name"]]
        shown.add(portal)
        assert trace["y"] == [f"{report.pos_label(POS)} ⚠", FR["dist_group_row"].format(group=group), FR["network"]]
        assert trace["x"] == pytest.approx([sum(r["n"] for r in rows if r["portal"] == portal) / sum(r["n"] for r in rows)
                                            for rows in scopes.values()]), portal
    assert shown == {r["portal"] for r in month}
    summary = json.loads(pages["pos.summary"])
    assert summary["peers"]["group"] == {p: sum(r["n"] for r in scopes["group"] if r["portal"] == p)
                                         for p in {r["portal"] for r in scopes["group"]}}
    assert summary["trend"] == dict(zip(MONTHS, bars["y"], strict=True))
    # no more one-row charts: the one-row share bars and the one-bar concentration are gone
    assert FR["dist_share_by_pos"] not in found and FR["dist_concentration"] not in found
    assert shows(pages["pos"], FR["dist_flagged_pos"].split("(")[0])
