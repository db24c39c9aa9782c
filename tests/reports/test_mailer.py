"""Sending through a real SMTP server on loopback: STARTTLS, implicit TLS, authentication, refusals."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from email import message_from_bytes, policy

import pytest

from emailtrack_analytics.errors import EmailtrackError, UsageError
from emailtrack_analytics.reports.email_content import Block, EmailContent, Row
from emailtrack_analytics.reports.mailer import build_message, send, smtp_settings
from tests.conftest import Inbox, free_port

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is needed to make a test certificate")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return folder


def authenticator(server, session, envelope, mechanism, data):
    from aiosmtpd.smtp import AuthResult, LoginPassword
    success = isinstance(data, LoginPassword) and data.login == b"reports" and data.password == b"s3cr3t"
    return AuthResult(success=success, handled=False)  # handled=False: the server answers 535 itself


def server(certificate, **options):
    from aiosmtpd.controller import Controller
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    inbox, port = Inbox(), free_port()
    if options.pop("implicit", False):
        options["ssl_context"] = context
    else:
        options.update(tls_context=context, require_starttls=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, **options)
    controller.start()
    return controller, inbox, port


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "monthly.html"
    path.write_text("<html></html>")
    return path


def content():
    return EmailContent("Leads d'octobre 2026 — Réseau : 12", "Rapport mensuel des leads — octobre 2026", "Réseau",
                        "fr", [Block("Chiffres du mois", (Row("Leads (réseau)", "12"),))])


def message(settings, report):
    return build_message(settings, content(), ["analyst@example.net"], report)


@pytest.mark.parametrize("scheme, implicit", [("smtp", False), ("smtps", True)])
def test_tls_and_login(certificate, monkeypatch, scheme, implicit, report):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate / "cert.pem"))  # trust the test certificate
    # with implicit TLS the whole session is encrypted; aiosmtpd only tracks STARTTLS for that check
    controller, inbox, port = server(certificate, implicit=implicit, auth_require_tls=not implicit)
    try:
        query = "?starttls=true" if not implicit else ""
        settings = smtp_settings({"EMAILTRACK_SMTP_URL": f"{scheme}://reports:s3cr3t@127.0.0.1:{port}{query}",
                                  "EMAILTRACK_MAIL_FROM": "reports@example.net"})
        send(settings, message(settings, report))
    finally:
        controller.stop()
    (envelope,) = inbox.received
    assert envelope.rcpt_tos == ["analyst@example.net"]
    assert message_from_bytes(envelope.content, policy=policy.default)["Subject"] == content().subject


def test_wrong_password_is_a_clear_error_without_the_password(certificate, monkeypatch, report):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate / "cert.pem"))
    controller, inbox, port = server(certificate, auth_require_tls=True)
    try:
        settings = smtp_settings({"EMAILTRACK_SMTP_URL": f"smtp://reports:wrong-pw@127.0.0.1:{port}?starttls=true",
                                  "EMAILTRACK_MAIL_FROM": "reports@example.net"})
        with pytest.raises(EmailtrackError) as caught:
            send(settings, message(settings, report))
    finally:
        controller.stop()
    assert "535" in str(caught.value) and "wrong-pw" not in str(caught.value)
    assert "wrong-pw" not in repr(settings)
    assert inbox.received == []


def test_untrusted_certificate_is_refused(certificate, monkeypatch, report):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    controller, _, port = server(certificate, auth_require_tls=True)
    try:
        settings = smtp_settings({"EMAILTRACK_SMTP_URL": f"smtp://reports:s3cr3t@127.0.0.1:{port}?starttls=true",
                                  "EMAILTRACK_MAIL_FROM": "reports@example.net"})
        with pytest.raises(EmailtrackError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
            send(settings, message(settings, report))
    finally:
        controller.stop()


@pytest.mark.parametrize("environment, complaint", [
    ({}, "EMAILTRACK_SMTP_URL"),
    ({"EMAILTRACK_SMTP_URL": "smtp://h:25"}, "EMAILTRACK_MAIL_FROM"),
    ({"EMAILTRACK_SMTP_URL": "http://h", "EMAILTRACK_MAIL_FROM": "a@b.c"}, "smtp://"),
])
def test_settings_come_only_from_the_environment(environment, complaint):
    with pytest.raises(UsageError, match=complaint):
        smtp_settings(environment)


def test_inline_images_are_referenced_by_the_html_body(report):
    settings = smtp_settings({"EMAILTRACK_SMTP_URL": "smtp://h:25", "EMAILTRACK_MAIL_FROM": "reports@example.net"})
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 32
    built = build_message(settings, content(), ["a@example.net"], report,
                          images=[("Par portail", png), ("Par jour", png)])
    parsed = message_from_bytes(built.as_bytes(), policy=policy.default)
    body = parsed.get_body(("html",)).get_content()
    images = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 2
    assert all(f"cid:{p['Content-ID'].strip('<>')}" in body for p in images)
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["monthly.html"]
