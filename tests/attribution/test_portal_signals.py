"""Which portal, lead or not: several signals weighed together, on the layouts of real portal mail
(DOMAIN.md), never on the sample's own templates."""

from __future__ import annotations

import base64
import csv
import io
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emailtrack_analytics.attribution.engine import Attributor
from emailtrack_analytics.config.catalogue import builtin_portals
from emailtrack_analytics.ingest.parsing import signals
from emailtrack_analytics.ingest.parsing.message import parse_message
from tests import layouts
from tests.conftest import BASIC_CONFIG, write_config

TRACKED = "lyon2@track.example.net"


def attribute(workspace, raw: bytes):
    row = parse_message(raw).as_row()
    return Attributor(workspace).attribute(row)


def test_seloger_lead_from_its_bulk_mail_platform_is_a_seloger_lead(workspace):
    result = attribute(workspace, layouts.seloger_nmp1(cc=TRACKED))
    assert (result.point_of_sale, result.portal, result.category) == ("lyon-2", "seloger", "lead")
    assert "new_sender" not in result.flags


def test_list_id_alone_does_not_make_a_lead_a_newsletter(workspace):
    record = parse_message(layouts.seloger_nmp1(cc=TRACKED))
    assert record.list_id == "nouveau_contact.myselogerpro.nmp1.com"
    assert record.list_unsubscribe is False
    assert Attributor(workspace).attribute(record.as_row()).category == "lead"


def test_seloger_signals_are_stored_facts_of_the_bytes():
    record = parse_message(layouts.seloger_nmp1(cc=TRACKED))
    assert record.dkim_domains == ["nmp1.com"]
    assert record.reply_to_domains == ["example.org"]
    assert {"tracker.nmp1.com", "myselogerpro.com", "static.logic-immo.com"} <= set(record.link_hosts)


def test_seloger_rental_variant_under_a_new_subject_is_a_lead_flagged(workspace):
    raw = layouts.seloger_nmp1(cc=TRACKED, rental=True, subject="Nouvelle demande sur votre location")
    result = attribute(workspace, raw)
    assert (result.portal, result.category) == ("seloger", "lead")
    assert "unrecognised_template" in result.flags


def test_portal_template_from_a_sender_the_catalogue_does_not_list_is_flagged_new_sender(workspace):
    raw = layouts.seloger_nmp1(cc=TRACKED).replace(b"myselogerpro.nmp1.com>", b"pro-mailer.example-esp.com>")
    result = attribute(workspace, raw)
    assert (result.portal, result.category) == ("seloger", "lead")
    assert "new_sender" in result.flags


def test_bienici_redirect_links_decode_to_its_pro_site():
    record = parse_message(layouts.bienici_html(cc=TRACKED))
    assert {"link.bienici.fr", "pro.bienici.com", "mail-sender.bienici.com"} <= set(record.link_hosts)


def test_bienici_html_lead_through_amazon_ses_is_bienici(workspace):
    raw = layouts.bienici_html(cc=TRACKED, sender=("Bien'ici", "0102018f3a@eu-west-1.amazonses.com"))
    result = attribute(workspace, raw)
    assert (result.portal, result.category) == ("bienici", "lead")
    assert "new_sender" in result.flags


def test_leboncoin_relay_lead(workspace):
    result = attribute(workspace, layouts.leboncoin_relay(cc=TRACKED))
    assert (result.portal, result.category) == ("leboncoin", "lead")


def test_leboncoin_prospect_reply_in_the_conversation_is_a_follow_up(workspace):
    raw = layouts.leboncoin_relay(cc=TRACKED, subject='Re: Nouveau message pour "T2" sur leboncoin',
                                  message_id="<reply-2@messagerie.leboncoin.fr>")
    raw = b"In-Reply-To: <answer-1@agence-exemple.fr>\n" + raw
    assert attribute(workspace, raw).category == "follow_up"


@pytest.mark.parametrize("sender, subject, text", [
    (("Logic-Immo", "annonces@logic-immo.com"), "Votre annonce NC-0977 expire dans 3 jours",
     "Bonjour,\nVotre annonce NC-0977 expire dans 3 jours. Prolongez-la depuis votre espace.\n"),
    (("PAP", "annonces@pap.fr"), "Votre annonce est en ligne",
     "Bonjour,\nVotre annonce r400012 est désormais en ligne sur pap.fr.\n"),
    (("SeLoger-Logic", "nouveau.contact@myselogerpro.nmp1.com"), "Vos statistiques de la semaine",
     "Vues cette semaine : 412\nContacts : 3\n"),
    (("La Centrale", "pro@info.lacentrale.fr"), "Rapport de vos appels manqués",
     "Appels manqués du 4 mai : 06 12 34 56 78 à 10:02, 07 11 22 33 44 à 11:40\n"),
    (("leboncoin", "no-reply@leboncoin.fr"), "Un utilisateur a ajouté votre annonce à ses favoris",
     "Bonne nouvelle ! Un utilisateur a ajouté votre annonce « T2 » à ses favoris.\n"),
    (("Bien'ici", "compta@bienici.com"), "Votre facture de mai 2026", "Montant TTC : 480,00 €\n"),
    (("AutoScout24", "service@autoscout24.fr"), "Réinitialisation de votre mot de passe",
     "Cliquez ici pour réinitialiser votre mot de passe.\n"),
    # subject unknown, body wording of a notice
    (("Logic-Immo", "annonces@logic-immo.com"), "NC-0977 : information",
     "Bonjour,\nVotre annonce NC-0977 expire dans 3 jours.\n"),
], ids=["logicimmo-expires", "pap-published", "seloger-statistics", "lacentrale-missed-calls-report",
        "leboncoin-favourite", "bienici-invoice", "autoscout-password", "body-only"])
def test_portal_notices_are_not_leads(workspace, sender, subject, text):
    result = attribute(workspace, layouts.notice(sender, subject, text, to=TRACKED))
    assert result.portal is not None
    assert result.category == "notification", (subject, result)


def test_lacentrale_lead_with_its_ad_id_is_a_lead(workspace):
    result = attribute(workspace, layouts.lacentrale(to=TRACKED))
    assert (result.portal, result.category) == ("lacentrale", "lead")


def test_portal_mail_with_a_contact_block_and_no_notice_wording_is_a_lead(workspace):
    raw = layouts.lacentrale(to=TRACKED, subject="Demande d'essai Peugeot 208",
                             text="Nom : Lou Bernard\nTéléphone : 06 12 34 56 78\nDisponible samedi.\n")
    result = attribute(workspace, raw)
    assert (result.portal, result.category) == ("lacentrale", "lead")
    assert "unrecognised_template" in result.flags


def test_a_display_name_alone_does_not_make_a_portal(workspace):
    raw = layouts.notice(("SeLoger", "promo.immo@gmail.com"), "Offre spéciale agences", "Bonjour, une offre.\n",
                         to=TRACKED, message_id="<x1@mail.gmail.com>")
    assert attribute(workspace, raw).portal is None


def test_a_platform_domain_alone_does_not_make_a_portal(workspace):
    # another brand on the same bulk-mail platform: DKIM d=nmp1.com is no SeLoger signal
    raw = layouts.notice(("Mon Magasin", "offres@magasin.nmp1.com"), "Soldes", "Jusqu'à -50 %\n", to=TRACKED,
                         message_id="<x2@magasin.nmp1.com>",
                         headers={"DKIM-Signature": "v=1; d=nmp1.com; s=nmp; b=x="})
    assert attribute(workspace, raw).portal is None


def test_a_portal_newsletter_with_list_unsubscribe_is_a_newsletter(workspace):
    raw = layouts.notice(("SeLoger Pro", "newsletter@news.seloger.com"), "La lettre des pros", "Nouveautés\n",
                         to=TRACKED, headers={"List-Unsubscribe": "<https://news.seloger.com/u/1>",
                                              "Precedence": "bulk"})
    assert attribute(workspace, raw).category == "newsletter"


def test_every_catalogue_fact_has_a_source():
    for portal in builtin_portals():
        sources = dict(portal.sources)
        for key, fact in portal.facts():
            assert fact in sources or key in sources, f"{portal.id}: {key} {fact!r} has no source"


def test_the_workspace_adds_a_sender_without_replacing_the_catalogue(tmp_path):
    from emailtrack_analytics.config.workspace import load_config
    body = BASIC_CONFIG + '\n[[portals]]\nid = "seloger"\nextra_senders = ["@pro-mailer.example-esp.com"]\n'
    ws = load_config(write_config(tmp_path, body))
    raw = layouts.seloger_nmp1(cc=TRACKED).replace(b"myselogerpro.nmp1.com>", b"pro-mailer.example-esp.com>")
    result = Attributor(ws).attribute(parse_message(raw).as_row())
    assert result.portal == "seloger" and "new_sender" not in result.flags
    result = Attributor(ws).attribute(parse_message(layouts.seloger_nmp1(cc=TRACKED)).as_row())
    assert "new_sender" not in result.flags  # the catalogue's sender still listed


def test_real_layouts_through_the_cli(tmp_path, cli):
    """The layouts ingested into a real workspace: portal and category of every copy as exported."""
    root = tmp_path / "ws"
    write_config(root, BASIC_CONFIG)
    folder = root / "in"
    folder.mkdir()
    messages = {
        "seloger.eml": layouts.seloger_nmp1(cc=TRACKED),
        "bienici.eml": layouts.bienici_html(cc=TRACKED),
        "leboncoin.eml": layouts.leboncoin_relay(cc=TRACKED),
        "lacentrale.eml": layouts.lacentrale(to=TRACKED),
        "expiry.eml": layouts.notice(("Logic-Immo", "annonces@logic-immo.com"),
                                     "Votre annonce NC-0977 expire dans 3 jours", "Prolongez-la.\n", to=TRACKED),
    }
    for name, raw in messages.items():
        (folder / name).write_bytes(raw)
    assert cli("--workspace", str(root), "ingest", str(folder)).code == 0
    out = cli("--workspace", str(root), "export", "messages")
    rows = {r["source"].rsplit("/", 1)[-1]: (r["portal"], r["category"]) for r in csv.DictReader(io.StringIO(out.out))}
    assert rows == {"seloger.eml": ("seloger", "lead"), "bienici.eml": ("bienici", "lead"),
                    "leboncoin.eml": ("leboncoin", "lead"), "lacentrale.eml": ("lacentrale", "lead"),
                    "expiry.eml": ("logicimmo", "notification")}


# --------------------------------------------------------------------------- redirect links

_hosts = st.from_regex(r"[a-z][a-z0-9]{1,10}(\.[a-z][a-z0-9]{1,8}){0,2}\.(com|fr|net|org)", fullmatch=True)
_paths = st.from_regex(r"(/[A-Za-z0-9_.~-]{0,12}){0,3}(\?[a-z]{1,6}=[A-Za-z0-9-]{1,12})?", fullmatch=True)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(host=_hosts, path=_paths, how=st.sampled_from(["query", "double", "b64", "b64url", "path-quoted"]))
def test_redirect_targets_are_decoded_whatever_their_encoding(host, path, how):
    target = f"https://{host}{path}"
    if how == "query":
        link = f"https://click.tracker.example/r?u={quote(target, safe='')}&id=1"
    elif how == "double":
        link = f"https://click.tracker.example/r?u={quote(quote(target, safe=''), safe='')}"
    elif how == "b64":
        link = f"https://link.tracker.example/lnk/AV4x/{base64.b64encode(target.encode()).decode()}"
    elif how == "b64url":
        token = base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")
        link = f"https://t.tracker.example/c/{token}"
    else:
        link = f"https://t.tracker.example/{quote(target, safe='')}"
    assert host in signals.link_hosts([f'<a href="{link}">voir</a>'])


@settings(max_examples=100, derandomize=True, deadline=None)
@given(text=st.text(max_size=2000))
def test_link_hosts_never_fail_and_stay_bounded(text):
    hosts = signals.link_hosts([text, "https://" + text])
    assert len(hosts) <= signals.MAX_HOSTS


def test_many_links_are_bounded():
    text = " ".join(f"https://h{i}.example.com/x" for i in range(5000))
    assert len(signals.link_hosts([text])) == signals.MAX_HOSTS


def _by_scanning_every_portal(attributor, row):
    """recognise() as its definition reads: every portal scored on signals_of, the highest total,
    ties to the more specific From rule, then catalogue order."""
    from emailtrack_analytics.attribution.engine import WEIGHTS, sender_matches
    best, best_rank = (None, 0, set()), (0, 0)
    for compiled in attributor.portals:
        found = attributor.signals_of(compiled, row)
        if not found:
            continue
        score = sum(WEIGHTS[s] for s in found)
        rank = (score, max((sender_matches(row.get("sender") or "", r) for r in compiled.portal.senders), default=0))
        if rank > best_rank:
            best, best_rank = (compiled.portal.id, score, set(found)), rank
    return best


def test_indexed_recognition_equals_scoring_every_portal(sample_workspace):
    import duckdb

    from emailtrack_analytics.attribution.refresh import BODY_COLUMN, READ_COLUMNS
    from emailtrack_analytics.config.workspace import open_workspace
    ws = open_workspace(sample_workspace)
    con = duckdb.connect(str(ws.database), read_only=True)
    try:
        cursor = con.execute(f"SELECT {', '.join(READ_COLUMNS)}, {BODY_COLUMN.format('')} FROM stored_messages")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    finally:
        con.close()
    rows += [parse_message(raw).as_row() for raw in (
        layouts.seloger_nmp1(cc=TRACKED), layouts.bienici_html(cc=TRACKED), layouts.leboncoin_relay(cc=TRACKED),
        layouts.lacentrale(to=TRACKED),
        layouts.bienici_html(cc=TRACKED, sender=("Bien'ici", "0102018f3a@eu-west-1.amazonses.com")))]
    attributor = Attributor(ws)
    assert len(rows) > 500
    recognised = 0
    for row in rows:
        fast = attributor.recognise(row, complete=True)
        assert (fast.portal, fast.score, set(fast.signals)) == _by_scanning_every_portal(attributor, row), row["message_key"]
        recognised += fast.portal is not None
        # without `complete`, only the body of portals named otherwise is read: the same winner
        # whenever one is attributed
        if fast.score >= 2:
            assert attributor.recognise(row).portal == fast.portal
    assert recognised > 0.5 * len(rows)


def test_a_workspace_pattern_with_its_own_flags_or_groups_still_works(tmp_path):
    """Each portal's patterns are searched as one expression: a valid workspace pattern with
    global flags or a named group broke every command (review of issue 11)."""
    from emailtrack_analytics.config.workspace import load_config
    body = BASIC_CONFIG + ('\n[[portals]]\nid = "formulaires"\nsenders = ["@formulaires.example"]\n'
                           'subjects = ["^Demande de contact", "(?i)^nouveau message du site", "(?P<kind>visite)", '
                           '"(?P<kind>rappel)"]\n')
    ws = load_config(write_config(tmp_path, body))
    raw = layouts.notice(("Site", "site@formulaires.example"), "Nouveau message du site", "Bonjour\n", to=TRACKED)
    assert Attributor(ws).attribute(parse_message(raw).as_row()).category == "lead"


def test_a_prospect_writing_notice_words_is_still_a_lead(workspace):
    """Body notice words lost to the contact block: prospects write them too (review of issue 11)."""
    text = ("Nom : Lou Bernard\nTéléphone : 06 12 34 56 78\n"
            "Bonjour, votre annonce de la Clio n'est plus en ligne, est-elle vendue ?\n")
    raw = layouts.notice(("ParuVendu", "contact@paruvendu.fr"), "Demande d'information", text, to=TRACKED)
    assert attribute(workspace, raw).category == "lead"


@pytest.mark.parametrize("sender, subject", [
    (("Fournisseur", "factures@fournisseur-exemple.fr"), "Votre facture E202604123 est disponible"),
    (("Agence", "compta@agence-exemple.fr"), "Dossier E100200300 - compromis signé"),
])
def test_an_ad_id_alone_makes_no_la_centrale_lead(workspace, sender, subject):
    raw = layouts.notice(sender, subject, "Bonjour\n", to=TRACKED, message_id="<x9@fournisseur-exemple.fr>")
    assert attribute(workspace, raw).portal is None
