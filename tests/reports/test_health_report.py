"""The tracking health report as a manager reads it (issue 13): on the sample, its French page
holds no English sentence (alerts and configuration problems written from their facts), the points
of sale whose coverage is below the line are alerted with the coverage view's numbers, every bar of
the coverage chart shows its value (a 0 % bar has no length), and a point of sale's report names it
and draws its 12 months from 0 to 100 %."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import tomllib

import pytest

from emailtrack_analytics.analytics import checks, health
from emailtrack_analytics.api import Analytics
from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.reports import email_facts
from emailtrack_analytics.reports.health import check_evidence, check_fix
from emailtrack_analytics.reports.labels import date, labels, month_name, number, percent, short_month
from tests.analytics.test_checks import TYPO, typo_workspace  # noqa: F401 - the fixture, used below
from tests.conftest import SAMPLE_END_MONTH, run_cli
from tests.reports.test_report import rendered_dom

MONTH = SAMPLE_END_MONTH
# words of an English sentence; none is French, none is in a name of the sample (TOML keys such as
# tracked_addresses are one word with their underscores)
ENGLISH = re.compile(r"\b(the|of|since|and|to|from|its|no|never|expected|received|tracked|tracking|check|"
                     r"add|leads? (?:received|tracked)|coverage|mailbox|history|network)\b", re.I)
FIGURE = re.compile(r'<script\b[^>]*\bdata-emailtrack-figure="[^"]+"[^>]*>(.*?)</script>', re.S)


def run_report(workspace, out, *args):
    result = run_cli("--workspace", workspace, "report", "health", "--month", MONTH, "--out", out, *args)
    assert result.code == 0, result.err
    return out / MONTH


def visible_text(page: str) -> str:
    """What a reader sees of a page: its text without scripts and styles, and the texts its charts
    draw (titles, axis titles, annotations, bar and point labels, legend names)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    texts = [html.unescape(re.sub(r"<[^>]+>", " ", body))]
    for spec in map(json.loads, FIGURE.findall(page)):
        layout = spec["layout"]
        texts += [layout.get("title", {}).get("text", "")]
        texts += [layout.get(axis, {}).get("title", {}).get("text", "") for axis in ("xaxis", "yaxis")]
        texts += [a.get("text", "") for a in layout.get("annotations", [])]
        for trace in spec["data"]:
            texts += [trace.get("name") or ""] + [str(x) for x in trace.get("text") or []]
    return " ".join(texts)


def figures_of(text: str) -> list[str]:
    """The days, months and counts a sentence gives, in either language's writing."""
    text = re.sub(r"(\d{4})-(\d{2})-(\d{2})", r"\3/\2/\1", text)
    text = re.sub(r"\b(\d{4})-(\d{2})\b", lambda m: month_name(m.group(0), "fr"), text)
    return sorted(re.findall(r"\d[\d/]*", text.replace("\u202f", "")))


def figures(page: str) -> list[dict]:
    return [json.loads(spec) for spec in FIGURE.findall(page)]


def coverage_rows(workspace) -> list[dict]:
    result = run_cli("--workspace", workspace, "export", "coverage", "--month", MONTH)
    assert result.code == 0, result.err
    return [r for r in csv.DictReader(io.StringIO(result.out)) if int(r["expected"])]


@pytest.fixture(scope="module")
def network_fr(sample_workspace, tmp_path_factory):
    folder = run_report(sample_workspace, tmp_path_factory.mktemp("health"), "--lang", "fr")
    return folder / "health.html", json.loads((folder / "health.summary.json").read_text())


def names(workspace) -> dict[str, str]:
    return {p.id: p.name for p in open_workspace(workspace).points_of_sale}


def test_french_health_page_has_no_english_sentence(network_fr, sample_workspace):
    page, summary = network_fr
    text = visible_text(page.read_text())
    assert len(figures(page.read_text())) == 2  # the charts' texts are read too
    # the sample's month has alerts and configuration problems: their English details are not shown
    assert summary["alerts"] and summary["checks"]
    for item in summary["alerts"] + summary["checks"]:
        assert item["detail"] not in text
    for check in summary["checks"]:
        assert check["fix"].splitlines()[0] not in text
    assert not ENGLISH.search(text), ENGLISH.search(text)
    # ...but what they say, in French: the silent point of sale since its last lead
    with Analytics(sample_workspace) as data:
        silence = next(a for a in health.alerts(data, MONTH) if a.kind == "silence")
    assert f"aucun lead depuis le {date(silence.since, 'fr')}" in text
    assert "aucun lead n'a atteint le suivi depuis" in text


def test_points_of_sale_below_the_coverage_line_are_alerted_with_their_numbers(network_fr, sample_workspace):
    """Two points of sale at 0 % and 50 % coverage (65 % at full scale) once had no alert: each point of
    sale below the line with at least 3 leads missing is now a low_coverage alert, the coverage
    view's figures its evidence, unless a silence on it already says nothing reaches tracking."""
    page, summary = network_fr
    text = visible_text(page.read_text())
    pos_names = names(sample_workspace)
    below = [r for r in coverage_rows(sample_workspace) if int(r["tracked"]) < email_facts.COVERAGE_FLAG * int(r["expected"])]
    silent = {a["point_of_sale"] for a in summary["alerts"] if a["kind"] == "silence"}
    alerted = {a["point_of_sale"] for a in summary["alerts"] if a["kind"] == "low_coverage"}
    enough = {r["point_of_sale"] for r in below if int(r["expected"]) - int(r["tracked"]) >= health.LOW_COVERAGE_MIN_MISSING}
    assert alerted == enough - silent and {"paris-9", "paris-15"} <= alerted
    for row in below:
        pos = row["point_of_sale"]
        evidence = f"{number(int(row['tracked']), 'fr')} leads suivis sur {number(int(row['expected']), 'fr')} reçus"
        assert (evidence in text) == (pos in alerted), pos
        # every point of sale below the line, alerted or not, is flagged in the coverage table
        coverage = percent(int(row["tracked"]) / int(row["expected"]), "fr")
        assert re.search(rf"{re.escape(pos_names[pos])}</td>(<td[^>]*>[^<]*</td>){{3}}<td class=\"num\">"
                         rf"{re.escape(html.escape(coverage))}</td><td class=\"\">⚠ couverture", page.read_text()), pos
    # with its likely cause (the most frequent of its missing leads')
    with Analytics(sample_workspace) as data:
        missing = health.missing_leads(data, MONTH)
    cause = missing[missing["point_of_sale"] == "paris-15"]["cause"].value_counts().index[0]
    alerts = page.read_text().split("<h2>Alertes</h2>", 1)[1].split("<h2>", 1)[0]
    assert re.search(rf"Couverture faible</td><td[^>]*>{re.escape(html.escape(pos_names['paris-15']))}</td>.*?"
                     rf"<td[^>]*>{re.escape(html.escape(labels('fr')['causes'][cause]))}</td></tr>", alerts)
    # the headline counts them with the other alerts
    assert f'<div class="et-value">{len(summary["alerts"])}</div><div class="et-label">Alertes' in page.read_text()


@pytest.mark.chromium
def test_a_zero_percent_bar_shows_its_value(network_fr, sample_workspace, tmp_path):
    page, summary = network_fr
    zero = [p for p, c in summary["coverage_by_point_of_sale"].items() if c["expected"] and not c["tracked"]]
    assert zero, "the sample's month has points of sale at 0 %"
    chart = next(f for f in figures(page.read_text()) if f["layout"]["title"]["text"] == "Couverture par point de vente")
    (bars,) = chart["data"]
    assert bars["textposition"] == "outside" and bars["cliponaxis"] is False
    assert len(bars["text"]) == len(bars["y"]) == len([c for c in summary["coverage_by_point_of_sale"].values()
                                                       if c["expected"]])
    # drawn by plotly in Chromium: a label "0,0 %" beside each 0 % bar
    dom = rendered_dom(page, tmp_path)
    labels_drawn = [html.unescape(x) for x in re.findall(r'<text class="bartext[^"]*"[^>]*>([^<]*)</text>', dom)]
    assert labels_drawn.count(percent(0.0, "fr")) == len(zero), labels_drawn


def test_point_of_sale_report_names_it_and_draws_its_year_from_0_to_100(sample_workspace, tmp_path):
    folder = run_report(sample_workspace, tmp_path, "--point-of-sale", "paris-9", "--lang", "en")
    page = (folder / "health-paris-9.html").read_text()
    name = names(sample_workspace)["paris-9"]
    assert f"<h1>Tracking health — {html.escape(name)} — October 2026</h1>" in page
    trend = next(f for f in figures(page) if "12 months" in f["layout"]["title"]["text"])
    assert trend["layout"]["title"]["text"] == f"Coverage over 12 months — {name}"
    low, high = trend["layout"]["yaxis"]["range"]
    assert -0.05 <= low <= 0 and 1 < high <= 1.1  # was -100 % to 100 % for a point of sale at 0 %
    assert trend["layout"]["yaxis"]["tickformat"] == ".0%"
    own = next(t for t in trend["data"] if t["name"] == name)
    assert own["y"] and set(own["y"]) == {0.0}  # paris-9 never reached tracking
    assert all(re.fullmatch(r"[A-Z][a-z]{2} 20\d\d", x) for x in own["x"])
    assert short_month(MONTH, "en") == own["x"][-1]
    titles = [(f["layout"].get(a, {}).get("title", {}).get("text") or "").lower()
              for f in figures(page) for a in ("xaxis", "yaxis")]
    assert not {"value", "variable", "index"} & set(titles)
    # its network beside it, and its own alert only
    assert any(t["name"] == "Network" for t in trend["data"])
    summary = json.loads((folder / "health-paris-9.summary.json").read_text())
    assert [(a["kind"], a["point_of_sale"]) for a in summary["alerts"]] == [("low_coverage", "paris-9")]
    assert "0 of 3 leads received (mail logs, mailbox export) were tracked" in page


def test_configuration_problems_written_in_french_keep_their_figures_and_toml(typo_workspace):  # noqa: F811
    """An address no point of sale claims (a forwarding rule's typo): its evidence and fix in French,
    with the same figures as the English ``detail``, and the TOML to add still TOML."""
    workspace = open_workspace(typo_workspace)
    with Analytics(workspace) as data:
        found = checks.find_checks(data.sql, workspace)
    pos_names = {p.id: p.name for p in workspace.points_of_sale}
    assert sorted(c.kind for c in found) == ["mailbox_not_tracked", "silent_point_of_sale", "unclaimed_address"]
    for check in found:
        evidence, fix = check_evidence(check, "fr", pos_names), check_fix(check, "fr", workspace, found, pos_names)
        sentence = " ".join(fix[:1] if isinstance(fix, list) else [fix])
        assert evidence and sentence and not ENGLISH.search(evidence + " " + sentence), (evidence, fix)
        assert figures_of(check.detail.removeprefix(f"{check.point_of_sale}: ")) == figures_of(evidence), evidence
        english = check_fix(check, "en", workspace, found, pos_names)
        assert (english if isinstance(english, str) else "\n".join(english)) == check.fix
    unclaimed = next(c for c in found if c.kind == "unclaimed_address")
    fix = check_fix(unclaimed, "fr", workspace, found, pos_names)
    assert fix[0].startswith("si la règle de transfert visait nantes1@track.example.net (à 1 caractère)")
    assert tomllib.loads("\n".join(fix[1:])) == {"tracked_addresses": [{"address": TYPO, "point_of_sale": "nantes-1"}]}
    assert check_evidence(unclaimed, "fr", pos_names) == (
        f"{TYPO} : 12 copies (12 leads) depuis le 02/03/2026, sur une adresse d'un domaine de suivi qu'aucun "
        "point de vente ne déclare ; comptées comme copies de la boîte du point de vente Agence Nantes 1, jamais "
        "comme suivies")
