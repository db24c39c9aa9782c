"""Delivery failure reports (bounces): which recipients a report says failed, and why.

A forward that the receiving server refuses comes back to the mailbox that forwarded it as a
report: Microsoft 365 blocking automatic forwarding to an external address (5.7.520), a tracked
address that does not exist (5.1.1), a full mailbox (5.2.2). In a point of sale's mailbox export,
those reports are the evidence of a set-up that does not work, even without mail logs.

Read from the machine-readable part when there is one (RFC 3464 ``message/delivery-status``:
a block per recipient with ``Final-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``), and
otherwise, for a message that says it is a failure report (a ``mailer-daemon``/``postmaster``
sender or such a subject: qmail's "failure notice" and some gateways send text only), from its
text: every address it names, with the first enhanced status code (RFC 3463) it gives. Reports
of success (``Action: delivered``, ``relayed``, ``expanded``) are not failures and are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser

MAX_DIAGNOSTIC = 200
MAX_RECIPIENTS = 50   # a report about a mailing list's thousand recipients says no more about the set-up

_STATUS = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_REPLY = re.compile(r"(?<!\d)([45])\d\d(?!\d)")
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# the words of failure reports' senders and subjects (Postfix, Sendmail, Exim, qmail, Exchange and
# Microsoft 365, Gmail; French and German Exchange); the corpus's reports all match one
_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_SUBJECTS = re.compile(
    r"undeliver|undelivered|delivery status notification|delivery (has )?fail|mail delivery failed|"
    r"failure notice|returned mail|delivery failure|non remis|non distribuable|[ée]chec de (la )?remise|"
    r"unzustellbar|nicht zustellbar", re.I)
_FAILED = ("failed", "delayed")


@dataclass
class DeliveryReport:
    """Aligned lists, one entry per failed recipient the report names (lower case)."""

    recipients: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)      # an RFC 3463 code, e.g. 5.7.520; '' when none
    actions: list[str] = field(default_factory=list)       # failed | delayed ('' from text)
    diagnostics: list[str] = field(default_factory=list)   # the server's answer, as given

    def add(self, recipient: str, status: str, action: str, diagnostic: str) -> None:
        if recipient in self.recipients or len(self.recipients) >= MAX_RECIPIENTS:
            return
        self.recipients.append(recipient)
        self.statuses.append(status)
        self.actions.append(action)
        self.diagnostics.append(diagnostic[:MAX_DIAGNOSTIC])


def delivery_report(message: Message, copy_sender: str | None, subject: str, text: str) -> DeliveryReport:
    """The failed recipients ``message`` reports (none for a message that is not a failure report);
    ``text`` is its readable text, used when it has no machine-readable part."""
    report = DeliveryReport()
    machine = False
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            machine = True
            for block in _blocks(part):
                _read_block(block, report)
    if machine or not (_SENDERS.match(copy_sender or "") or _SUBJECTS.search(subject)):
        return report
    status = _status(text)
    if not status:
        return report  # a report that gives no reason is not evidence of a failure
    own = {copy_sender or ""}
    for address in _ADDRESS.findall(text):
        address = address.lower().strip(".")
        if address not in own:
            report.add(address, status, "", "")
    return report


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` part, however the parser left them."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    data = part.get_payload(decode=True)
    raw = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload or "")
    return [HeaderParser().parsestr(chunk.strip() + "\n") for chunk in re.split(r"\r?\n\s*\r?\n", raw)
            if chunk.strip()]


def _read_block(block: Message, report: DeliveryReport) -> None:
    recipient = _address(block.get("Final-Recipient")) or _address(block.get("Original-Recipient"))
    if not recipient:
        return  # the per-message block (Reporting-MTA, Arrival-Date), or an empty one
    action = str(block.get("Action") or "").strip().lower()
    # "smtp; 550 5.1.1 ..." -> the server's answer (the type before ';' is RFC 3464's diagnostic-type)
    diagnostic = re.sub(r"^[\w-]+;\s*", "", " ".join(str(block.get("Diagnostic-Code") or "").split()))
    if action and action not in _FAILED:
        return
    status = _status(str(block.get("Status") or "")) or _status(diagnostic)
    report.add(recipient, status, action or "failed", diagnostic)


def _address(value: object) -> str:
    """``rfc822; <user@example.com>`` -> ``user@example.com``."""
    found = _ADDRESS.search(str(value or "").rpartition(";")[2] or str(value or ""))
    return found.group(0).lower() if found else ""


def _status(text: str) -> str:
    """The first enhanced status code in ``text``, else the class of its first SMTP reply code
    (``550`` -> ``5.0.0``), else ''."""
    found = _STATUS.search(text)
    if found:
        return ".".join(found.groups())
    reply = _REPLY.search(text)
    return f"{reply.group(1)}.0.0" if reply else ""
