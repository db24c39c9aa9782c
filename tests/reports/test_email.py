"""The report emails as a manager reads them, received from a real SMTP server on loopback: the
subject says the news, the HTML and plain-text parts show the recorded figures (summary.json)
written for people in French and English, the movers carry their tracking flags (the sample's
planted tracking failures), the message stays small, and each point of sale receives its own
figures only."""

from __future__ import annotations

import json
import re
import shutil
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from emailtrack_analytics.config.workspace import load_config
from emailtrack_analytics.demo.sample import DROP_POINT_OF_SALE, FAILURES
from emailtrack_analytics.errors import ConfigError
from emailtrack_analytics.reports.email_content import EmailContent
from emailtrack_analytics.reports.labels import labels, number, percent, signed_percent
from emailtrack_analytics.reports.mailer import MAX_MESSAGE_BYTES, build_message, smtp_settings
from tests.conftest import BASIC_CONFIG, CHROMIUM, SAMPLE_END_MONTH, Inbox, report_in, smtp_server, write_config

MONTH = SAMPLE_END_MONTH
# how a raw figure looked in the old email: a key with underscores turned to spaces, a Python
# None, an unrounded float
RAW = re.compile(r"\bNone\b|\bnan\b|\d[.,]\d{4,}|non lead copies|point of sale rows|leads previous month")


def received(monkeypatch, workspace: Path, out: Path, *args: str) -> tuple[list, object]:
    from tests.conftest import run_cli
    inbox = Inbox()
    with smtp_server(inbox) as port:
        monkeypatch.setenv("EMAILTRACK_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("EMAILTRACK_MAIL_FROM", "reports@example.net")
        result = run_cli("--workspace", workspace, "report", *args, "--month", MONTH, "--out", out, "--resend")
    assert result.code == 0, result.err
    return inbox.received, result


def parts(envelope) -> tuple[object, str, str]:
    message = message_from_bytes(envelope.content, policy=policy.default)
    return message, message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def summary_of(out: Path, stem: str) -> dict:
    return json.loads((out / MONTH / f"{stem}.summary.json").read_text())


def assert_written_for_people(text: str, body: str, summary: dict, folder: Path) -> None:
    # the report's path on the server (a test's folder is named after the test) is no label
    text, body = text.replace(str(folder), ""), body.replace(str(folder), "")
    for key in summary:
        if "_" in key:
            assert key not in text and key not in body, key
    assert not RAW.search(text), RAW.search(text)
    assert not RAW.search(re.sub(r"<[^>]+>", " ", body)), RAW.search(body)


@pytest.fixture(scope="module")
def names(sample_workspace) -> dict[str, str]:
    return {p.id: p.name for p in load_config(sample_workspace / "emailtrack.toml").points_of_sale}


def test_monthly_email_in_french_says_the_news_with_the_recorded_figures(sample_workspace, names, monkeypatch,
                                                                          tmp_path):
    (envelope,), _ = received(monkeypatch, sample_workspace, tmp_path, "monthly", "--lang", "fr",
                              "--send-to", "manager@example.net")
    assert len(envelope.content) < MAX_MESSAGE_BYTES
    message, text, body = parts(envelope)
    f, t = summary_of(tmp_path, "monthly"), labels("fr")
    assert message["Subject"] == (f"Leads d'octobre 2026 — Réseau Exemple : {number(f['leads'], 'fr')} "
                                  f"({signed_percent(f['change_previous_month'], 'fr')})")
    assert "−" in message["Subject"] or "+" in message["Subject"]
    # every headline figure, labelled, in both parts, formatted the French way
    for label, value in ((t["network_leads"], number(f["leads"], "fr")),
                         (t["point_of_sale_rows"], number(f["point_of_sale_rows"], "fr")),
                         (t["active_points_of_sale"], number(f["active_points_of_sale"], "fr")),
                         (t["copies"], number(f["copies"], "fr")),
                         (t["quarantined"], number(f["quarantined"], "fr"))):
        assert f"{label} : {value}" in text, label
        assert re.search(re.escape(label) + r"</td><td[^>]*>" + re.escape(value) + "<", body.replace("'", '"')
                         .replace("&#x27;", "'")), label
    # the sample has no data a year before: "n/d", never "0"
    assert f["leads_same_month_last_year"] is None and f["change_last_year"] is None
    assert f"{t['last_year']} : n/d — aucune donnée pour octobre 2025" in text
    assert (f"{t['year_to_date']} : {number(f['leads_year_to_date'], 'fr')} — aucune donnée pour 2025") in text
    assert_written_for_people(text, body, f, tmp_path)

    # the falls: a tracking failure is flagged with its cause, the real drop of business is not
    falls = text.split("Baisses", 1)[1].split("Hausses", 1)[0]
    failed = FAILURES["client_rule_offline"]
    assert names[failed] in falls and names[DROP_POINT_OF_SALE] in falls
    flagged = falls.split(names[failed], 1)[1].split("\n", 2)[1]
    assert flagged.strip().startswith("⚠ suivi incomplet") and t["causes"]["client_rule_offline"] in flagged
    after_drop = falls.split(names[DROP_POINT_OF_SALE], 1)[1].split("\n", 2)[1]
    assert "⚠" not in after_drop
    # every planted failure still visible this month is listed as tracking to check
    to_check = text.split("Suivi à vérifier", 1)[1]
    for cause in ("forwarding_stopped", "never_forwards", "client_rule_offline", "cc_absent"):
        assert names[FAILURES[cause]] in to_check, cause
        assert t["causes"][cause] in to_check, cause
    assert "⚠ suivi incomplet" in body

    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    if CHROMIUM:
        assert len(images) == 3 and all(p.get_content().startswith(b"\x89PNG") for p in images)
        assert all(f"cid:{p['Content-ID'].strip('<>')}" in body for p in images)
    # the full report: attached as it is, compressed, or (too large) where it is on the server
    report = tmp_path / MONTH / "monthly.html"
    attached = report_in(message)
    assert attached == report.read_text() or (attached is None and str(report) in text)


def test_monthly_email_in_english(sample_workspace, monkeypatch, tmp_path):
    (envelope,), _ = received(monkeypatch, sample_workspace, tmp_path, "monthly", "--lang", "en",
                              "--send-to", "manager@example.net")
    message, text, body = parts(envelope)
    f, t = summary_of(tmp_path, "monthly"), labels("en")
    assert message["Subject"] == (f"Leads for October 2026 — Réseau Exemple: {number(f['leads'], 'en')} "
                                  f"({signed_percent(f['change_previous_month'], 'en')})")
    assert f"{t['network_leads']}: {number(f['leads'], 'en')}" in text
    assert f"{t['last_year']}: n/a — no data for October 2025" in text
    assert "⚠ tracking incomplete" in text and "Suivi" not in text and "mois" not in text
    assert_written_for_people(text, body, f, tmp_path)


def test_health_email_localises_the_alerts(sample_workspace, names, monkeypatch, tmp_path):
    (envelope,), _ = received(monkeypatch, sample_workspace, tmp_path, "health", "--lang", "fr",
                              "--send-to", "manager@example.net")
    assert len(envelope.content) < MAX_MESSAGE_BYTES
    message, text, body = parts(envelope)
    f = summary_of(tmp_path, "health")
    alerts = len(f["alerts"])
    assert message["Subject"] == (f"Santé du suivi d'octobre 2026 — Réseau Exemple : couverture "
                                  f"{percent(f['coverage'], 'fr')}, {alerts} alerte{'s' if alerts > 1 else ''}")
    assert f"Couverture : {percent(f['coverage'], 'fr')}" in text
    # the alert's evidence written in French, not the English detail of the summary
    assert all(a["detail"] not in text for a in f["alerts"])
    assert "no lead" not in text and "aucun lead depuis le" in text
    assert names[FAILURES["forwarding_stopped"]] in text
    assert_written_for_people(text, body, f, tmp_path)


def test_distribution_email(sample_workspace, monkeypatch, tmp_path):
    (envelope,), _ = received(monkeypatch, sample_workspace, tmp_path, "distribution", "--lang", "fr",
                              "--send-to", "manager@example.net")
    message, text, body = parts(envelope)
    f = summary_of(tmp_path, "distribution")
    top = max(f["portal_share"].values())
    assert message["Subject"].startswith("Répartition des leads d'octobre 2026 — Réseau Exemple : 1er portail ")
    assert message["Subject"].endswith(f"({percent(top, 'fr')})")
    assert f"Leads (réseau) : {number(f['leads'], 'fr')}" in text
    assert_written_for_people(text, body, f, tmp_path)


def test_each_point_of_sale_receives_its_own_figures_only(sample_workspace, names, monkeypatch, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(sample_workspace, ws, ignore=shutil.ignore_patterns("reports"))
    config = (ws / "emailtrack.toml").read_text()
    recipients = {FAILURES["client_rule_offline"]: "direction.paris15@example.net",
                  DROP_POINT_OF_SALE: "direction.merignac@example.net"}
    for pos, address in recipients.items():
        config = config.replace(f'id = "{pos}"\n', f'id = "{pos}"\nreport_to = ["{address}"]\n', 1)
    # an agency opened after the month: no data, so skipped, and the others' reports still go out
    config += '\n[[points_of_sale]]\nid = "nouvelle-agence"\nname = "Nouvelle agence"\n' \
              'tracked_addresses = ["nouvelle@track.example.net"]\nreport_to = ["direction.nouvelle@example.net"]\n'
    (ws / "emailtrack.toml").write_text(config)
    envelopes, result = received(monkeypatch, ws, tmp_path / "out", "monthly", "--per-point-of-sale", "--send")
    assert "nouvelle-agence: no data in 2026-10, skipped" in result.err
    assert not list((tmp_path / "out").rglob("monthly-nouvelle-agence*"))
    assert sorted(e.rcpt_tos[0] for e in envelopes) == sorted(recipients.values())
    assert all(len(e.rcpt_tos) == 1 for e in envelopes)
    for envelope in envelopes:
        pos = next(p for p, a in recipients.items() if a == envelope.rcpt_tos[0])
        message, text, body = parts(envelope)
        f = summary_of(tmp_path / "out", f"monthly-{pos}")
        assert f["point_of_sale"] == pos
        assert message["Subject"].startswith(f"Leads d'octobre 2026 — {names[pos]} : {number(f['leads'], 'fr')} ")
        assert f"Leads (par point de vente) : {number(f['leads'], 'fr')}" in text
        others = [n for p, n in names.items() if p != pos and n not in names[pos]]
        assert not [n for n in others if n in text or n in body]
        assert ("⚠ suivi incomplet" in text) == (pos == FAILURES["client_rule_offline"])
        # its standing in the network, as its report records it
        assert f"Rang : {f['rank']} sur {f['ranked']}" in text
        assert f"Part du réseau : {percent(f['share_of_network'], 'fr')}" in text
        assert_written_for_people(text, body, f, tmp_path)
    assert "sent to" in result.err


def test_send_without_per_point_of_sale_is_a_usage_error(sample_workspace, cli):
    result = cli("--workspace", sample_workspace, "report", "monthly", "--month", MONTH, "--send")
    assert result.code == 2 and "--per-point-of-sale" in result.err


def test_per_point_of_sale_send_without_report_to_is_refused(workspace_dir, cli, monkeypatch):
    monkeypatch.setenv("EMAILTRACK_SMTP_URL", "smtp://127.0.0.1:25")
    monkeypatch.setenv("EMAILTRACK_MAIL_FROM", "reports@example.net")
    result = cli("--workspace", workspace_dir, "report", "monthly", "--month", MONTH, "--per-point-of-sale", "--send")
    assert result.code == 2 and "report_to" in result.err


# --------------------------------------------------------------------------- configuration

def test_report_to_is_read_and_lower_cased(tmp_path):
    body = BASIC_CONFIG.replace('group = "Rhône"', 'group = "Rhône"\nreport_to = ["Direction@Agence.FR"]')
    points = load_config(write_config(tmp_path, body)).points_of_sale
    assert points[0].report_to == ("direction@agence.fr",) and points[1].report_to == ()


def test_report_to_that_is_no_address_names_file_line_and_key(tmp_path):
    body = BASIC_CONFIG.replace('group = "Rhône"', 'group = "Rhône"\nreport_to = ["direction lyon"]')
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = path.read_text().splitlines().index('report_to = ["direction lyon"]') + 1
    assert (caught.value.line, caught.value.key) == (line, "points_of_sale[0].report_to")
    assert str(path) in str(caught.value) and "not an email address" in str(caught.value)


# --------------------------------------------------------------------------- size

def content() -> EmailContent:
    return EmailContent("Leads d'octobre 2026 — Réseau : 12", "Rapport", "Réseau", "fr")


@pytest.mark.parametrize("report_bytes, expected", [
    (b"<html>" + b"<p>small</p>" * 100 + b"</html>", "monthly.html"),
    (b"<html>" + b"<p>compressible report page</p>" * 120_000 + b"</html>", "monthly.html.zip"),
])
def test_the_report_is_attached_as_it_is_or_compressed_under_the_limit(tmp_path, report_bytes, expected):
    report = tmp_path / "monthly.html"
    report.write_bytes(report_bytes)
    settings = smtp_settings({"EMAILTRACK_SMTP_URL": "smtp://h:25", "EMAILTRACK_MAIL_FROM": "r@example.net"})
    message = build_message(settings, content(), ["a@example.net"], report)
    assert len(message.as_bytes()) < MAX_MESSAGE_BYTES
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert [p.get_filename() for p in parsed.iter_attachments()] == [expected]
    assert report_in(parsed) == report_bytes.decode()


def test_a_report_too_large_even_compressed_is_not_attached_and_the_body_says_where(tmp_path):
    import base64
    import os
    report = tmp_path / "monthly.html"
    report.write_bytes(base64.b64encode(os.urandom(2_000_000)))  # does not compress below the limit
    settings = smtp_settings({"EMAILTRACK_SMTP_URL": "smtp://h:25", "EMAILTRACK_MAIL_FROM": "r@example.net"})
    message = build_message(settings, content(), ["a@example.net"], report)
    assert len(message.as_bytes()) < MAX_MESSAGE_BYTES
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert list(parsed.iter_attachments()) == []
    assert str(report) in parsed.get_body(("plain",)).get_content()
    assert "2,7 Mo" in parsed.get_body(("plain",)).get_content()
