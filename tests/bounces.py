"""Delivery failure reports (bounces) as real servers write them, for tests: Microsoft 365's
non-delivery report (RFC 3464 ``multipart/report`` with its human part, its
``message/delivery-status`` part and the returned message) and qmail's text-only "failure notice"."""

from __future__ import annotations

from email.message import EmailMessage

# Microsoft 365's answer when a mailbox's rule forwards outside the organisation and the outbound
# spam filter policy does not allow it (DOMAIN.md: automatic forwarding blocked by default)
M365_5_7_520 = ("550 5.7.520 Access denied, Your organization does not allow external forwarding. "
                "Please contact your administrator for further assistance. AS(7555)")


def m365_ndr(returned: bytes, *, failed: str, mailbox: str = "lyon2@agence-exemple.fr",
             diagnostic: str = M365_5_7_520, date: str = "Tue, 10 Mar 2026 09:15:02 +0000",
             subject: str = "Undeliverable: Un acquéreur est intéressé par un de vos biens",
             message_id: str = "<ndr-1@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>") -> bytes:
    """The report Microsoft 365 sends ``mailbox`` when its forward of ``returned`` to ``failed`` fails."""
    status = diagnostic.split()[1]
    report = EmailMessage()
    report["From"] = "Microsoft Outlook <postmaster@agence-exemple.onmicrosoft.com>"
    report["To"] = mailbox
    report["Date"] = date
    report["Subject"] = subject
    report["Message-ID"] = message_id
    report["Auto-Submitted"] = "auto-replied"
    report["X-MS-Exchange-Message-Is-Ndr"] = ""
    report.set_content(
        f"Your message to {failed} couldn't be delivered.\n\n"
        "Your organization's admin has restricted forwarding of messages outside the organization.\n\n"
        f"Remote Server returned '{diagnostic}'\n")
    report.make_mixed()
    report.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="ndr-boundary-1"')
    body = report.as_bytes()
    head, _, rest = body.partition(b"\n\n")
    # the delivery-status and returned-message parts, as Exchange writes them
    parts = (
        "--ndr-boundary-1\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\n"
        f"Received-From-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\nArrival-Date: {date}\n\n"
        f"Original-Recipient: rfc822;{failed}\nFinal-Recipient: rfc822;{failed}\nAction: failed\n"
        f"Status: {status}\nDiagnostic-Code: smtp;{diagnostic}\n\n"
        "--ndr-boundary-1\nContent-Type: message/rfc822\n\n").encode() + returned + b"\n--ndr-boundary-1--\n"
    rest = rest.rsplit(b"--ndr-boundary-1--", 1)[0] if b"--ndr-boundary-1--" in rest else rest
    return head + b"\n\n" + rest + parts


def qmail_failure(*, failed: str, mailbox: str = "lyon2@agence-exemple.fr",
                  reply: str = "550 5.1.1 <{failed}>: Recipient address rejected: User unknown",
                  date: str = "Wed, 11 Mar 2026 10:00:00 +0100") -> bytes:
    """qmail's "failure notice": text only, no machine-readable part."""
    return (f"From: MAILER-DAEMON@mail.agence-exemple.fr\nTo: {mailbox}\nSubject: failure notice\n"
            f"Date: {date}\nMessage-ID: <qmail-1@mail.agence-exemple.fr>\n\n"
            "Hi. This is the qmail-send program at mail.agence-exemple.fr.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            f"<{failed}>:\n198.51.100.7 does not like recipient.\nRemote host said: "
            f"{reply.format(failed=failed)}\nGiving up on 198.51.100.7.\n").encode()
