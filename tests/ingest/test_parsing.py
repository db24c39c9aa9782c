"""Parsing: encodings, dates and their fallbacks, addresses, keys, forward unwrapping."""

from __future__ import annotations

import datetime as dt

import pytest

from emailtrack_analytics.ingest.parsing.message import Unparseable, message_key, parse_message
from tests.builders import attached_forward, lead, outlook_forward

UTC = dt.timezone.utc


def test_lead_fields():
    record = parse_message(lead(to="Agence <LYON2@Agence-Exemple.FR>",
                                top={"Delivered-To": "Lyon2@Track.Example.NET"}))
    assert record.sender == "noreply@lead.seloger.com"
    assert record.to_addrs == ["lyon2@agence-exemple.fr"]
    assert record.envelope_to == ["lyon2@track.example.net"]
    assert record.subject == "Un acquéreur est intéressé par un de vos biens"
    assert record.message_id == "lead-1@lead.seloger.com"
    assert record.received_at == dt.datetime(2026, 3, 12, 17, 4, 11, tzinfo=UTC)
    assert record.date_source == "date"
    assert record.forward_kind is None


def test_rfc2047_character_split_across_encoded_words():
    # "é" is C3 A9 in UTF-8: the two bytes are in two encoded-words
    raw = (b"From: a@b.fr\nDate: Thu, 12 Mar 2026 18:04:11 +0100\n"
           b"Subject: =?UTF-8?Q?Int=C3?= =?UTF-8?Q?=A9ress=C3=A9?=\n\nbody\n")
    assert parse_message(raw).subject == "Intéressé"


def test_undeclared_8bit_latin1_header():
    raw = ("From: Agn\xe8s <a@b.fr>\nDate: Thu, 12 Mar 2026 18:04:11 +0100\n"
           "Subject: Int\xe9ress\xe9 par votre annonce\n\nbody\n").encode("latin-1")
    record = parse_message(raw)
    assert record.subject == "Intéressé par votre annonce"
    assert record.sender_name == "Agnès"


def test_wrong_declared_charset_does_not_crash():
    raw = (b"From: a@b.fr\nDate: Thu, 12 Mar 2026 18:04:11 +0100\nSubject: =?x-bogus?Q?caf=E9?=\n"
           b"Content-Type: text/plain; charset=invalid-charset\n\ncaf\xe9\n")
    record = parse_message(raw)
    assert record.body_text.strip() == "café"


def test_date_with_zone_comment():
    record = parse_message(lead(date="Thu, 12 Mar 2026 18:04:11 +0200 (CEST)"))
    assert record.received_at == dt.datetime(2026, 3, 12, 16, 4, 11, tzinfo=UTC)


def test_no_date_falls_back_to_last_received_hop():
    raw = lead(date=None, top={
        "Received": "from mx2 by mx1; Fri, 13 Mar 2026 09:00:00 +0100",
    }).replace(b"\nReceived:", b"\nX-Old:")
    raw = b"Received: from relay by mx3; Fri, 13 Mar 2026 10:30:00 +0100\n" + raw
    record = parse_message(raw)
    assert record.date_source == "received"
    assert record.received_at == dt.datetime(2026, 3, 13, 9, 30, tzinfo=UTC)  # the topmost: last hop


def test_unparseable_date_falls_back_to_mbox_from_line():
    raw = lead().replace(b"Date: Thu, 12 Mar 2026 18:04:11 +0100", b"Date: RANDOM_DATE")
    record = parse_message(raw, from_line="From x@y Sat Mar 14 08:15:00 2026")
    assert record.date_source == "mbox_from"
    assert record.received_at == dt.datetime(2026, 3, 14, 8, 15, tzinfo=UTC)
    assert "UnparseableDate" in record.defects


def test_no_date_anywhere_is_quarantined_with_reason():
    with pytest.raises(Unparseable) as caught:
        parse_message(lead(date=None))
    assert caught.value.reason == "no_date"


def test_not_an_email():
    with pytest.raises(Unparseable) as caught:
        parse_message(b"\x89PNG\r\n\x1a\n\x00\x00 binary garbage")
    assert caught.value.reason == "not_an_email"
    with pytest.raises(Unparseable) as caught:
        parse_message(b"   \n")
    assert caught.value.reason == "empty"


def test_key_ignores_line_endings_and_mailbox_state_headers():
    raw = lead()
    crlf = raw.replace(b"\n", b"\r\n")
    with_state = b"Status: RO\nX-Mozilla-Status: 0001\n" + raw
    assert message_key(raw) == message_key(crlf) == message_key(with_state)
    assert message_key(raw) != message_key(lead(message_id="<other@x>"))


def test_outlook_inline_forward_is_unwrapped():
    record = parse_message(outlook_forward())
    assert record.forward_kind == "inline"
    assert record.sender == "noreply@lead.seloger.com"
    assert record.copy_sender == "lyon2@agence-exemple.fr"
    assert record.subject == "Un acquéreur est intéressé par un de vos biens"
    assert record.copy_subject.startswith("TR: ")
    # "Envoyé : jeudi 12 mars 2026 18:04" read in the forward's own offset (+0100)
    assert record.received_at == dt.datetime(2026, 3, 12, 17, 4, tzinfo=UTC)
    assert record.date_source == "forward_header"
    assert "Jean Dupont" in record.body_text


def test_gmail_inline_forward_is_unwrapped():
    raw = (b"From: Agence <lyon2@agence-exemple.fr>\nTo: lyon2@track.example.net\n"
           b"Subject: Fwd: Nouveau message pour \"T3 Lyon\" sur leboncoin\nDate: Thu, 12 Mar 2026 19:00:00 +0100\n"
           b"Content-Type: text/plain; charset=utf-8\n\n"
           b"---------- Forwarded message ---------\nDe : Marc via leboncoin <abc123@messagerie.leboncoin.fr>\n"
           b"Date: jeu. 12 mars 2026 \xc3\xa0 18:04\nSubject: Nouveau message pour \"T3 Lyon\" sur leboncoin\n"
           b"To: <lyon2@agence-exemple.fr>\n\nBonjour, je suis int\xc3\xa9ress\xc3\xa9.\n")
    record = parse_message(raw)
    assert record.forward_kind == "inline"
    assert record.sender == "abc123@messagerie.leboncoin.fr"
    assert record.subject == 'Nouveau message pour "T3 Lyon" sur leboncoin'
    assert record.received_at == dt.datetime(2026, 3, 12, 17, 4, tzinfo=UTC)


def test_forward_as_attachment_keeps_original_message_id():
    original = lead()
    record = parse_message(attached_forward(original))
    assert record.forward_kind == "attachment"
    assert record.sender == "noreply@lead.seloger.com"
    assert record.original_message_id == "lead-1@lead.seloger.com"
    assert record.received_at == dt.datetime(2026, 3, 12, 17, 4, 11, tzinfo=UTC)
    # the same lead received directly has the same identity fingerprint
    assert record.content_fingerprint == parse_message(original).content_fingerprint


def test_forward_of_forward_takes_innermost_original():
    inner = attached_forward(lead(), subject="TR: Un acquéreur est intéressé par un de vos biens")
    outer = attached_forward(inner, subject="Fwd: TR: Un acquéreur est intéressé par un de vos biens",
                             message_id="<outer@x>")
    record = parse_message(outer)
    assert record.forward_depth == 2
    assert record.sender == "noreply@lead.seloger.com"


def test_reply_quoting_a_lead_is_not_a_forward():
    raw = outlook_forward().replace(b"Subject: TR: ", b"Subject: RE: ")
    record = parse_message(raw)
    assert record.forward_kind is None
    assert record.sender == "lyon2@agence-exemple.fr"


def test_redirect_keeps_original_and_records_resent_headers():
    raw = lead(top={"Delivered-To": "lyon2@track.example.net", "Resent-From": "lyon2@agence-exemple.fr",
                    "Resent-To": "lyon2@track.example.net", "Resent-Date": "Thu, 12 Mar 2026 18:05:00 +0100"})
    record = parse_message(raw)
    assert record.forward_kind is None
    assert record.resent_to == ["lyon2@track.example.net"]
    assert record.resent_from == "lyon2@agence-exemple.fr"
    assert record.sender == "noreply@lead.seloger.com"


def _forward(subject: str, body: str, date: str = "Tue, 03 Nov 2025 09:10:00 +0100") -> bytes:
    return (f"From: Agence <lyon2@agence-exemple.fr>\nTo: lyon2@track.example.net\nSubject: {subject}\n"
            f"Date: {date}\nMessage-ID: <f@x>\nContent-Type: text/plain; charset=utf-8\n\n{body}").encode()


def test_weekday_mardi_is_not_march():
    record = parse_message(_forward("TR: Offre", "________________________________\nDe : SeLoger <noreply@lead.seloger.com>\n"
                                    "Envoyé : mardi 3 novembre 2025 08:50\nÀ : lyon2@agence-exemple.fr\nObjet : Offre\n\nTexte\n"))
    assert record.received_at == dt.datetime(2025, 11, 3, 7, 50, tzinfo=UTC)


def test_thunderbird_block_with_subject_first_and_tabs():
    record = parse_message(_forward("Fwd: Offre", "\n-------- Message transféré --------\nSujet : \tOffre T3\n"
                                    "Date : \tMon, 2 Nov 2025 13:33:18 +0100\nDe : \tMarc via leboncoin <m1@messagerie.leboncoin.fr>\n"
                                    "Pour : \tlyon2@agence-exemple.fr\n\n\nBonjour\n"))
    assert (record.sender, record.subject) == ("m1@messagerie.leboncoin.fr", "Offre T3")
    assert record.received_at == dt.datetime(2025, 11, 2, 12, 33, 18, tzinfo=UTC)


def test_yahoo_block_glued_on_one_line():
    record = parse_message(_forward("Fw: Offre", "  ----- Message transmis ----- De : Marc <m@example.fr>À : "
                                    "\"lyon2@agence-exemple.fr\" <lyon2@agence-exemple.fr>Envoyé : mardi 2 novembre 2021, "
                                    "09:26:50 UTC+1Objet : Offre T3\n Bonjour\n"))
    assert (record.sender, record.subject) == ("m@example.fr", "Offre T3")
    assert record.received_at == dt.datetime(2021, 11, 2, 8, 26, 50, tzinfo=UTC)


def test_outlook_2013_mailto_in_brackets():
    record = parse_message(_forward("FW: Offre", "From: SeLoger [mailto:noreply@lead.seloger.com]\n"
                                    "Sent: 25 October 2021 11:17\nTo: lyon2@agence-exemple.fr\nSubject: Offre T3\n\n\nHello\n"))
    assert (record.sender, record.subject) == ("noreply@lead.seloger.com", "Offre T3")


def test_outlook_2019_attribution_line_forward():
    record = parse_message(_forward("TR: Offre T3", "\nLe 28/10/2025 12:46, « SeLoger » <noreply@lead.seloger.com> a écrit :\n\n"
                                    "    Jeanne Martin s'intéresse à ce bien.\n"))
    assert (record.sender, record.subject, record.forward_kind) == ("noreply@lead.seloger.com", "Offre T3", "inline")
    assert record.received_at == dt.datetime(2025, 10, 28, 11, 46, tzinfo=UTC)
    assert record.body_text.startswith("Jeanne Martin")


def test_reply_with_original_message_separator_is_not_a_forward():
    record = parse_message(_forward("Running a script", "Thanks!\n\n----- Original Message -----\n"
                                    "From: <a@example.org>\nTo: <b@example.org>\nSent: Wednesday, July 10, 2002 10:00 AM\n"
                                    "Subject: question\n\n> text\n"))
    assert record.forward_kind is None


def test_bounce_quoting_the_original_is_not_a_forward():
    raw = (b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: lyon2@track.example.net\n"
           b"Subject: Delivery Status Notification (Failure)\nDate: Tue, 03 Nov 2025 09:10:00 +0100\n\n"
           b"Delivery failed.\n\n----- Original message -----\n\nFrom: Agence <lyon2@agence-exemple.fr>\n"
           b"Subject: Visite\nTo: x@example.org\n\nBonjour\n")
    assert parse_message(raw).forward_kind is None


def test_turkish_dotted_capital_i_in_a_separator():
    record = parse_message(_forward("Teklif", "  ----- İletilmiş Mesaj ----- Kimden: Ali <ali@example.com.tr>Kime: "
                                    "\"lyon2@agence-exemple.fr\" <lyon2@agence-exemple.fr>Gönderilen: 2 Kasım 2021 Salı "
                                    "09:26:50 GMT+1Konu: Daire hakkında\n Merhaba\n"))
    assert (record.sender, record.subject) == ("ali@example.com.tr", "Daire hakkında")


def test_yahoo_portuguese_subject_label_without_colon():
    record = parse_message(_forward("Fw: Apartamento", "  ----- Mensagem reencaminhada ----- De: Ana <ana@example.pt>"
                                    "Para: \"lyon2@agence-exemple.fr\" <lyon2@agence-exemple.fr>Enviado: terça-feira, "
                                    "2 de novembro de 2021, 09:26:50 CETAssunto Pergunta sobre o apartamento\n Olá\n"))
    assert (record.sender, record.subject) == ("ana@example.pt", "Pergunta sobre o apartamento")


def test_name_only_sender_is_not_replaced_by_the_forwarder(workspace):
    from emailtrack_analytics.attribution.engine import Attributor
    record = parse_message(_forward("TR: Un acquéreur est intéressé par un de vos biens",
                                    "________________________________\nDe : SeLoger\nEnvoyé : mardi 3 novembre 2025 08:50\n"
                                    "À : Agence\nObjet : Un acquéreur est intéressé par un de vos biens\n\nTexte\n"))
    assert (record.sender, record.sender_name) == (None, "SeLoger")
    result = Attributor(workspace).attribute({**record.as_row(), "to_addrs": ["lyon2@track.example.net"]})
    assert (result.portal, result.category) == ("seloger", "lead")
    assert "portal_from_name" in result.flags


def test_gmail_x_forwarded_for_lists_both_addresses():
    """Gmail writes the forwarding mailbox and the destination separated by a space: the
    address grammar read them as one mangled '@domain' and lost the mailbox."""
    raw = lead(top={"X-Forwarded-To": "lyon2@track.example.net",
                    "X-Forwarded-For": "lyon2@agence-exemple.fr lyon2@track.example.net"})
    assert parse_message(raw).forwarded_to == ["lyon2@track.example.net", "lyon2@agence-exemple.fr"]
