"""Reports: a real kernel through papermill, figures equal to the exports, offline HTML, email."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from email import message_from_bytes, policy
from pathlib import Path

import nbformat
import pytest

from tests.conftest import (
    CHROMIUM,
    SAMPLE_END_MONTH,
    Inbox,
    free_port,
    headless_chromium,
    report_in,
    smtp_server,
    workspace_with_notebook,
)

MONTH = SAMPLE_END_MONTH


@pytest.fixture(scope="module")
def monthly(sample_workspace):
    from tests.conftest import run_cli
    result = run_cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH)
    assert result.code == 0, result.err
    return sample_workspace / "reports" / MONTH


def export(cli, ws, table, *args):
    result = cli("--workspace", ws, "export", table, *args)
    assert result.code == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


def test_report_files(monthly, sample_workspace, cli):
    assert sorted(p.name for p in monthly.iterdir()) == ["monthly.html", "monthly.ipynb", "monthly.summary.json"]
    nb = nbformat.read(str(monthly / "monthly.ipynb"), as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'month = "{MONTH}"' in injected.source


def test_summary_figures_equal_the_exports(monthly, sample_workspace, cli):
    summary = json.loads((monthly / "monthly.summary.json").read_text())
    leads = export(cli, sample_workspace, "leads", "--month", MONTH)
    assert summary["leads"] == len({r["lead_key"] for r in leads})
    assert summary["point_of_sale_rows"] == len([r for r in leads])
    by_pos = {}
    for row in leads:
        if row["point_of_sale"]:
            by_pos[row["point_of_sale"]] = by_pos.get(row["point_of_sale"], 0) + 1
    assert summary["leads_by_point_of_sale"] == by_pos
    by_portal = {}
    for portal, keys in _group(leads, "portal").items():
        by_portal[portal] = len(keys)
    assert summary["leads_by_portal"] == by_portal
    previous = export(cli, sample_workspace, "leads", "--month", "2026-09")
    assert summary["leads_previous_month"] == len({r["lead_key"] for r in previous})


def _group(rows, column):
    groups: dict[str, set] = {}
    for row in rows:
        groups.setdefault(row[column], set()).add(row["lead_key"])
    return groups


def test_html_is_self_contained(monthly):
    page = (monthly / "monthly.html").read_text()
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']https?://""", page)
    assert page.count("data-emailtrack-figure=") >= 5  # drawn by the page's one copy of plotly.js
    assert "def " not in page.split("<body", 1)[1][:2000]  # code cells are hidden
    assert "Rapport mensuel des leads" in page


def test_point_of_sale_report(sample_workspace, cli):
    result = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH,
                 "--point-of-sale", "lyon-2", "--lang", "en")
    assert result.code == 0, result.err
    folder = sample_workspace / "reports" / MONTH
    summary = json.loads((folder / "monthly-lyon-2.summary.json").read_text())
    leads = export(cli, sample_workspace, "leads", "--month", MONTH)
    assert summary["leads"] == sum(1 for r in leads if r["point_of_sale"] == "lyon-2")
    assert sum(summary["leads_by_day"].values()) == summary["leads"]  # the daily chart has every lead
    assert all(day.startswith(MONTH) for day in summary["leads_by_day"])
    assert "Monthly lead report" in (folder / "monthly-lyon-2.html").read_text()


def test_month_without_data_is_refused_unless_allowed(sample_workspace, cli, tmp_path):
    refused = cli("--workspace", sample_workspace, "report", "monthly", "--month", "2019-01", "--out", tmp_path / "out")
    assert refused.code == 2 and refused.err.count("\n") == 1
    assert "no data in 2019-01" in refused.err and "--allow-empty" in refused.err
    assert not (tmp_path / "out").exists()  # nothing written, not even the folder
    result = cli("--workspace", sample_workspace, "report", "monthly", "--month", "2019-01", "--out", tmp_path / "out",
                 "--allow-empty")
    assert result.code == 0, result.err
    page = (tmp_path / "out" / "2019-01" / "monthly.html").read_text()
    assert "Aucune donnée pour ce mois." in page
    assert json.loads((tmp_path / "out" / "2019-01" / "monthly.summary.json").read_text())["leads"] == 0


def test_failing_cell_fails_the_command(sample_workspace, cli, tmp_path):
    ws = workspace_with_notebook(sample_workspace, tmp_path, "broken", "raise ValueError('the portal table is empty')")
    result = cli("--workspace", ws, "report", "broken", "--month", MONTH)
    assert result.code == 1
    assert "ValueError: the portal table is empty" in result.err
    assert result.err.count("\n") == 1


def rendered_dom(page, tmp_path) -> str:
    """The page's DOM after headless Chromium ran its scripts (no network: it needs none)."""
    return headless_chromium(tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()).stdout


@pytest.mark.chromium
@pytest.mark.parametrize("kind, expected", [("monthly", 6), ("distribution", 8), ("health", 2)])
def test_charts_render_in_headless_chromium(monthly, sample_workspace, cli, tmp_path, kind, expected):
    if kind != "monthly":
        assert cli("--workspace", sample_workspace, "report", kind, "--month", MONTH).code == 0
    dom = rendered_dom(monthly / f"{kind}.html", tmp_path)
    # plotly draws each chart as an SVG with class "main-svg" once its script has run
    charts = len(re.findall(r'class="plot-container plotly"', dom))
    assert charts >= expected, charts
    assert dom.count('class="main-svg"') >= charts


def test_report_by_email_to_a_local_smtp_server(sample_workspace, cli, monkeypatch):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        monkeypatch.setenv("EMAILTRACK_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("EMAILTRACK_MAIL_FROM", "reports@example.net")
        result = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH,
                     "--send-to", "analyst@example.net", "boss@example.net")
    assert result.code == 0, result.err
    (envelope,) = inbox.received
    assert envelope.rcpt_tos == ["analyst@example.net", "boss@example.net"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    summary = json.loads((sample_workspace / "reports" / MONTH / "monthly.summary.json").read_text())
    assert message["Subject"].startswith(f"Leads d'octobre 2026 — Réseau Exemple : {summary['leads']} ")
    # the report attached (as it is, or zipped), or too large: the body says where it is
    report = sample_workspace / "reports" / MONTH / "monthly.html"
    assert report_in(message) == report.read_text() or str(report) in message.get_body(("plain",)).get_content()
    body = message.get_body(("html",)).get_content()
    assert f">{summary['leads']}<" in body
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    if CHROMIUM:  # kaleido renders the charts with the installed Chromium
        assert len(images) == 3 and all(p.get_content().startswith(b"\x89PNG") for p in images)
        assert all(f"cid:{p['Content-ID'].strip('<>')}" in body for p in images)
    else:
        assert images == [] and "charts left out" in result.err

    # the same figures to the same people: a cron re-run sends nothing more
    with smtp_server(inbox) as port:
        monkeypatch.setenv("EMAILTRACK_SMTP_URL", f"smtp://127.0.0.1:{port}")
        again = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH,
                    "--send-to", "analyst@example.net")
        assert again.code == 0 and "not sent again" in again.err
        assert len(inbox.received) == 1
        forced = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH,
                     "--send-to", "analyst@example.net", "--resend")
        assert forced.code == 0 and len(inbox.received) == 2


def test_refused_email_exits_1(sample_workspace, cli, monkeypatch):
    class Refuser:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 mailbox unavailable"

    with smtp_server(Refuser()) as port:
        monkeypatch.setenv("EMAILTRACK_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("EMAILTRACK_MAIL_FROM", "reports@example.net")
        result = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH,
                     "--send-to", "nobody@example.net", "--resend")
    assert result.code == 1
    assert "550" in result.err and "nobody@example.net" in result.err


def test_unreachable_smtp_server_error_hides_the_password(sample_workspace, cli, monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("EMAILTRACK_SMTP_URL", f"smtp://reports:s3cr3t-pw@127.0.0.1:{port}")
    monkeypatch.setenv("EMAILTRACK_MAIL_FROM", "reports@example.net")
    result = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH,
                 "--send-to", "analyst@example.net", "--resend")
    assert result.code == 1
    assert "cannot reach the SMTP server 127.0.0.1" in result.err
    assert "s3cr3t-pw" not in result.err + result.out


def test_failure_is_mailed_to_error_to(sample_workspace, cli, tmp_path, monkeypatch):
    ws = workspace_with_notebook(sample_workspace, tmp_path, "broken", "1 / 0")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        monkeypatch.setenv("EMAILTRACK_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("EMAILTRACK_MAIL_FROM", "reports@example.net")
        result = cli("--workspace", ws, "report", "broken", "--month", MONTH, "--error-to", "ops@example.net")
    assert result.code == 1 and "ZeroDivisionError" in result.err
    (envelope,) = inbox.received
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert envelope.rcpt_tos == ["ops@example.net"]
    assert "FAILED" in message["Subject"]
    assert "ZeroDivisionError" in message.get_body(("plain",)).get_content()
    assert [p.get_filename() for p in message.iter_attachments()] == ["broken.ipynb"]


def test_a_second_run_waits_for_the_first_then_gives_up(sample_workspace, cli, tmp_path, monkeypatch):
    import fcntl
    (tmp_path / "out").mkdir()
    monkeypatch.setenv("EMAILTRACK_LOCK_WAIT", "1")
    with open(tmp_path / "out" / ".emailtrack-report.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a run in progress
        result = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH, "--out", tmp_path / "out")
    assert result.code == 2 and "another report is being written" in result.err
    assert not (tmp_path / "out" / MONTH / "monthly.html").exists()


def test_distribution_report_figures_equal_the_exports(sample_workspace, cli):
    result = cli("--workspace", sample_workspace, "report", "distribution", "--month", MONTH)
    assert result.code == 0, result.err
    folder = sample_workspace / "reports" / MONTH
    summary = json.loads((folder / "distribution.summary.json").read_text())
    leads = export(cli, sample_workspace, "leads", "--month", MONTH)
    assert summary["leads"] == len({r["lead_key"] for r in leads})
    channels = {}
    for row in leads:
        channels[row["channel"]] = channels.get(row["channel"], 0) + 1
    assert summary["channel_mix"] == channels
    assert abs(sum(summary["portal_share"].values()) - 1) < 1e-9
    assert summary["weekday_hour_total"] == summary["leads"]
    assert summary["trend"][MONTH] == summary["leads"] and len(summary["trend"]) == 12
    for pos, needed in summary["portals_for_80"].items():
        counts = sorted((sum(1 for r in leads if r["point_of_sale"] == pos and r["portal"] == p)
                         for p in {r["portal"] for r in leads if r["point_of_sale"] == pos}), reverse=True)
        total, running, n = sum(counts), 0, 0
        while running < 0.8 * total:
            running += counts[n]
            n += 1
        assert needed == n, pos
    page = (folder / "distribution.html").read_text()
    assert page.count("data-emailtrack-figure=") >= 7


def test_health_report_figures_equal_the_coverage_export(sample_workspace, cli):
    result = cli("--workspace", sample_workspace, "report", "health", "--month", MONTH)
    assert result.code == 0, result.err
    folder = sample_workspace / "reports" / MONTH
    summary = json.loads((folder / "health.summary.json").read_text())
    coverage = export(cli, sample_workspace, "coverage", "--month", MONTH)
    assert summary["expected"] == sum(int(r["expected"]) for r in coverage) > 0
    assert summary["tracked"] == sum(int(r["tracked"]) for r in coverage)
    assert sum(summary["missing_by_cause"].values()) == summary["missing"]
    page = (folder / "health.html").read_text()
    # the missing leads are listed without personal data: no prospect's email, phone or name,
    # and no Message-ID
    from emailtrack_analytics.api import Analytics
    with Analytics(sample_workspace) as data:
        people = data.sql("SELECT email, phone, name FROM lead_contacts WHERE month = ?", [MONTH])
        ids = data.sql("SELECT message_id FROM expected_lead_status WHERE month = ? AND NOT tracked", [MONTH])
    assert len(people) > 10 and len(ids) > 0
    for value in list(people["email"].dropna()) + list(people["phone"].dropna()) + list(ids["message_id"].dropna()):
        assert value not in page
    assert not any(name in page for name in people["name"].dropna() if len(name) > 6)


_COUNT_REFRESHES = '''
import os

import emailtrack_analytics.attribution.refresh as refresh

_real = refresh.refresh_attribution


def refresh_attribution(*args, **kwargs):
    with open(os.environ["EMAILTRACK_TEST_REFRESH_LOG"], "a") as log:
        log.write(f"{os.getpid()}\\n")
    return _real(*args, **kwargs)


refresh.refresh_attribution = refresh_attribution
'''


def test_a_report_refreshes_the_attribution_once(sample_workspace, cli, monkeypatch, tmp_path):
    """A report once refreshed three times (runner, notebook, email charts), each a write
    connection that blocks the scheduled ingest: the runner refreshes, the notebook's kernel and
    the email's charts only read. Every refresh_attribution call is logged, in this process and
    (through a sitecustomize on the kernel's PYTHONPATH) in the notebook's kernel."""
    import emailtrack_analytics
    from emailtrack_analytics.analytics import api
    from emailtrack_analytics.attribution import refresh
    from emailtrack_analytics.reports import runner

    log = tmp_path / "refreshes.log"
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_COUNT_REFRESHES)
    package_root = str(Path(emailtrack_analytics.__file__).parent.parent)
    monkeypatch.setenv("EMAILTRACK_TEST_REFRESH_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(hook), package_root, *filter(None, [os.environ.get("PYTHONPATH")])]))

    def counted(*args, **kwargs):
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return refresh.refresh_attribution(*args, **kwargs)

    monkeypatch.setattr(runner, "refresh_attribution", counted)
    monkeypatch.setattr(api, "refresh_attribution", counted)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        monkeypatch.setenv("EMAILTRACK_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("EMAILTRACK_MAIL_FROM", "reports@example.net")
        result = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH,
                     "--out", tmp_path / "reports", "--send-to", "analyst@example.net")
    assert result.code == 0, result.err
    assert len(inbox.received) == 1
    assert log.read_text().splitlines() == [str(os.getpid())]
