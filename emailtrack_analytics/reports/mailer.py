"""Sending a report by email. SMTP settings come from the environment only:
``EMAILTRACK_SMTP_URL`` (``smtp://user:pass@host:port``, ``smtps://…``, ``?starttls=true``) and
``EMAILTRACK_MAIL_FROM``. The password is never printed."""

from __future__ import annotations

import io
import smtplib
import ssl
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from .. import settings
from ..errors import EmailtrackError, UsageError
from .labels import email_labels

if TYPE_CHECKING:
    from ..config.workspace import Workspace
    from .email_content import EmailContent
    from .runner import ReportResult


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    ssl: bool
    starttls: bool
    user: str | None
    password: str | None = None
    sender: str = ""

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, ssl={self.ssl}, starttls={self.starttls}, user={self.user!r})"


def smtp_settings(environ: Mapping[str, str] | None = None) -> SmtpSettings:
    url, sender = settings.smtp(environ)
    if not url:
        raise UsageError("--send-to needs EMAILTRACK_SMTP_URL (e.g. smtp://user:pass@host:587?starttls=true)")
    if not sender:
        raise UsageError("--send-to needs EMAILTRACK_MAIL_FROM (the From address of report emails)")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise UsageError("EMAILTRACK_SMTP_URL must look like smtp://[user:pass@]host[:port] or smtps://…")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
    use_ssl = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if use_ssl else 25)
    except ValueError:
        raise UsageError("EMAILTRACK_SMTP_URL has an invalid port") from None
    return SmtpSettings(parts.hostname, port, use_ssl, starttls,
                        unquote(parts.username) if parts.username else None,
                        unquote(parts.password) if parts.password else None, sender)


# a message over this size is refused or clipped by some servers and slow on a phone
MAX_MESSAGE_BYTES = 1_500_000


def _headers(message: EmailMessage, settings: SmtpSettings, subject: str, recipients: list[str]) -> None:
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1] or None)
    message["Auto-Submitted"] = "auto-generated"


def _zipped(report: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(report.name, report.read_bytes())
    return buffer.getvalue()


def build_message(settings: SmtpSettings, content: EmailContent, recipients: list[str], report: Path,
                  images: list[tuple[str, bytes]] | None = None,
                  max_bytes: int = MAX_MESSAGE_BYTES) -> EmailMessage:
    """The email: ``content`` as a plain-text part and an HTML part with the charts inline, and
    the full report attached. The report goes as it is when the message stays under ``max_bytes``,
    else compressed (a .zip of the page), else not at all: the body then says where it is."""
    e = email_labels(content.language)
    attempts: list[tuple[str, bytes | None, str]] = [
        (e["attached"].format(name=report.name), report.read_bytes(), report.name)]
    zipped = _zipped(report)
    attempts.append((e["attached_zip"].format(name=f"{report.name}.zip"), zipped, f"{report.name}.zip"))
    size = f"{report.stat().st_size / 1e6:.1f}".replace(".", "," if content.language == "fr" else ".")
    attempts.append((e["not_attached"].format(size=f"{size} {'Mo' if content.language == 'fr' else 'MB'}",
                                              path=str(report)), None, ""))
    message = EmailMessage()
    for note, attachment, filename in attempts:
        message = _message(settings, content, recipients, images or [], note, attachment, filename)
        if len(message.as_bytes()) <= max_bytes:
            break
    return message


def _message(settings: SmtpSettings, content: EmailContent, recipients: list[str], images: list[tuple[str, bytes]],
             note: str, attachment: bytes | None, filename: str) -> EmailMessage:
    message = EmailMessage()
    _headers(message, settings, content.subject, recipients)
    message.set_content(content.text(note))
    cids = [make_msgid(domain="emailtrack.invalid")[1:-1] for _ in images]
    message.add_alternative(content.html(note, [(title, cid) for (title, _), cid in zip(images, cids, strict=True)]),
                            subtype="html")
    parts = message.get_payload()  # add_alternative made the message multipart: [text, html]
    assert isinstance(parts, list) and isinstance(parts[1], MIMEPart)
    for index, ((_, png), cid) in enumerate(zip(images, cids, strict=True), start=1):
        parts[1].add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"chart-{index}.png")
    if attachment is not None:
        if filename.endswith(".zip"):
            message.add_attachment(attachment, maintype="application", subtype="zip", filename=filename)
        else:
            # the page is UTF-8: without the charset a mail client reads "Réseau" as "R��seau"
            message.add_attachment(attachment, maintype="text", subtype="html", filename=filename,
                                   params={"charset": "utf-8"})
    return message


def send(settings: SmtpSettings, message: EmailMessage, timeout: float = 30) -> None:
    """Send through the configured server; any refusal becomes one clear error, password-free."""
    try:
        client: smtplib.SMTP
        if settings.ssl:
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            if settings.starttls:
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password or "")
            refused = client.send_message(message)
        if refused:
            raise EmailtrackError(f"the SMTP server refused {', '.join(sorted(refused))}")
    except smtplib.SMTPException as exc:
        raise EmailtrackError(f"sending the report failed at {settings.host}:{settings.port}: "
                              f"{type(exc).__name__}: {_smtp_reason(exc)}") from None
    except OSError as exc:
        raise EmailtrackError(f"cannot reach the SMTP server {settings.host}:{settings.port}: "
                              f"{exc.strerror or exc}") from None


def _smtp_reason(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = []
        for address, (code, detail) in sorted(exc.recipients.items()):
            text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
            answers.append(f"{address} ({code} {text})")
        return "recipients refused: " + ", ".join(answers)
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {reason}"
    return str(exc)


def send_report(workspace: Workspace, result: ReportResult, kind: str, month: str, recipients: list[str], *,
                point_of_sale: str | None = None, language: str | None = None) -> EmailMessage:
    """Email report ``kind`` of ``month`` (its recorded figures, result.figures) to ``recipients``:
    figures written for people in ``language`` (default: the workspace's), the month's movers
    with their tracking flags, inline charts, the report attached. Returns the message sent."""
    from ..analytics.api import Analytics
    from .charts_static import email_charts, render_png
    from .email_content import compose
    from .email_facts import read_facts

    settings = smtp_settings()
    language = language or workspace.language
    with Analytics(workspace, refresh=False) as data:  # the runner refreshed before the report ran
        facts = read_facts(data, kind, month, result.figures, point_of_sale)
    content = compose(kind, result.figures, facts, language, workspace.name, point_of_sale)
    images, problem = render_png(email_charts(kind, result.figures, facts, language))
    if problem:
        print(f"emailtrack: warning: charts left out of the email ({problem}); install Chromium "
              "(apt-get install chromium) for inline charts", file=sys.stderr)
    message = build_message(settings, content, recipients, result.html, images)
    send(settings, message)
    return message


def send_failure(workspace: Workspace, kind: str, month: str, recipients: list[str], error: BaseException,
                 folder: Path, point_of_sale: str | None = None) -> None:
    """Tell ``recipients`` that a report failed: the error line, and the executed notebook when
    there is one. A failure to send this is printed, never raised over the original error."""
    try:
        settings = smtp_settings()
        scope = f" — {point_of_sale}" if point_of_sale else ""
        message = EmailMessage()
        _headers(message, settings, f"emailtrack {kind} {month} FAILED — {workspace.name}{scope}", recipients)
        message.set_content(f"The {kind} report for {month} ({workspace.name}{scope}) failed:\n\n"
                            f"{type(error).__name__}: {error}\n\nWorkspace: {workspace.root}\n")
        stem = kind + (f"-{point_of_sale}" if point_of_sale else "")
        executed = folder / f"{stem}.ipynb"
        if executed.exists():
            message.add_attachment(executed.read_bytes(), maintype="application", subtype="x-ipynb+json",
                                   filename=executed.name)
        send(settings, message)
    except Exception as exc:  # noqa: BLE001 - the report's own error is the one to raise
        print(f"emailtrack: warning: could not send the failure notice: {exc}", file=sys.stderr)
