"""Sending a report by email. SMTP settings come from the environment only:
``EMAILTRACK_SMTP_URL`` (``smtp://user:pass@host:port``, ``smtps://…``, ``?starttls=true``) and
``EMAILTRACK_MAIL_FROM``. The password is never printed."""

from __future__ import annotations

import html
import smtplib
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .. import settings
from ..errors import EmailtrackError, UsageError

if TYPE_CHECKING:
    from ..config.workspace import Workspace
    from .runner import ReportResult

# a report's recorded figures (summary.json): numbers, texts, and tables of them
ReportFigures = dict[str, Any]


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


_SKIP = {"report", "month", "point_of_sale"}


def _figures_table(figures: ReportFigures) -> str:
    """The report's scalar figures as a plain HTML table (mail clients run no scripts)."""
    rows = []
    for key, value in figures.items():
        if key in _SKIP or isinstance(value, (dict, list)):
            continue
        if isinstance(value, float):
            value = f"{value * 100:+.1f} %" if key.startswith("change") else f"{value:.2f}"
        cell = "–" if value is None else str(value)
        rows.append("<tr><td style='padding:4px 12px;border-bottom:1px solid #ddd'>"
                    f"{html.escape(key.replace('_', ' '))}</td>"
                    "<td style='padding:4px 12px;border-bottom:1px solid #ddd;text-align:right'>"
                    f"{html.escape(cell)}</td></tr>")
    return "<table style='border-collapse:collapse;font-family:Arial,sans-serif'>" + "".join(rows) + "</table>"


_CELL = "padding:4px 12px;border-bottom:1px solid #ddd;vertical-align:top"


def _alerts_table(figures: ReportFigures) -> str:
    """A health report's alerts (kind, where, evidence, example subjects) as a plain HTML table.
    Evidence and examples hold text from emails (a sender's domain, subjects): every value is
    escaped, and shown as text only (no link, no markup of its own)."""
    alerts = [a for a in figures.get("alerts") or [] if isinstance(a, dict)]
    if not alerts:
        return ""
    rows = []
    for alert in alerts:
        where = " × ".join(str(alert[k]) for k in ("point_of_sale", "portal") if alert.get(k))
        examples = "".join(f"<br>« {html.escape(str(e))} »" for e in alert.get("examples") or [])
        rows.append(f"<tr><td style='{_CELL}'>{html.escape(str(alert.get('kind', '')))}</td>"
                    f"<td style='{_CELL}'>{html.escape(where)}</td>"
                    f"<td style='{_CELL}'>{html.escape(str(alert.get('detail', '')))}{examples}</td></tr>")
    return ("<h3 style='font-family:Arial,sans-serif'>Alerts</h3>"
            "<table style='border-collapse:collapse;font-family:Arial,sans-serif'>" + "".join(rows) + "</table>")


def _alert_lines(figures: ReportFigures) -> list[str]:
    lines = []
    for alert in figures.get("alerts") or []:
        if isinstance(alert, dict):
            lines.append(f"- {alert.get('kind', '')}: {alert.get('detail', '')}")
            lines += [f"    « {e} »" for e in alert.get("examples") or []]
    return ["", "Alerts:", *lines] if lines else []


def render_charts(charts: list[tuple[str, Any]] | None, width: int = 700, height: int = 340) -> tuple[list[tuple[str, bytes]], str | None]:
    """Charts as PNG images (kaleido drives the installed Chromium). Returns the images and,
    when they cannot be made, why (the email then goes out with the table only)."""
    images: list[tuple[str, bytes]] = []
    for title, figure in charts or []:
        try:
            images.append((title, figure.to_image(format="png", width=width, height=height)))
        except Exception as exc:  # no kaleido, no Chromium, or it crashed: the table is enough
            return [], f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    return images, None


def build_message(settings: SmtpSettings, workspace_name: str, kind: str, month: str, recipients: list[str],
                  figures: ReportFigures, report_html: bytes, filename: str, point_of_sale: str | None = None,
                  images: list[tuple[str, bytes]] | None = None) -> EmailMessage:
    scope = f" — {point_of_sale}" if point_of_sale else ""
    message = EmailMessage()
    message["Subject"] = f"emailtrack {kind} {month} — {workspace_name}{scope}"
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1] or None)
    message["Auto-Submitted"] = "auto-generated"
    lines = [f"{k.replace('_', ' ')}: {v}" for k, v in figures.items()
             if k not in _SKIP and not isinstance(v, (dict, list))] + _alert_lines(figures)
    message.set_content(f"Report {kind} {month} ({workspace_name}{scope}).\n\n" + "\n".join(lines)
                        + "\n\nThe full report is attached (open it in a browser).\n")
    cids = [make_msgid(domain="emailtrack.invalid")[1:-1] for _ in images or []]
    pictures = "".join(f"<h3 style='font-family:Arial,sans-serif'>{html.escape(title)}</h3>"
                       f"<img src='cid:{cid}' alt='{html.escape(title)}' width='700' style='max-width:100%'>"
                       for (title, _), cid in zip(images or [], cids, strict=True))
    body = (f"<html><body style='font-family:Arial,sans-serif'>"
            f"<h2>{html.escape(f'{kind} {month}')} — {html.escape(workspace_name + scope)}</h2>"
            f"{_figures_table(figures)}{_alerts_table(figures)}{pictures}"
            f"<p>The full report is attached: open it in a browser.</p></body></html>")
    message.add_alternative(body, subtype="html")
    parts = message.get_payload()  # add_alternative made the message multipart: [text, html]
    assert isinstance(parts, list) and isinstance(parts[1], MIMEPart)
    html_part = parts[1]
    for (_, png), cid in zip(images or [], cids, strict=True):
        html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid[:8]}.png")
    message.add_attachment(report_html, maintype="text", subtype="html", filename=filename)
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
                point_of_sale: str | None = None, charts: list[tuple[str, Any]] | None = None) -> None:
    settings = smtp_settings()
    images, problem = render_charts(charts)
    if problem:
        print(f"emailtrack: warning: charts left out of the email ({problem}); install Chromium "
              "(apt-get install chromium) for inline charts", file=sys.stderr)
    message = build_message(settings, workspace.name, kind, month, recipients, result.figures,
                            result.html.read_bytes(), result.html.name, point_of_sale, images)
    send(settings, message)


def send_failure(workspace: Workspace, kind: str, month: str, recipients: list[str], error: BaseException,
                 folder: Path, point_of_sale: str | None = None) -> None:
    """Tell ``recipients`` that a report failed: the error line, and the executed notebook when
    there is one. A failure to send this is printed, never raised over the original error."""
    try:
        settings = smtp_settings()
        scope = f" — {point_of_sale}" if point_of_sale else ""
        message = EmailMessage()
        message["Subject"] = f"emailtrack {kind} {month} FAILED — {workspace.name}{scope}"
        message["From"] = settings.sender
        message["To"] = ", ".join(recipients)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1] or None)
        message["Auto-Submitted"] = "auto-generated"
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
