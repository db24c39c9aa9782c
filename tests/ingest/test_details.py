"""Lead details: the prospect's name, email, phone (E.164), listing reference and message length."""

from __future__ import annotations

import pytest

from emailtrack_analytics.ingest.parsing.details import extract_details, is_relay, normalise_phone
from emailtrack_analytics.ingest.parsing.message import parse_message
from tests.builders import lead, outlook_forward

SELOGER_BODY = """Un acquéreur est intéressé par un de vos biens

Jeanne Martin s'intéresse à ce bien :
Appartement T3 lumineux
Prix : 320 000 €
Ref. de l'annonce : LYO2-1234

Son message :
Bonjour, je souhaite visiter ce bien samedi.

Ses coordonnées :
E-mail : jeanne.martin@example.fr (mailto:jeanne.martin@example.fr)

--
SeLoger - Service Relation Clients Pro : 01 53 42 56 00
"""


def test_seloger_footer_number_is_never_the_prospect_phone():
    details = extract_details(SELOGER_BODY, "Un acquéreur est intéressé par un de vos biens")
    assert details.phone is None
    assert (details.name, details.email, details.listing_reference) == \
        ("Jeanne Martin", "jeanne.martin@example.fr", "LYO2-1234")
    assert details.message_length == len("Bonjour, je souhaite visiter ce bien samedi.")


def test_labelled_fields_and_e164():
    body = "Nom : Durand\nPrénom : Paul\nE-mail : p.durand@example.fr\nTéléphone : 06 12 34 56 78\n"
    details = extract_details(body, "Demande de contact - T2 (REF-9)")
    assert (details.name, details.phone) == ("Paul Durand", "+33612345678")
    assert details.listing_reference == "REF-9"


@pytest.mark.parametrize("text, expected", [
    ("06 12 34 56 78", "+33612345678"), ("+33 6 12 34 56 78", "+33612345678"),
    ("0033612345678", "+33612345678"), ("+33 (0)6 12 34 56 78", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"), ("+44 7700 900123", "+447700900123"), ("12 34", None),
])
def test_phone_normalisation(text, expected):
    assert normalise_phone(text) == expected


def test_leboncoin_relay_and_older_template():
    body = ("Bonjour,\n\nVous avez reçu un message de marc75 (marc.l@example.fr) au sujet de votre annonce "
            "« T2 Lyon » :\n\n« Bonjour, est-il toujours disponible ? »\n\nRéférence : 2841078200\n")
    details = extract_details(body, 'Nouveau message pour "T2 Lyon" sur leboncoin',
                              sender_name="marc75 via leboncoin", sender="a1b2@messagerie.leboncoin.fr")
    assert (details.name, details.email, details.email_is_relay) == ("marc75", "marc.l@example.fr", False)
    assert details.listing_reference == "2841078200"
    assert details.message_length == len("Bonjour, est-il toujours disponible ?")
    assert is_relay("a1b2@messagerie.leboncoin.fr") and not is_relay("x@leboncoin.fr")


def test_green_acres_relay_is_flagged():
    body = "Contact :\nNom : Anna Smith\nE-mail : r.0a1b2c3d4e@contact.green-acres.com\nTéléphone : +44 7700 900123\n"
    details = extract_details(body, "Demande d'information - Maison - Achat - Cassis (13260) - Réf. CAS-12")
    assert details.email_is_relay and details.phone == "+447700900123"
    assert details.listing_reference == "CAS-12"


def test_details_come_from_the_original_of_a_forward():
    record = parse_message(outlook_forward(body=SELOGER_BODY))
    assert record.details["name"] == "Jeanne Martin"
    assert record.details["phone"] is None


def test_reply_to_gives_name_and_email_when_the_body_does_not():
    record = parse_message(lead(body="Un contact pour votre annonce.\n",
                                headers={"Reply-To": "Paul Durand <p.durand@example.fr>"}))
    assert (record.details["name"], record.details["email"]) == ("Paul Durand", "p.durand@example.fr")


def test_details_are_kept_apart_from_messages(workspace, tmp_path):
    import duckdb

    from emailtrack_analytics.ingest.pipeline import ingest
    (tmp_path / "a.eml").write_bytes(lead(body=SELOGER_BODY, cc="lyon2@track.example.net"))
    ingest(workspace, [tmp_path / "a.eml"], workers=1)
    con = duckdb.connect(str(workspace.database), read_only=True)
    try:
        columns = [r[0] for r in con.execute("DESCRIBE messages").fetchall()]
        contacts = con.execute("SELECT name, email, phone FROM lead_contacts").fetchall()
    finally:
        con.close()
    assert not {"name", "email", "phone"} & set(columns)
    assert contacts == [("Jeanne Martin", "jeanne.martin@example.fr", None)]
