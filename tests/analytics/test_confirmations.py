"""Forwarding confirmations (issue 15, item 3): Gmail mails a code and a link to the forwarding
address and forwards nothing until someone confirms. Such a copy at a tracked address is a
notification flagged ``forwarding_confirmation``, and ``emailtrack status`` lists it per point of
sale until the forward evidently works. Real ingests into a real DuckDB workspace.

The messages are written from the layout public handlers of these mails record (sources in
``config/confirmations.toml``): the English subject "(#code) Gmail Forwarding Confirmation -
Receive Mail from <mailbox>", the French "(n° code) Confirmation de transfert Gmail - Recevoir des
messages de <mailbox>", the text "<mailbox> has requested to automatically forward mail to your
email address <tracked>. Confirmation code: <code>" and the link
https://mail-settings.google.com/mail/vf-….
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest

from emailtrack_analytics.analytics import checks, senders
from emailtrack_analytics.api import Analytics
from emailtrack_analytics.attribution import confirmations
from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.ingest.pipeline import ingest
from tests.builders import lead, mbox
from tests.conftest import BASIC_CONFIG, write_config

LYON_LINK = "https://mail-settings.google.com/mail/vf-%5BANGjdJ_Lyon2x%5D-Qk7sXbLmT0aPz3Rw"
PARIS_LINK = "https://mail-settings.google.com/mail/vf-%5BANGjdJ-Paris11%5D-Hd93kLpQz0uTrB"
NANTES_LINK = "https://mail.google.com/mail/vf-%5BANGjdJ8nantes%5D-Zx81LmQp"


def gmail_confirmation_en(*, mailbox: str, tracked: str, code: str, link: str, date: str, n: int = 1) -> bytes:
    """Gmail's English confirmation, plain text."""
    message = EmailMessage()
    message["From"] = "Gmail Team <forwarding-noreply@google.com>"
    message["To"] = tracked
    message["Subject"] = f"({'#'}{code}) Gmail Forwarding Confirmation - Receive Mail from {mailbox}"
    message["Message-ID"] = f"<confirm-{code}-{n}@google.com>"
    message["Date"] = date
    message.set_content(
        f"{mailbox} has requested to automatically forward mail to your email\naddress {tracked}.\n"
        f"Confirmation code: {code}\n\n"
        f"To allow {mailbox} to automatically forward mail to your address, please click the link below to "
        f"confirm the request:\n\n{link}\n\n"
        "If you click the link and it appears to be broken, please copy and paste it into a new browser "
        "window.\n\nThanks for using Gmail!\n\nSincerely,\n\nThe Gmail Team\n")
    return f"Delivered-To: {tracked}\n".encode() + message.as_bytes()


def gmail_confirmation_fr_html(*, mailbox: str, tracked: str, code: str, link: str, date: str) -> bytes:
    """Gmail's French confirmation, multipart/alternative: a plain part and an HTML part."""
    message = EmailMessage()
    message["From"] = "L'équipe Gmail <forwarding-noreply@google.com>"
    message["To"] = tracked
    message["Subject"] = f"(n° {code}) Confirmation de transfert Gmail - Recevoir des messages de {mailbox}"
    message["Message-ID"] = f"<confirm-fr-{code}@google.com>"
    message["Date"] = date
    message.set_content(
        f"{mailbox} a demandé à transférer automatiquement les messages vers votre adresse e-mail {tracked}.\n"
        f"Code de confirmation : {code}\n\nPour autoriser {mailbox} à transférer automatiquement les messages "
        f"vers votre adresse, cliquez sur le lien ci-dessous afin de confirmer la demande :\n\n{link}\n")
    message.add_alternative(
        f"<html><body><p>{mailbox} a demandé à transférer automatiquement les messages vers votre adresse "
        f"e-mail <b>{tracked}</b>.<br>Code de confirmation : <b>{code}</b></p>"
        f'<p><a href="{link}">{link}</a></p></body></html>', subtype="html")
    return f"Delivered-To: {tracked}\n".encode() + message.as_bytes()


def gmail_forwarded_lead(n: int, *, mailbox: str, tracked: str, date: str) -> bytes:
    """A SeLoger lead that the mailbox's Gmail forwards once confirmed (original kept, DOMAIN.md)."""
    return lead(message_id=f"<fwd-{n}@lead.seloger.com>", to=mailbox, date=date, body=f"Prospect {n} s'intéresse à ce bien.\n",
                top={"Delivered-To": tracked, "X-Forwarded-To": tracked, "X-Forwarded-For": f"{mailbox} {tracked}"})


CONFIRMATIONS = [
    gmail_confirmation_en(mailbox="lyon2@agence-exemple.fr", tracked="lyon2@track.example.net", code="412345678",
                          link=LYON_LINK, date="Mon, 02 Mar 2026 09:15:00 +0100"),
    gmail_confirmation_fr_html(mailbox="paris11@agence-exemple.fr", tracked="paris11@track.example.net",
                               code="598765432", link=PARIS_LINK, date="Tue, 03 Mar 2026 10:20:00 +0100"),
    # the forwarding rule's address has a typo: no point of sale claims it, the mailbox asking is
    # an agent's own Gmail, not in the configuration
    gmail_confirmation_en(mailbox="agence.nantes@gmail.com", tracked="nantes@track.example.net", code="377001122",
                          link=NANTES_LINK, date="Wed, 04 Mar 2026 11:00:00 +0100"),
]


def not_confirmations() -> list[bytes]:
    """Mail that mentions a confirmation, or even Gmail's subject, without being Google's."""
    person = lead(sender="Marie Durand <marie.durand@gmail.com>", to="lyon2@track.example.net",
                  subject="Gmail Forwarding Confirmation - Receive Mail from marie.durand@gmail.com",
                  message_id="<person-1@mail.gmail.com>", date="Thu, 05 Mar 2026 08:00:00 +0100",
                  body="Bonjour, je vous transfère la confirmation. https://mail.google.com/mail/u/0/#inbox\n")
    portal = lead(sender="noreply@lead.seloger.com", to="lyon2@track.example.net",
                  subject="Confirmation de votre demande de visite", message_id="<visit-1@lead.seloger.com>",
                  date="Thu, 05 Mar 2026 09:00:00 +0100",
                  body="Code de confirmation : 123456789. Confirmez votre transfert de dossier.\n")
    return [person, portal]


@pytest.fixture
def confirm_workspace(tmp_path):
    folder = tmp_path / "ws"
    write_config(folder, BASIC_CONFIG)
    (tmp_path / "tracking.mbox").write_bytes(mbox(*CONFIRMATIONS, *not_confirmations()))
    ingest(open_workspace(folder), [tmp_path / "tracking.mbox"], workers=1)
    return folder


def pending(folder):
    workspace = open_workspace(folder)
    return [c for c in checks.find_checks(Analytics(workspace).sql, workspace) if c.kind == "pending_confirmation"]


def test_a_gmail_confirmation_is_a_flagged_notification_of_the_point_of_sale_never_a_lead(confirm_workspace):
    data = Analytics(open_workspace(confirm_workspace))
    rows = data.sql("SELECT coalesce(point_of_sale, '-') AS pos, coalesce(portal, '-') AS portal, category "
                    "FROM messages WHERE list_contains(flags, 'forwarding_confirmation') ORDER BY received_at")
    assert [tuple(r) for r in rows.itertuples(index=False)] == [
        ("lyon-2", "-", "notification"), ("paris-11", "-", "notification"), ("-", "-", "notification")]
    # the person's mail quoting Gmail's subject and the portal's "code de confirmation" are not caught
    assert len(data.sql("SELECT * FROM messages WHERE list_contains(flags, 'forwarding_confirmation')")) == 3
    assert data.sql("SELECT count(*) AS n FROM leads")["n"].iloc[0] == 0


def test_a_confirmation_is_not_an_unrecognised_sender_to_teach(confirm_workspace):
    groups = senders.unrecognised_senders(open_workspace(confirm_workspace))
    assert "google.com" not in {g.domain for g in groups}
    assert "gmail.com" in {g.domain for g in groups}  # the person quoting the subject still is


def test_status_lists_each_pending_confirmation_with_its_mailbox_code_and_link(confirm_workspace, cli):
    found = {c.address: c for c in pending(confirm_workspace)}
    assert set(found) == {"lyon2@track.example.net", "paris11@track.example.net", "nantes@track.example.net"}
    lyon, paris, nantes = (found[a] for a in ("lyon2@track.example.net", "paris11@track.example.net",
                                              "nantes@track.example.net"))
    assert (lyon.point_of_sale, lyon.mailbox, lyon.code, lyon.link, lyon.since) == (
        "lyon-2", "lyon2@agence-exemple.fr", "412345678", LYON_LINK, dt.date(2026, 3, 2))
    # French, multipart with HTML: read from its plain part
    assert (paris.point_of_sale, paris.mailbox, paris.code, paris.link) == (
        "paris-11", "paris11@agence-exemple.fr", "598765432", PARIS_LINK)
    # an address no point of sale claims: still listed, with the address
    assert (nantes.point_of_sale, nantes.mailbox, nantes.code, nantes.link) == (
        None, "agence.nantes@gmail.com", "377001122", NANTES_LINK)
    assert "no point of sale claims this address" in nantes.detail

    status = cli("--workspace", confirm_workspace, "status")
    assert status.code == 0, status.err
    assert ("pending confirmation: lyon2@track.example.net: Gmail asks to confirm that lyon2@agence-exemple.fr "
            "may forward to it") in status.out
    for check in (lyon, paris, nantes):
        assert f"      {check.link}\n" in status.out  # on a line of its own, to copy
        assert f"type the code {check.code} in the forwarding settings of {check.mailbox}" in status.out
    assert "forwarding_confirmation" in status.out  # among the flags counted
    # the deployment status shows them too, under their point of sale or under none, with the fix
    deployment = cli("--workspace", confirm_workspace, "status", "--deployment")
    assert deployment.code == 0, deployment.err
    lyon_part = deployment.out.split("lyon-2 (", 1)[1].split("paris-11 (", 1)[0]
    assert lyon.link in lyon_part and lyon.code in lyon_part
    assert nantes.link in deployment.out.split("no point of sale:", 1)[1]


def test_a_later_forwarded_lead_from_that_mailbox_clears_it_and_a_newer_confirmation_supersedes(
        confirm_workspace, tmp_path):
    later = [
        # Lyon's forward works: a lead forwarded by its Gmail (X-Forwarded-For names the mailbox)
        gmail_forwarded_lead(1, mailbox="lyon2@agence-exemple.fr", tracked="lyon2@track.example.net",
                             date="Thu, 05 Mar 2026 14:00:00 +0100"),
        # Paris asked again: the newer code and link are the ones that work
        gmail_confirmation_en(mailbox="paris11@agence-exemple.fr", tracked="paris11@track.example.net",
                              code="598700001", link=PARIS_LINK + "2", date="Fri, 06 Mar 2026 09:00:00 +0100", n=2),
        # a lead forwarded to Paris by another mailbox proves nothing about paris11@'s forward
        gmail_forwarded_lead(2, mailbox="someone@agence-exemple.fr", tracked="paris11@track.example.net",
                             date="Fri, 06 Mar 2026 15:00:00 +0100"),
    ]
    (tmp_path / "later.mbox").write_bytes(mbox(*later))
    ingest(open_workspace(confirm_workspace), [tmp_path / "later.mbox"], workers=1)
    found = {c.address: c for c in pending(confirm_workspace)}
    assert set(found) == {"paris11@track.example.net", "nantes@track.example.net"}
    paris = found["paris11@track.example.net"]
    assert (paris.code, paris.link, paris.count, paris.since) == ("598700001", PARIS_LINK + "2", 2, dt.date(2026, 3, 6))


def test_a_point_of_sale_silent_because_its_forward_was_never_confirmed_is_sent_to_the_confirmation(
        confirm_workspace, tmp_path, cli):
    """Paris 11's own mailbox export shows leads that never reached tracking: the fix is the
    confirmation its Gmail forward waits for, not "check the forwarding rule"."""
    start = dt.date(2026, 3, 5)
    mailbox = [lead(message_id=f"<paris-{n}@lead.seloger.com>", to="paris11@agence-exemple.fr",
                    date=f"{start + dt.timedelta(days=n):%a, %d %b %Y} 10:00:00 +0100",
                    body=f"Prospect {n} s'intéresse à ce bien.\n", top={"Delivered-To": "paris11@agence-exemple.fr"})
               for n in range(20)]
    tracked = [lead(message_id=f"<lyon-{n}@lead.seloger.com>", cc="lyon2@track.example.net",
                    date=f"{start + dt.timedelta(days=n):%a, %d %b %Y} 11:00:00 +0100", body=f"Prospect L{n}\n")
               for n in range(20)]
    (tmp_path / "more.mbox").write_bytes(mbox(*mailbox, *tracked))
    ingest(open_workspace(confirm_workspace), [tmp_path / "more.mbox"], workers=1)
    workspace = open_workspace(confirm_workspace)
    found = checks.find_checks(Analytics(workspace).sql, workspace)
    paris = {c.kind: c for c in found if c.point_of_sale == "paris-11"}
    assert {"pending_confirmation", "mailbox_not_tracked", "silent_point_of_sale"} <= set(paris)
    for kind in ("mailbox_not_tracked", "silent_point_of_sale"):
        assert paris[kind].fix_kind == "confirmation"
        assert paris[kind].fix == ("its forward to paris11@track.example.net was never confirmed: see the pending "
                                   "confirmation (its link or code)")
    from emailtrack_analytics.reports.health import check_fix
    names = {p.id: p.name for p in workspace.points_of_sale}
    for kind in ("mailbox_not_tracked", "silent_point_of_sale"):
        assert check_fix(paris[kind], "en", workspace, found, names) == paris[kind].fix
        assert check_fix(paris[kind], "fr", workspace, found, names) == (
            "son transfert vers paris11@track.example.net n'a jamais été confirmé : voir la confirmation en attente "
            "(son lien ou son code)")
    status = cli("--workspace", confirm_workspace, "status")
    assert "mailbox leads not tracked: paris-11: 20 of the 20 leads" in status.out
    assert "fix: its forward to paris11@track.example.net was never confirmed" in status.out


def test_a_subject_in_a_language_not_listed_is_recognised_by_sender_and_link():
    # an invented subject in a language the data file does not list: the sender and the vf- link
    # are what count (Gmail writes in the account's language)
    subject = "(#512300999) Gmail-Weiterleitungsbestaetigung - E-Mails von filiale@beispiel.de empfangen"
    text = "filiale@beispiel.de moechte E-Mails weiterleiten.\n\n" + LYON_LINK + "\n"
    provider = confirmations.recognise("forwarding-noreply@google.com", subject, text)
    assert provider is not None and provider.id == "gmail"
    asked = confirmations.read(provider, subject, text, "lyon2@track.example.net")
    assert (asked.mailbox, asked.code, asked.link) == ("filiale@beispiel.de", "512300999", LYON_LINK)
    # the same words from anyone else are nothing
    assert confirmations.recognise("forwarding-noreply@google.com.example.org", subject, text) is None
    assert confirmations.recognise("filiale@beispiel.de", subject, text) is None
    # from Google's sender, neither its subject nor its link: not recognised either
    assert confirmations.recognise("forwarding-noreply@google.com", "Hello", "no link here") is None


def test_an_html_only_confirmation_is_recognised_by_its_link_host(tmp_path):
    message = EmailMessage()
    message["From"] = "forwarding-noreply@google.com"
    message["To"] = "lyon2@track.example.net"
    message["Subject"] = "Gmail"  # wording unknown
    message["Date"] = "Mon, 02 Mar 2026 09:15:00 +0100"
    message["Message-ID"] = "<html-only@google.com>"
    message.set_content(f'<p>Code: 123456789</p><a href="{LYON_LINK}">Confirmer</a>', subtype="html")
    folder = tmp_path / "ws"
    write_config(folder, BASIC_CONFIG)
    (tmp_path / "t.mbox").write_bytes(mbox(b"Delivered-To: lyon2@track.example.net\n" + message.as_bytes()))
    ingest(open_workspace(folder), [tmp_path / "t.mbox"], workers=1)
    (check,) = pending(folder)
    assert (check.point_of_sale, check.address, check.link) == ("lyon-2", "lyon2@track.example.net", None)
    assert "open the confirmation mail" in check.fix


def test_every_fact_of_the_verification_mail_data_has_a_source():
    for provider in confirmations.providers():
        sources = dict(provider.sources)
        missing = [fact for fact in provider.facts() if fact not in sources]
        assert missing == [], f"{provider.id}: facts without a source: {missing}"
        assert all(s.split(":", 1)[0] in ("observed", "parsers", "documented", "assumed") for s in sources.values())


def test_the_health_report_writes_each_pending_confirmation_in_french_with_its_code_and_link(confirm_workspace,
                                                                                              tmp_path):
    from emailtrack_analytics.reports.health import check_evidence, check_fix
    from tests.conftest import run_cli
    from tests.reports.test_health_report import ENGLISH, figures_of

    workspace = open_workspace(confirm_workspace)
    found = checks.find_checks(Analytics(workspace).sql, workspace)
    names = {p.id: p.name for p in workspace.points_of_sale}
    for check in (c for c in found if c.kind == "pending_confirmation"):
        evidence, fix = check_evidence(check, "fr", names), check_fix(check, "fr", workspace, found, names)
        assert evidence and not ENGLISH.search(evidence) and not ENGLISH.search(fix[0]), (evidence, fix)
        assert figures_of(check.detail) == figures_of(evidence)
        assert fix[1:] == [check.link, f"ou saisir le code {check.code} dans les paramètres de transfert de "
                                        f"{check.mailbox} (Gmail)"]
        english = check_fix(check, "en", workspace, found, names)
        assert "\n".join(english) == check.fix
        assert check_evidence(check, "en", names) == check.detail.removeprefix(f"{check.address}: ").replace(
            "may forward to it", f"may forward to {check.address}")

    result = run_cli("--workspace", confirm_workspace, "report", "health", "--month", "2026-03", "--allow-empty",
                     "--lang", "fr", "--out", tmp_path / "out")
    assert result.code == 0, result.err
    page = (tmp_path / "out" / "2026-03" / "health.html").read_text()
    assert page.count("Confirmation de transfert en attente") == 3
    assert LYON_LINK in page and "saisir le code 598765432" in page
