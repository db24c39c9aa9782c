"""Small builders of real RFC 5322 messages for tests (bytes, as a mail server would store them)."""

from __future__ import annotations

from email.message import EmailMessage


def lead(*, sender="noreply@lead.seloger.com", to="lyon2@agence-exemple.fr", cc=None,
         subject="Un acquéreur est intéressé par un de vos biens", message_id="<lead-1@lead.seloger.com>",
         date="Thu, 12 Mar 2026 18:04:11 +0100", body="Jean Dupont s'intéresse à ce bien.\nRef. de l'annonce : A123\n",
         headers: dict | None = None, top: dict | None = None) -> bytes:
    """A portal lead as sent; ``top`` headers are prepended (as a receiving server adds them)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if date:
        message["Date"] = date
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    raw = message.as_bytes()
    prefix = b"".join(f"{k}: {v}\n".encode() for k, v in (top or {}).items())
    return prefix + raw


def outlook_forward(original_sender="SeLoger <noreply@lead.seloger.com>", *, mailbox="lyon2@agence-exemple.fr",
                    tracked="lyon2@track.example.net", subject="Un acquéreur est intéressé par un de vos biens",
                    sent="jeudi 12 mars 2026 18:04", body="Jean Dupont s'intéresse à ce bien.\nRef. de l'annonce : A123\n",
                    date="Thu, 12 Mar 2026 18:10:00 +0100", message_id="<fwd-1@agence-exemple.fr>") -> bytes:
    """A French Outlook inline forward, as the tracked address receives it."""
    message = EmailMessage()
    message["From"] = f"Agence <{mailbox}>"
    message["To"] = tracked
    message["Subject"] = f"TR: {subject}"
    message["Message-ID"] = message_id
    message["Date"] = date
    message.set_content(
        "\n\n________________________________\n"
        f"De : {original_sender}\nEnvoyé : {sent}\nÀ : {mailbox}\nObjet : {subject}\n\n{body}")
    return f"Delivered-To: {tracked}\n".encode() + message.as_bytes()


def attached_forward(original: bytes, *, mailbox="lyon2@agence-exemple.fr", tracked="lyon2@track.example.net",
                     subject="FW: Un acquéreur est intéressé par un de vos biens",
                     message_id="<fwd-att-1@agence-exemple.fr>") -> bytes:
    """An Outlook "forward as attachment": the original as a message/rfc822 part."""
    from email import message_from_bytes, policy

    message = EmailMessage()
    message["From"] = mailbox
    message["To"] = tracked
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Thu, 12 Mar 2026 18:30:00 +0100"
    message.set_content("")
    message.add_attachment(message_from_bytes(original, policy=policy.default))
    return f"Delivered-To: {tracked}\n".encode() + message.as_bytes()


def mbox(*messages: bytes, escape: str = "mboxrd") -> bytes:
    """An mbox of the messages, body lines starting with ``From `` escaped (mboxrd or mboxo)."""
    out = []
    for i, raw in enumerate(messages):
        out.append(f"From MAILER-DAEMON Thu Mar 12 18:0{i % 10}:11 2026\n".encode())
        for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
            stripped = line.lstrip(b">")
            if stripped.startswith(b"From ") and (escape == "mboxrd" or line == stripped):
                line = b">" + line
            out.append(line + b"\n")
        out.append(b"\n")
    return b"".join(out)
