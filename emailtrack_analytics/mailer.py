"""Sending a report by email. SMTP settings come from the environment only:
``EMAILTRACK_SMTP_URL`` (``smtp://user:pass@host:port``, ``smtps://…``, ``?starttls=true``) and
``EMAILTRACK_MAIL_FROM``. The password is never printed."""

from __future__ import annotations

import html
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import EmailtrackError, UsageError


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


def smtp_settings(environ=None) -> SmtpSettings:
    env = os.environ if environ is None else environ
    url = env.get("EMAILTRACK_SMTP_URL", "").strip()
    sender = env.get("EMAILTRACK_MAIL_FROM", "").strip()
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


def _figures_table(figures: dict) -> str:
    rows = []
    for key in ("leads", "point_of_sale_rows", "leads_previous_month", "change_previous_month",
                "leads_same_month_last_year", "active_points_of_sale", "copies", "quarantined"):
        if key not in figures:
            continue
        value = figures[key]
        if isinstance(value, float):
            value = f"{value * 100:+.1f} %"
        rows.append(f"<tr><td style='padding:4px 12px;border-bottom:1px solid #ddd'>{html.escape(key.replace('_', ' '))}</td>"
                    f"<td style='padding:4px 12px;border-bottom:1px solid #ddd;text-align:right'>"
                    f"{html.escape('–' if value is None else str(value))}</td></tr>")
    return "<table style='border-collapse:collapse;font-family:Arial,sans-serif'>" + "".join(rows) + "</table>"


def build_message(settings: SmtpSettings, workspace_name: str, kind: str, month: str, recipients: list[str],
                  figures: dict, report_html: bytes, filename: str, point_of_sale: str | None = None) -> EmailMessage:
    scope = f" — {point_of_sale}" if point_of_sale else ""
    message = EmailMessage()
    message["Subject"] = f"emailtrack {kind} {month} — {workspace_name}{scope}"
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1] or None)
    message["Auto-Submitted"] = "auto-generated"
    lines = [f"{k.replace('_', ' ')}: {v}" for k, v in figures.items() if not isinstance(v, (dict, list))]
    message.set_content(f"Report {kind} {month} ({workspace_name}{scope}).\n\n" + "\n".join(lines)
                        + "\n\nThe full report is attached (open it in a browser).\n")
    body = (f"<html><body style='font-family:Arial,sans-serif'>"
            f"<h2>{html.escape(f'{kind} {month}')} — {html.escape(workspace_name + scope)}</h2>"
            f"{_figures_table(figures)}<p>The full report is attached: open it in a browser.</p></body></html>")
    message.add_alternative(body, subtype="html")
    message.add_attachment(report_html, maintype="text", subtype="html", filename=filename)
    return message


def send(settings: SmtpSettings, message: EmailMessage, timeout: float = 30) -> None:
    """Send through the configured server; any refusal becomes one clear error, password-free."""
    try:
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
        detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {detail}"
    return str(exc)


def send_report(workspace, result, kind: str, month: str, recipients: list[str], *,
                point_of_sale: str | None = None) -> None:
    settings = smtp_settings()
    message = build_message(settings, workspace.name, kind, month, recipients, result.figures,
                            result.html.read_bytes(), result.html.name, point_of_sale)
    send(settings, message)
