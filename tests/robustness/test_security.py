"""Untrusted strings are text, never markup, in every report and email.

The sample carries hostile strings through the real ingest (``sample_facts.json``
``untrusted_strings``): SeLoger leads whose subject holds ``<script>alert("subject")</script>``
and whose HTML body holds a ``javascript:`` link, in the month of SeLoger's template spike, so
that the subject shows among the alert's example subjects. The reports are then opened in
headless Chromium, driven through the DevTools protocol over a pipe (no port, no extra
package): no dialog may open, the hostile subject must read literally in the page's text, no
element may carry a ``javascript:`` URL, and the page may load nothing but ``file://`` (and
``data:`` images plotly makes itself).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from email import message_from_bytes, policy
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from emailtrack_analytics.demo.templates import HOSTILE_LINK, HOSTILE_SUBJECT
from emailtrack_analytics.reports import html as h
from tests.conftest import Inbox, Visit, report_in, run_cli, smtp_server

KINDS = ("health", "monthly", "distribution")
ESCAPED_SUBJECT = "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;"


# --------------------------------------------------------------------------- the sample's hostile messages

@pytest.fixture(scope="module")
def hostile(sample_workspace) -> dict:
    facts = json.loads((sample_workspace / "data" / "sample-truth" / "sample_facts.json").read_text())
    planted = facts["untrusted_strings"]
    assert planted["subject"] == HOSTILE_SUBJECT and planted["link"] == HOSTILE_LINK
    assert planted["leads"] and planted["sources"] and len(planted["months"]) == 1
    return planted


@pytest.fixture(scope="module")
def stored(sample_workspace, hostile) -> pd.DataFrame:
    """The stored copies with the hostile subject, with their prospect's name (to look for)."""
    from emailtrack_analytics.api import Analytics
    with Analytics(sample_workspace) as data:
        return data.sql("SELECT m.message_key, m.month, m.portal, m.category, m.flags, m.source, d.name "
                        "FROM messages m LEFT JOIN lead_details d USING (message_key) "
                        "WHERE contains(m.subject, ?)", [HOSTILE_SUBJECT])


@pytest.fixture(scope="module")
def reports(sample_workspace, hostile, tmp_path_factory) -> dict[str, Path]:
    """Every report kind for the month of the hostile messages."""
    out = tmp_path_factory.mktemp("hostile-reports")
    month = hostile["months"][0]
    pages = {}
    for kind in KINDS:
        result = run_cli("--workspace", sample_workspace, "report", kind, "--month", month, "--out", out)
        assert result.code == 0, result.err
        pages[kind] = out / month / f"{kind}.html"
    return pages


def test_hostile_messages_go_through_the_real_ingest(sample_workspace, hostile, stored):
    import zlib

    import duckdb

    from emailtrack_analytics.config.workspace import open_workspace
    # every tracking copy the ground truth lists, plus the points of sale's own mailbox exports
    assert len(stored) >= len(hostile["sources"]) >= 2
    assert set(stored["portal"]) == {"seloger"} and set(stored["month"]) == set(hostile["months"])
    assert all("unrecognised_template" in list(flags) for flags in stored["flags"])
    assert stored["name"].notna().all()  # the prospect is known: without_details can take them out
    con = duckdb.connect(str(open_workspace(sample_workspace).database), read_only=True)
    try:
        raws = con.execute("SELECT raw_zlib FROM raw_messages WHERE message_key IN (SELECT unnest(?::VARCHAR[]))",
                           [list(stored["message_key"])]).fetchall()
    finally:
        con.close()
    assert len(raws) == len(stored)
    for (raw,) in raws:
        message = message_from_bytes(zlib.decompress(raw), policy=policy.default)
        assert HOSTILE_LINK in message.get_body(("html",)).get_content()


def test_template_spike_shows_the_hostile_subject_without_the_prospect(sample_workspace, hostile, stored):
    from emailtrack_analytics.analytics import health
    from emailtrack_analytics.api import Analytics
    with Analytics(sample_workspace) as data:
        (spike,) = [a for a in health.alerts(data, hostile["months"][0]) if a.kind == "template_spike"]
    assert spike.portal == "seloger" and 1 <= len(spike.examples) <= health.TEMPLATE_SPIKE_EXAMPLES
    # the same new subject for two prospects: once the prospect is out, it is the most frequent
    assert spike.examples[0] == f"Nouvelle demande de contact de {health.HIDDEN} {HOSTILE_SUBJECT}"
    for name in stored["name"]:
        assert not any(name in example for example in spike.examples)


def test_personal_data_is_taken_out_of_example_subjects():
    from emailtrack_analytics.analytics.health import without_personal_data
    assert without_personal_data("Contact de p-0123456789abcdef (p-fedcba9876543210@gmail.com)") == \
        "Contact de … (…@gmail.com)"
    assert without_personal_data("Rappeler Jean au 06 12 34 56 78 ou +33 6 12 34 56 78, jean.d@free.fr") == \
        "Rappeler Jean au … ou …, …@free.fr"
    assert without_personal_data("Nouvelle demande pour votre bien LYO2-1234 à 450 000 €") == \
        "Nouvelle demande pour votre bien LYO2-1234 à 450 000 €"


# --------------------------------------------------------------------------- static checks

LOADING = re.compile(r"""\b(?:src|href|srcset|poster|data|action|formaction|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""",
                     re.I)
CSS_LOAD = re.compile(r"""(?:url\(\s*["']?\s*(?:https?:)?//|@import\s+["']?\s*(?:https?:)?//)""", re.I)


def markup_outside_scripts(page: str) -> str:
    """The page without the bodies of its scripts (plotly.js names URLs it never loads)."""
    return re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", page, flags=re.S | re.I)


@pytest.mark.parametrize("kind", KINDS)
def test_reports_load_nothing_from_the_network_and_hold_no_raw_hostile_markup(reports, kind):
    page = reports[kind].read_text(encoding="utf-8")
    markup = markup_outside_scripts(page)
    # test_report.py checks the monthly page's script, link and img tags; here every kind, every
    # attribute that loads something, and the style sheets
    assert not LOADING.search(markup), LOADING.search(markup).group(0)
    assert not CSS_LOAD.search(markup)
    assert HOSTILE_SUBJECT not in page and "javascript:" not in markup.lower()
    if kind == "health":
        assert "&lt;script&gt;alert(" in page


# --------------------------------------------------------------------------- headless Chromium

def assert_nothing_ran_or_loaded(visit: Visit, shown: dict) -> None:
    assert visit.dialogs == [] and shown["calls"] == [], (visit.dialogs, shown["calls"])
    assert shown["javascript"] == [] and shown["hostile_scripts"] == 0
    assert visit.errors == [], visit.errors
    # the page itself, and the images plotly draws from data: URLs; nothing from the network
    assert visit.requests and visit.requests[0].startswith("file://")
    assert all(url.split(":", 1)[0] in ("file", "data") for url in visit.requests), visit.requests
    assert shown["charts"] > 0 and shown["drawn"] >= shown["charts"]  # the report's own scripts did run


@pytest.mark.chromium
@pytest.mark.parametrize("kind", KINDS)
def test_reports_show_hostile_strings_as_text_in_chromium(reports, chromium, stored, kind):
    visit, shown = chromium.open(reports[kind])
    assert_nothing_ran_or_loaded(visit, shown)
    if kind == "health":  # the template spike's example subjects
        assert HOSTILE_SUBJECT in shown["text"]
        page = reports[kind].read_text(encoding="utf-8")
        for name in stored["name"]:
            assert name not in shown["text"] and name not in page


@pytest.mark.chromium
def test_chart_labels_are_drawn_as_text(chromium, tmp_path):
    """plotly.js reads <b>, <br> and <a href> in the text it draws (it drops javascript: links
    itself): h.figure escapes every trace's text so that it is drawn as written, hover included."""
    frame = pd.DataFrame({"label": [HOSTILE_SUBJECT, HOSTILE_LINK], "n": [3, 5]})
    bar = go.Figure(go.Bar(x=frame["label"], y=frame["n"], name=HOSTILE_LINK,
                           hovertemplate="%{x}: %{y}<extra>%{fullData.name}</extra>"))
    bar.update_layout(showlegend=True)
    pie = go.Figure(go.Pie(labels=[HOSTILE_SUBJECT, HOSTILE_LINK], values=[1, 2]))
    heat = go.Figure(go.Heatmap(z=[[1, 2]], x=[HOSTILE_SUBJECT, HOSTILE_LINK], y=[HOSTILE_LINK]))
    pieces = [h.plotly_js(), h.heading(HOSTILE_SUBJECT, HOSTILE_LINK), h.cards([(HOSTILE_LINK, HOSTILE_SUBJECT, None, None)]),
              h.table(pd.DataFrame({HOSTILE_SUBJECT: [HOSTILE_LINK], "list": [[HOSTILE_SUBJECT, HOSTILE_LINK]]})),
              h.note(HOSTILE_LINK), h.figure(bar), h.figure(pie), h.figure(heat)]
    page = tmp_path / "pieces.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                    + "".join(str(p) for p in pieces) + "</body></html>", encoding="utf-8")
    visit, shown = chromium.open(page)
    assert_nothing_ran_or_loaded(visit, shown)
    assert shown["svg_links"] == 0  # plotly would draw <a> from the link's markup
    assert shown["text"].count(HOSTILE_SUBJECT) >= 5 and shown["text"].count(HOSTILE_LINK) >= 5


@pytest.mark.chromium
def test_hover_labels_are_drawn_as_text(chromium, tmp_path):
    bar = go.Figure(go.Bar(x=[HOSTILE_SUBJECT], y=[1], name=HOSTILE_LINK,
                           hovertemplate="%{x}<extra>%{fullData.name}</extra>"))
    page = tmp_path / "hover.html"
    page.write_text("<html><body>" + str(h.plotly_js()) + str(h.figure(bar)) + "</body></html>", encoding="utf-8")
    target = chromium.command("Target.createTarget", {"url": page.as_uri()})["targetId"]
    session = chromium.command("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        deadline = time.monotonic() + 60
        while not chromium.evaluate(session, "!!document.querySelector('.main-svg')"):
            assert time.monotonic() < deadline
            chromium._receive(0.2)
        hover = chromium.evaluate(session, """(() => { const gd = document.querySelector('.js-plotly-plot');
            Plotly.Fx.hover(gd, [{curveNumber: 0, pointNumber: 0}]);
            const layer = gd.querySelector('.hoverlayer');
            return {text: layer.textContent, links: layer.querySelectorAll('a').length}; })()""")
    finally:
        chromium.command("Target.closeTarget", {"targetId": target})
    assert HOSTILE_SUBJECT in hover["text"] and HOSTILE_LINK in hover["text"] and hover["links"] == 0


# --------------------------------------------------------------------------- hostile configuration

HOSTILE_WORKSPACE = 'Réseau <script>alert("workspace")</script>'
HOSTILE_POS = "<img src=x onerror=alert('pos')>"
HOSTILE_GROUP = "Rhône <a href=\"javascript:alert('group')\">x</a>"


@pytest.fixture(scope="module")
def hostile_config(sample_workspace, hostile, tmp_path_factory) -> Path:
    """The sample with names written by someone hostile (the report title, tables and charts
    show them): the workspace, a point of sale and a group."""
    ws = tmp_path_factory.mktemp("hostile-config") / "ws"
    shutil.copytree(sample_workspace, ws, ignore=shutil.ignore_patterns("reports"))
    config = (ws / "emailtrack.toml").read_text(encoding="utf-8")
    config = config.replace('name = "Réseau Exemple"', f"name = {json.dumps(HOSTILE_WORKSPACE, ensure_ascii=False)}")
    config = config.replace('name = "Agence Lyon 2e – Bellecour"', f"name = {json.dumps(HOSTILE_POS)}")
    config = config.replace('group = "Rhône"', f"group = {json.dumps(HOSTILE_GROUP, ensure_ascii=False)}")
    (ws / "emailtrack.toml").write_text(config, encoding="utf-8")
    return ws


@pytest.mark.chromium
def test_hostile_names_in_the_configuration_are_text(hostile_config, hostile, chromium, tmp_path):
    month = hostile["months"][0]
    result = run_cli("--workspace", hostile_config, "report", "monthly", "--month", month, "--out", tmp_path)
    assert result.code == 0, result.err
    visit, shown = chromium.open(tmp_path / month / "monthly.html")
    assert_nothing_ran_or_loaded(visit, shown)
    for text in (HOSTILE_WORKSPACE, HOSTILE_POS, HOSTILE_GROUP):
        assert text in shown["text"], text  # title, tables, chart axes and legends
    assert shown["svg_links"] == 0


# --------------------------------------------------------------------------- email

def received_report(monkeypatch, workspace, kind, month, out) -> tuple:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        monkeypatch.setenv("EMAILTRACK_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("EMAILTRACK_MAIL_FROM", "reports@example.net")
        result = run_cli("--workspace", workspace, "report", kind, "--month", month, "--out", out,
                         "--send-to", "analyst@example.net", "--resend")
    assert result.code == 0, result.err
    (envelope,) = inbox.received
    message = message_from_bytes(envelope.content, policy=policy.default)
    # the report attached as it is or zipped; when too large to attach, the body says where it is
    return message.get_body(("html",)).get_content(), report_in(message) or (out / month / f"{kind}.html").read_text()


def assert_no_hostile_markup(html_text: str) -> None:
    assert "<script" not in html_text.lower()
    assert "javascript:" not in html_text.lower()
    assert not re.search(r"<img\b[^>]*onerror", html_text, re.I)


def test_health_report_email_escapes_the_hostile_subject(sample_workspace, hostile, monkeypatch, tmp_path):
    body, attached = received_report(monkeypatch, sample_workspace, "health", hostile["months"][0], tmp_path)
    assert ESCAPED_SUBJECT in body  # the alert's example subjects, as text
    assert_no_hostile_markup(body)
    attached = attached.decode() if isinstance(attached, bytes) else attached
    assert HOSTILE_SUBJECT not in attached and "javascript:" not in markup_outside_scripts(attached).lower()


def test_email_escapes_hostile_names_of_the_configuration(hostile_config, hostile, monkeypatch, tmp_path):
    body, _ = received_report(monkeypatch, hostile_config, "monthly", hostile["months"][0], tmp_path)
    assert "Réseau &lt;script&gt;alert(&quot;workspace&quot;)&lt;/script&gt;" in body
    assert_no_hostile_markup(body)
