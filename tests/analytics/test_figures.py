"""One definition per figure (issue 11, item 7): each headline figure computed from the exported
rows, then read through every report's summary, the API, `export figures` and `status`: they agree.

The defects this pins: "Leads par portail" for leboncoin was distinct leads in the monthly
report and point-of-sale rows in the distribution report (208 vs 235, both unlabelled); the
monthly headline's copies (copies merged into lead rows) and its traffic table's (every copy,
mailbox exports included) differed (791 vs 807).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict

import pytest

from emailtrack_analytics.api import Analytics
from tests.conftest import SAMPLE_END_MONTH, run_cli

MONTH = SAMPLE_END_MONTH   # the sample's mailbox exports cover its last months: every figure is non-zero


def rows(ws, table, *args):
    result = run_cli("--workspace", ws, "export", table, *args)
    assert result.code == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


@pytest.fixture(scope="module")
def expected(sample_workspace) -> dict:
    """Each figure counted from the exported rows, by its definition (docs/reports.md)."""
    leads = rows(sample_workspace, "leads", "--month", MONTH)
    copies = [r for r in rows(sample_workspace, "messages", "--month", MONTH)]
    by_portal = defaultdict(set)
    for row in leads:
        by_portal[row["portal"]].add(row["lead_key"])
    return {
        "network_leads": len({r["lead_key"] for r in leads}),
        "point_of_sale_leads": len(leads),
        "tracking_copies": sum(r["role"] == "tracking" for r in copies),
        "tracking_lead_copies": sum(r["role"] == "tracking" and r["category"] == "lead" for r in copies),
        "mailbox_copies": sum(r["role"] == "mailbox" for r in copies),
        "mailbox_lead_copies": sum(r["role"] == "mailbox" and r["category"] == "lead" for r in copies),
        "leads_by_portal": {p: len(keys) for p, keys in by_portal.items()},
        "leads_by_point_of_sale": dict(Counter(r["point_of_sale"] for r in leads if r["point_of_sale"])),
        "leads_by_channel": dict(Counter(r["channel"] for r in leads)),
    }


@pytest.fixture(scope="module")
def summaries(sample_workspace, tmp_path_factory) -> dict:
    out = {}
    reports = tmp_path_factory.mktemp("figures-reports")  # not the shared workspace's reports/
    for kind in ("monthly", "distribution", "health"):
        result = run_cli("--workspace", sample_workspace, "report", kind, "--month", MONTH, "--out", reports)
        assert result.code == 0, result.err
        folder = reports / MONTH
        out[kind] = json.loads((folder / f"{kind}.summary.json").read_text())
        out[f"{kind}.html"] = (folder / f"{kind}.html").read_text()
    return out


def test_the_sample_month_has_every_kind_of_figure(expected):
    # otherwise equalities below could hold by being 0 = 0
    assert expected["network_leads"] > 50 and expected["mailbox_copies"] > 0
    assert expected["point_of_sale_leads"] > expected["network_leads"]         # multi-distribution
    assert expected["tracking_lead_copies"] != expected["point_of_sale_leads"]
    assert sum(expected["leads_by_portal"].values()) >= expected["network_leads"]


def test_every_headline_figure_is_the_same_in_every_report_the_api_export_and_status(
        sample_workspace, expected, summaries):
    monthly, distribution, health = summaries["monthly"], summaries["distribution"], summaries["health"]
    api = Analytics(sample_workspace).figures(MONTH)
    (exported,) = rows(sample_workspace, "figures", "--month", MONTH)
    status = run_cli("--workspace", sample_workspace, "status").out
    status_line = re.search(rf"^  {MONTH}\s+(\d+)\s+(\d+)$", status, re.M)

    network_leads = {"export leads (distinct lead_key)": expected["network_leads"],
                     "monthly": monthly["network_leads"], "monthly headline": monthly["leads"],
                     "distribution": distribution["network_leads"], "distribution headline": distribution["leads"],
                     "distribution trend": distribution["trend"][MONTH], "api": api["network_leads"],
                     "export figures": int(exported["network_leads"]), "status": int(status_line.group(1))}
    assert set(network_leads.values()) == {expected["network_leads"]}, network_leads

    pos_leads = {"export leads (rows)": expected["point_of_sale_leads"], "monthly": monthly["point_of_sale_leads"],
                 "distribution": distribution["point_of_sale_leads"],
                 "distribution channel mix": sum(distribution["channel_mix"].values()),
                 "health": health["point_of_sale_leads"], "api": api["point_of_sale_leads"],
                 "export figures": int(exported["point_of_sale_leads"]), "status": int(status_line.group(2))}
    assert set(pos_leads.values()) == {expected["point_of_sale_leads"]}, pos_leads

    for figure in ("tracking_copies", "tracking_lead_copies", "mailbox_copies", "mailbox_lead_copies"):
        values = {"export messages": expected[figure], "monthly": monthly[figure], "api": api[figure],
                  "export figures": int(exported[figure])}
        if figure == "mailbox_copies":
            values["health"] = health[figure]
        assert set(values.values()) == {expected[figure]}, (figure, values)
    assert monthly["copies"] == expected["tracking_lead_copies"]   # the headline card

    for figure in ("leads_by_portal", "leads_by_point_of_sale"):
        for name, value in (("monthly", monthly[figure]), ("distribution", distribution[figure]), ("api", api[figure])):
            assert value == expected[figure], (figure, name)
    assert distribution["channel_mix"] == api["leads_by_channel"] == expected["leads_by_channel"]


def test_leads_by_portal_are_network_leads_in_the_distribution_trend_chart_too(sample_workspace, expected):
    """The distribution report's portal chart counted point-of-sale rows under the same title as
    the monthly report's distinct leads."""
    from emailtrack_analytics.reports.distribution import DistributionReport
    report = DistributionReport(Analytics(sample_workspace), MONTH)
    trend = report.portal_trend().loc[MONTH]
    assert {p: int(n) for p, n in trend.items() if n} == expected["leads_by_portal"]
    assert report.scoped("by_portal") == "Leads (réseau) par portail"


def test_a_point_of_sale_figures_are_its_rows(sample_workspace):
    leads = rows(sample_workspace, "leads", "--month", MONTH)
    copies = rows(sample_workspace, "messages", "--month", MONTH)
    data = Analytics(sample_workspace)
    checked = 0
    for pos in sorted({r["point_of_sale"] for r in leads if r["point_of_sale"]}):
        own = [r for r in leads if r["point_of_sale"] == pos]
        figures = data.figures(MONTH, pos)
        assert figures["network_leads"] == figures["point_of_sale_leads"] == len(own), pos
        assert figures["leads_by_portal"] == dict(Counter(r["portal"] for r in own)), pos
        assert figures["mailbox_copies"] == sum(r["role"] == "mailbox" and r["point_of_sale"] == pos for r in copies)
        checked += 1
    assert checked > 10


def shows(page: str, text: str) -> bool:
    """``text`` is on the page: as HTML, or in a chart's JSON (non-ASCII written as \\uXXXX)."""
    return text in page or json.dumps(text)[1:-1] in page


def test_every_page_names_the_figure_it_shows(summaries):
    monthly, distribution, health = summaries["monthly.html"], summaries["distribution.html"], summaries["health.html"]
    for page in (monthly, distribution):
        assert shows(page, "Leads (réseau)") and shows(page, "Leads (par point de vente")
        assert shows(page, "Leads (réseau) par portail")
        for old in ("Leads par portail", "Leads réseau"):   # the old, ambiguous labels
            assert not shows(page, old), old
    assert shows(monthly, "Copies de suivi (leads)") and shows(monthly, "Copies des boîtes (exports)")
    assert not shows(monthly, "Copies reçues")
    assert shows(health, "Leads reçus (par point de vente, attendus)") and shows(health, "Copies des boîtes (exports)")
