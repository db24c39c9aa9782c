"""The built wheel, installed with pip into a fresh venv with no source tree beside it, does
everything: init --sample, ingest, every report kind, email (the editable install hid that
report notebooks and templates were found through the source tree)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, Inbox, report_in, smtp_server

MONTH = "2026-10"


def run(args, cwd: Path, env: dict, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin folder, a folder far from the source tree, environment)."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "EMAILTRACK_", "JUPYTER", "VIRTUAL_ENV"))}
    env["JUPYTER_DATA_DIR"] = str(base / "jupyter")  # no kernel of the developer's own
    run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--quiet", "-w", base / "dist"], base, env)
    (wheel,) = (base / "dist").glob("emailtrack_analytics-*.whl")
    run([sys.executable, "-m", "venv", base / "venv"], base, env)
    bin_ = base / "venv" / "bin"
    run([bin_ / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel], base, env)
    away = base / "run"
    away.mkdir()
    return bin_, away, env


def test_the_wheel_is_imported_from_the_venv_not_the_source_tree(installed):
    bin_, away, env = installed
    location = run([bin_ / "python", "-c", "import emailtrack_analytics as p; print(p.__file__)"], away, env).stdout
    assert str(bin_.parent) in location and str(ROOT) not in location


def test_the_wheel_makes_every_report_and_emails_it(installed):
    bin_, away, env = installed
    ws = away / "ws"
    run([bin_ / "emailtrack", "init", ws, "--sample", "--end-month", MONTH, "--scale", "0.05"], away, env)
    run([bin_ / "emailtrack", "-w", ws, "ingest", ws / "data" / "sample"], away, env)
    leads = run([bin_ / "emailtrack", "-w", ws, "export", "leads", "--month", MONTH], away, env).stdout
    network_leads = len({line.split(",")[0] for line in leads.strip().splitlines()[1:]})
    assert network_leads > 0
    for kind in ("distribution", "health"):
        run([bin_ / "emailtrack", "-w", ws, "report", kind, "--month", MONTH], away, env)
        assert (ws / "reports" / MONTH / f"{kind}.html").stat().st_size > 10_000
    inbox = Inbox()
    with smtp_server(inbox) as port:
        env = {**env, "EMAILTRACK_SMTP_URL": f"smtp://127.0.0.1:{port}", "EMAILTRACK_MAIL_FROM": "reports@example.net"}
        run([bin_ / "emailtrack", "-w", ws, "report", "monthly", "--month", MONTH, "--send-to", "manager@example.org"],
            away, env)
    summary = json.loads((ws / "reports" / MONTH / "monthly.summary.json").read_text())
    assert summary["leads"] == network_leads
    (envelope,) = inbox.received
    assert envelope.rcpt_tos == ["manager@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    # the report attached (as it is, or zipped), or too large: the body says where it is
    report = ws / "reports" / MONTH / "monthly.html"
    assert report_in(message) == report.read_text() or str(report) in message.get_body(("plain",)).get_content()


def test_the_wheel_sets_tracking_up_and_shows_the_deployment(installed):
    """Issue 15's commands from the wheel (their data files: the portal catalogue, the
    confirmation rules, the set-up page's texts, must be in it)."""
    bin_, away, env = installed
    ws = away / "ws-setup"
    run([bin_ / "emailtrack", "init", ws, "--sample", "--end-month", MONTH, "--scale", "0.05"], away, env)
    address = run([bin_ / "emailtrack", "-w", ws, "addresses", "add", "--point-of-sale", "cassis"],
                  away, env).stdout.strip()
    assert address.startswith("cassis-") and address.endswith("@track.example.net")
    assert address in (ws / "emailtrack.toml").read_text()
    run([bin_ / "emailtrack", "-w", ws, "setup", "--point-of-sale", "cassis", "--out", ws / "kit"], away, env)
    kit = ws / "kit" / "cassis"
    assert sorted(p.name for p in kit.iterdir()) == ["forward.sieve", "gmail-filters.xml", "index.html", "index.md",
                                                    "outlook-rule.ps1"]
    assert address in (kit / "index.html").read_text()   # the page lists every tracked address
    assert 'redirect :copy "cassis@track.example.net";' in (kit / "forward.sieve").read_text()  # the rule: the first
    run([bin_ / "emailtrack", "-w", ws, "ingest", ws / "data" / "sample"], away, env)
    status = json.loads(run([bin_ / "emailtrack", "-w", ws, "status", "--deployment", "--format", "json"],
                            away, env).stdout)
    assert len(status["points_of_sale"]) == 25
    states = {pos["point_of_sale"]: pos["state"] for pos in status["points_of_sale"]}
    assert states["paris-9"] == "never" and states["lyon-3"] == "live"
