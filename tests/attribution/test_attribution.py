"""Attribution of one copy: point of sale, portal, channel, category; and config changes."""

from __future__ import annotations

import pytest

from emailtrack_analytics.attribution.engine import Attributor, sender_matches
from emailtrack_analytics.ingest.parsing.message import parse_message
from tests.builders import attached_forward, lead, outlook_forward
from tests.conftest import BASIC_CONFIG, write_config

# a message with none of the builder's SeLoger signals (its Message-ID domain, its body wording)
NEUTRAL = {"message_id": "<m-1@mail.example.org>", "body": "Bonjour,\nMerci.\n"}


def attribute(workspace, raw: bytes, **extra):
    row = parse_message(raw).as_row()
    row.update(extra)
    return Attributor(workspace).attribute(row)


def test_cc_setup(workspace):
    result = attribute(workspace, lead(cc="lyon2@track.example.net",
                                       top={"Delivered-To": "lyon2@track.example.net"}))
    assert (result.point_of_sale, result.portal, result.channel, result.category) == \
        ("lyon-2", "seloger", "cc", "lead")


def test_gmail_filter_forward_is_a_redirect(workspace):
    raw = lead(top={"Delivered-To": "lyon2@track.example.net", "X-Forwarded-To": "lyon2@track.example.net",
                    "X-Forwarded-For": "lyon2@agence-exemple.fr lyon2@track.example.net"})
    result = attribute(workspace, raw)
    assert (result.point_of_sale, result.channel) == ("lyon-2", "redirect")


def test_resent_redirect_only_in_resent_to(workspace):
    result = attribute(workspace, lead(top={"Resent-To": "paris11@track.example.net",
                                            "Resent-From": "paris11@agence-exemple.fr"}))
    assert (result.point_of_sale, result.channel) == ("paris-11", "redirect")


def test_direct_to_a_per_portal_tracked_address(workspace):
    result = attribute(workspace, lead(sender="contact@unknown-portal-domain.fr",
                                       to="lyon2-seloger@track.example.net", subject="Demande de visite",
                                       top={"Delivered-To": "lyon2-seloger@track.example.net"}, **NEUTRAL))
    assert (result.point_of_sale, result.portal, result.channel) == ("lyon-2", "seloger", "direct")
    assert "portal_from_tracked_address" in result.flags


def test_lead_template_from_unlisted_sender_is_the_portal_flagged_new_sender(workspace):
    result = attribute(workspace, lead(sender="contact@unknown-portal-domain.fr",
                                       to="lyon2-seloger@track.example.net",
                                       top={"Delivered-To": "lyon2-seloger@track.example.net"}))
    assert (result.portal, result.category) == ("seloger", "lead")
    assert "new_sender" in result.flags


def test_inline_forward_attributed_to_original_portal(workspace):
    result = attribute(workspace, outlook_forward())
    assert (result.point_of_sale, result.portal, result.channel, result.category) == \
        ("lyon-2", "seloger", "forward", "lead")


def test_attachment_forward(workspace):
    result = attribute(workspace, attached_forward(lead()))
    assert (result.point_of_sale, result.portal, result.channel) == ("lyon-2", "seloger", "forward")


def test_website_form_by_sender_and_subject(workspace):
    result = attribute(workspace, lead(sender="formulaire@agence-exemple.fr",
                                       subject="Demande de contact - T3 Croix-Rousse (REF 12)",
                                       cc="lyon2@track.example.net"))
    assert (result.portal, result.category) == ("site-agence", "lead")
    other = attribute(workspace, lead(sender="formulaire@agence-exemple.fr", subject="Test du formulaire",
                                      cc="lyon2@track.example.net"))
    assert (other.portal, other.category) == ("site-agence", "other")
    assert "unrecognised_template" in other.flags


def test_subdomain_matches_domain_rule():
    assert sender_matches("abc@messagerie.leboncoin.fr", "@leboncoin.fr") == len("leboncoin.fr")
    assert sender_matches("abc@notleboncoin.fr", "@leboncoin.fr") == 0
    assert sender_matches("x@pap.fr", "x@pap.fr") > sender_matches("x@pap.fr", "@pap.fr")


@pytest.mark.parametrize("subject, headers, category", [
    ('Un nouveau contact pour "T2 Lyon" sur leboncoin', {}, "notification"),
    ("Les bons plans de la semaine", {"List-Unsubscribe": "<mailto:u@news.leboncoin.fr>"}, "newsletter"),
    ("Réponse automatique : Nouveau message", {}, "auto_reply"),
    ('Nouveau message pour "T2 Lyon" sur leboncoin', {"Auto-Submitted": "auto-replied"}, "auto_reply"),
    ('Nouveau message pour "T2 Lyon" sur leboncoin', {"X-Spam-Flag": "YES"}, "spam"),
    ('RE: Nouveau message pour "T2 Lyon" sur leboncoin', {"In-Reply-To": "<a@b>"}, "follow_up"),
    ('Nouveau message pour "T2 Lyon" sur leboncoin', {}, "lead"),
    ('Nouveau message pour "T2 Lyon" sur leboncoin', {"Auto-Submitted": "auto-generated"}, "lead"),
])
def test_leboncoin_categories(workspace, subject, headers, category):
    result = attribute(workspace, lead(sender='"Marc via leboncoin" <x1@messagerie.leboncoin.fr>',
                                       subject=subject, headers=headers, cc="lyon2@track.example.net"))
    assert result.portal == "leboncoin"
    assert result.category == category


def test_marketing_sender_of_a_portal_is_a_newsletter(workspace):
    result = attribute(workspace, lead(sender="promo@news.leboncoin.fr", subject="Nouveau : boostez vos annonces",
                                       cc="lyon2@track.example.net"))
    assert (result.portal, result.category) == ("leboncoin", "newsletter")


def test_portal_without_template_counts_every_message_as_lead(workspace):
    result = attribute(workspace, lead(sender="contact@pap.fr", subject="Un particulier vous contacte",
                                       cc="lyon2@track.example.net"))
    assert (result.portal, result.category) == ("pap", "lead")


def test_unknown_tracked_address_is_unknown_channel(workspace):
    result = attribute(workspace, lead(to="someone@elsewhere.fr"))
    assert (result.point_of_sale, result.channel) == (None, "unknown")


def test_distribution_copy_uses_log_targets(workspace):
    raw = lead(to="reseau@track.example.net", top={"Delivered-To": "reseau@track.example.net"})
    attributor = Attributor(workspace, {"lead-1@lead.seloger.com": ["lyon-2", "paris-11"]})
    result = attributor.attribute(parse_message(raw).as_row())
    assert result.channel == "distribution"
    assert result.targets == ["lyon-2", "paris-11"]
    assert result.point_of_sale is None  # several points of sale: see the leads rows


def test_mailbox_export_role(workspace):
    result = attribute(workspace, lead(to="paris11@agence-exemple.fr"), role_hint="mailbox")
    assert (result.role, result.point_of_sale) == ("mailbox", "paris-11")


def test_workspace_portal_overrides_builtin_by_id(tmp_path):
    from emailtrack_analytics.config.workspace import load_config
    body = BASIC_CONFIG + '\n[[portals]]\nid = "pap"\nsubjects = ["^Contact PAP"]\n'
    ws = load_config(write_config(tmp_path, body))
    result = attribute(ws, lead(sender="contact@pap.fr", subject="Bonjour", cc="lyon2@track.example.net", **NEUTRAL))
    assert (result.portal, result.category) == ("pap", "other")
    assert "unrecognised_template" in result.flags
    # the notices every portal sends are recognised by their wording, templates or not
    result = attribute(ws, lead(sender="contact@pap.fr", subject="Statistiques", cc="lyon2@track.example.net"))
    assert (result.portal, result.category) == ("pap", "notification")


def test_reply_to_a_non_lead_thread_is_not_a_follow_up(workspace):
    result = attribute(workspace, lead(sender="collegue@agence-exemple.fr", subject="RE: Réunion lundi",
                                       headers={"In-Reply-To": "<meeting@agence-exemple.fr>"},
                                       cc="lyon2@track.example.net", **NEUTRAL))
    assert (result.portal, result.category) == (None, "other")


def test_reply_through_a_portal_relay_is_a_follow_up(workspace):
    result = attribute(workspace, lead(sender="Marc <x1@messagerie.leboncoin.fr>",
                                       subject='Re: Nouveau message pour "T2 Lyon" sur leboncoin',
                                       headers={"References": "<abc@agence-exemple.fr>"},
                                       cc="lyon2@track.example.net"))
    assert (result.portal, result.category) == ("leboncoin", "follow_up")


def test_listing_published_notice_is_a_notification(workspace):
    result = attribute(workspace, lead(sender="noreply@bienici.com", subject="Votre annonce LYO2-1234 a été publiée sur Bien'ici",
                                       cc="lyon2@track.example.net"))
    assert (result.portal, result.category) == ("bienici", "notification")


def test_search_alert_from_la_centrale_is_not_a_lead(workspace):
    result = attribute(workspace, lead(sender="alerte@mail-alerte.lacentrale.fr",
                                       subject="3 nouvelles annonces correspondent à votre recherche",
                                       cc="lyon2@track.example.net"))
    assert (result.portal, result.category) == ("lacentrale", "notification")


def test_la_centrale_lead_with_encoded_name_and_folded_subject(workspace):
    raw = (b"Delivered-To: lyon2@track.example.net\n"
           b"From: =?UTF-8?B?TGEgQ2VudHJhbGUgLSBNZXNzYWdlcmll?= <no_reply@lacentrale.fr>\n"
           b"To: lyon2@agence-exemple.fr\nCc: lyon2@track.example.net\n"
           b"Subject: Nouveau message pour votre annonce W123456789 - Peugeot 208\n 1.2 PureTech 100ch Allure\n"
           b"Date: Thu, 12 Mar 2026 18:04:11 +0100\nMessage-ID: <lc-1@lacentrale.fr>\n\n"
           b"Un acheteur vous a ecrit.\nE-mail : a1b2@messagerie.lacentrale.fr\n")
    row = parse_message(raw).as_row()
    assert row["subject"] == "Nouveau message pour votre annonce W123456789 - Peugeot 208 1.2 PureTech 100ch Allure"
    result = Attributor(workspace).attribute(row)
    assert (result.portal, result.category, result.channel) == ("lacentrale", "lead", "cc")


def test_quarantine_digest_is_not_a_lead(workspace):
    result = attribute(workspace, lead(sender="quarantine@messaging.microsoft.com",
                                       subject="Microsoft 365 : vous avez 3 nouveaux messages en quarantaine",
                                       cc="lyon2@track.example.net", **NEUTRAL))
    assert (result.portal, result.category) == (None, "other")


def test_own_mailbox_copy_with_tracked_cc_is_a_mailbox_copy(workspace):
    result = attribute(workspace, lead(cc="lyon2@track.example.net", top={"Delivered-To": "lyon2@agence-exemple.fr"}))
    assert (result.role, result.point_of_sale) == ("mailbox", "lyon-2")
