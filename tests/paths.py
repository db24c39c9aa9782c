"""One lead through every delivery path: originals in real layouts and the copies each path makes.

The originals follow the layouts DOMAIN.md records (SeLoger through nmp1.com, a leboncoin relay,
Bien'ici HTML only, La Centrale, a website form); the prospects are invented. Each path builds
the bytes the tracked address receives the way that client or server writes them ("How
forwarding changes a message"): the original kept (CC, Gmail filter, Apple Mail redirect, server
alias, multi-distribution), or wrapped in a new message (Outlook, Outlook on the web, Gmail and
Apple Mail inline forwards, forward as attachment, a re-forward days later with a note on top).
The agency is in Europe/Paris: clients print the original's time in local time, and Exchange
stamps its own Date in UTC.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import itertools
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.timezone.utc
MAILBOX = "lyon2@agence-exemple.fr"
MAILBOX_NAME = "Agence Lyon 2e"
TRACKED = "lyon2@track.example.net"
DISTRIBUTION = "reseau@track.example.net"

CONFIG_TEMPLATE = f"""
[workspace]
name = "Delivery paths"
timezone = "{{timezone}}"

[[points_of_sale]]
id = "lyon-2"
name = "Agence Lyon 2e"
tracked_addresses = ["{TRACKED}"]
mailboxes = ["{MAILBOX}"]

[[portals]]
id = "seloger"
senders = ["@myselogerpro.nmp1.com", "@lead.seloger.com", "@seloger.com"]

[[portals]]
id = "site-agence"
name = "Site Internet"
kind = "website"
senders = ["formulaire@agence-exemple.fr"]
subjects = ["^Demande de contact"]

[[tracked_addresses]]
address = "{DISTRIBUTION}"
distribution = true
"""

FIRST_NAMES = ("Camille", "Léa", "Hugo", "Manon", "Louis", "Chloé", "Jules", "Inès", "Arthur", "Zoé",
               "Nathan", "Emma", "Théo", "Jade", "Raphaël", "Lina", "Gabriel", "Sarah", "Tom", "Alice")
LAST_NAMES = ("Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre",
              "Roux", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent")


@dataclass
class Prospect:
    first: str
    last: str
    email: str
    phone: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def prospect(n: int) -> Prospect:
    first = FIRST_NAMES[n % len(FIRST_NAMES)]
    last = LAST_NAMES[(n // len(FIRST_NAMES) + n) % len(LAST_NAMES)]
    plain = re.sub(r"[^a-z]", "", (first + last).lower().translate(str.maketrans("éèëïç", "eeeic")))
    return Prospect(first, last, f"{plain}{n}@example.org", f"06 {12 + n % 80:02d} {n % 97:02d} {(n * 7) % 100:02d} {(n * 13) % 100:02d}")


@dataclass
class Original:
    """A lead as the portal sent it, and what a mail client shows of it."""

    layout: str
    sender_name: str
    sender: str
    subject: str
    message_id: str
    sent_at: dt.datetime          # aware, in the zone the portal writes its Date in
    text: str | None              # text/plain part, None for HTML-only mails
    markup: str | None            # text/html part
    extra: dict                   # other headers (Reply-To, List-Id, DKIM…)
    prospect: Prospect
    agency_zone: ZoneInfo = PARIS  # where the agency's mail clients print times

    def message(self, *, cc: str | None = None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = f'"{self.sender_name}" <{self.sender}>'
        message["To"] = MAILBOX
        if cc:
            message["Cc"] = cc
        message["Subject"] = self.subject
        message["Date"] = format_datetime(self.sent_at)
        message["Message-ID"] = self.message_id
        message["MIME-Version"] = "1.0"
        for name, value in self.extra.items():
            message[name] = value
        if self.text is not None:
            message.set_content(self.text)
            if self.markup is not None:
                message.add_alternative(self.markup, subtype="html")
        else:
            message.set_content(self.markup, subtype="html")
        return message

    def bytes(self, *, cc: str | None = None) -> bytes:
        return self.message(cc=cc).as_bytes()

    @property
    def local(self) -> dt.datetime:
        """The original's time as the agency's mail client shows it."""
        return self.sent_at.astimezone(self.agency_zone)


def _a(url: str, text: str) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'


def seloger(n: int, when: dt.datetime, who: int | None = None) -> Original:
    who = n if who is None else who
    p = prospect(who)
    ref = f"pa{409 + n}GH"
    project = f"https://myselogerpro.com/contacts/{7731000 + n}"
    tracker = f"https://tracker.nmp1.com/tr/cl/{n:06d}"
    text = (f"NOUVEAU CONTACT\n\n{p.name} s'intéresse à ce bien :\n\n245 000 €\nLyon 2e\n"
            f"Appartement • 3 pièces • 68 m2\nRef. de l'annonce  : {ref}\n\n"
            f"{p.name}\n{p.email}\nTéléphone {p.phone}\n\nDécouvrir son projet : {project}\n\n"
            "Son message : *NC*\n\nVous recevez cet email car vous êtes client SeLoger.\n"
            "DIGITAL CLASSIFIEDS FRANCE - SAS au capital de 1 000 000 €\n")
    markup = (f"<html><body><table><tr><td><img src=\"https://tracker.nmp1.com/img/logic.png\" alt=\"SeLoger-Logic\"></td></tr>"
              f"<tr><td><h2>NOUVEAU CONTACT</h2><p>{html.escape(p.name)} s'intéresse à ce bien :</p>"
              f"<p><b>245 000 €</b><br>Lyon 2e<br>Appartement • 3 pièces • 68 m2<br>Ref. de l'annonce  : {ref}</p>"
              f"<p>{html.escape(p.name)}<br>{_a('mailto:' + p.email, p.email)}<br>Téléphone {p.phone}</p>"
              f"<p>Découvrir son projet : {_a(tracker, project)}</p><p>Son message : *NC*</p>"
              "<p>Vous recevez cet email car vous êtes client SeLoger.<br>"
              "DIGITAL CLASSIFIEDS FRANCE - SAS au capital de 1 000 000 €</p></td></tr></table></body></html>")
    return Original("seloger", "SeLoger-Logic", "nouveau.contact@myselogerpro.nmp1.com",
                    "Un acquéreur est intéressé par un de vos biens", f"<{n}.{who}.{ref}@nmp1.com>",
                    when.astimezone(PARIS), text, markup,
                    {"Reply-To": f'"{p.name}" <{p.email}>', "List-Id": "<contacts.myselogerpro.nmp1.com>",
                     "X-EMV-Platform": "nmp1", "DKIM-Signature": "v=1; a=rsa-sha256; d=nmp1.com; s=emv; b=AbC="},
                    p)


def leboncoin(n: int, when: dt.datetime, who: int | None = None) -> Original:
    who = n if who is None else who
    p = prospect(who + 1000)
    pseudo = p.first + str(n % 90)
    title = "Appartement 3 pièces 68 m²"
    text = (f"{pseudo} vous a contacté sur leboncoin.\n\nPrénom : {p.first}\nNom : {p.last}\n"
            f"E-mail : {p.email}\nTéléphone : {p.phone}\nVille : Villeurbanne\n\n"
            f"« Bonjour, votre appartement est-il toujours disponible ? Je peux visiter samedi. »\n\n"
            f"Répondre par e-mail\n\nimage de l'annonce {title}\n245 000 €\n")
    markup = (f"<html><body><p>{html.escape(pseudo)} vous a contacté sur leboncoin.</p><table>"
              f"<tr><td>Prénom : {html.escape(p.first)}</td></tr><tr><td>Nom : {html.escape(p.last)}</td></tr>"
              f"<tr><td>E-mail : {p.email}</td></tr><tr><td>Téléphone : {p.phone}</td></tr>"
              "<tr><td>Ville : Villeurbanne</td></tr></table>"
              "<p>« Bonjour, votre appartement est-il toujours disponible ? Je peux visiter samedi. »</p>"
              f"<p>{_a('https://www.leboncoin.fr/messages/' + str(n), 'Répondre par e-mail')}</p>"
              f"<p><img src=\"https://img.leboncoin.fr/{n}.jpg\" alt=\"image de l'annonce {title}\"> 245 000 €</p></body></html>")
    return Original("leboncoin", f"{pseudo} via leboncoin", f"c{n:05d}-a91f@messagerie.leboncoin.fr",
                    f'Nouveau message pour "{title}" sur leboncoin', f"<conv-{n}-{who}-b7e2@leboncoin.fr>",
                    when.astimezone(UTC), text, markup, {}, p)


def bienici(n: int, when: dt.datetime, who: int | None = None) -> Original:
    who = n if who is None else who
    p = prospect(who + 2000)
    ref = f"LOC-{5100 + n}"
    target = f"https://pro.bienici.com/annonces/{ref}?at_id_compte=ubiflow-1234"
    link = "https://link.bienici.fr/lnk/AVQAAB" + str(n) + "/" + base64.urlsafe_b64encode(target.encode()).decode()
    markup = ("<html><body><table width=\"600\"><tr><td><img src=\"https://mail-sender.bienici.com/logo.png\" alt=\"Bien'ici\"></td></tr>"
              f"<tr><td><h1>Contact candidat locataire pour votre annonce {ref} à Lyon</h1>"
              "<p>Cher partenaire,</p><p>Un candidat locataire souhaite être recontacté.</p>"
              f"<h3>Ses coordonnées</h3><p>{html.escape(p.name)}</p><p>Téléphone : {p.phone}</p>"
              f"<p>E-mail : {_a('mailto:' + p.email, p.email)}</p>"
              "<p>Message : Bonjour, je suis intéressé par la location, dossier complet disponible.</p>"
              f"<h3>Rappel de l'annonce</h3><p>{_a(link, 'Appartement 2 pièces - 45 m² - 890 €/mois - Lyon 3e')}</p>"
              "</td></tr></table></body></html>")
    return Original("bienici", "Bien'ici", "no-reply@bienici.com",
                    f"Contact candidat locataire pour votre annonce {ref} à Lyon", f"<{n}.{who}.{ref}@mail-sender.bienici.com>",
                    when.astimezone(PARIS), None, markup, {}, p)


def lacentrale(n: int, when: dt.datetime, who: int | None = None) -> Original:
    who = n if who is None else who
    p = prospect(who + 3000)
    ad = f"E{105644463 + n}"
    markup = ("<html><body><div><img src=\"https://www.lacentrale.fr/static/logo.png\" alt=\"La Centrale\"></div>"
              f"<p>Bonjour,</p><p>Un acheteur est intéressé par votre annonce {ad} : Peugeot 208 1.2 PureTech 100 Allure.</p>"
              f"<table><tr><td>Nom :</td><td>{html.escape(p.name)}</td></tr>"
              f"<tr><td>Téléphone :</td><td>{p.phone}</td></tr>"
              f"<tr><td>E-mail :</td><td>{p.email}</td></tr>"
              "<tr><td>Message :</td><td>Le véhicule est-il toujours disponible ? Reprise possible ?</td></tr></table>"
              f"<p>{_a('https://pro.lacentrale.fr/annonces/' + ad, 'Voir mon annonce')}</p></body></html>")
    return Original("lacentrale", "La Centrale", "no_reply@lacentrale.fr",
                    f"Nouvelle demande de contact - Peugeot 208 ({ad})", f"<{ad}.{who}.7f3a@info.lacentrale.fr>",
                    when.astimezone(PARIS), None, markup, {}, p)


def website(n: int, when: dt.datetime, who: int | None = None) -> Original:
    who = n if who is None else who
    p = prospect(who + 4000)
    text = (f"Nouvelle demande depuis le site agence-exemple.fr\n\nNom : {p.name}\nEmail : {p.email}\n"
            f"Téléphone : {p.phone}\nBien : Maison 5 pièces Caluire (réf. M{300 + n})\n"
            "Message : Bonjour, je souhaiterais visiter cette maison en fin de semaine.\n")
    return Original("website", "Site agence-exemple.fr", "formulaire@agence-exemple.fr",
                    f"Demande de contact - Maison 5 pièces Caluire (réf. M{300 + n})",
                    f"<form-{who}-{300 + n}@agence-exemple.fr>", when.astimezone(UTC), text, None, {}, p)


LAYOUTS = {"seloger": seloger, "leboncoin": leboncoin, "bienici": bienici, "lacentrale": lacentrale,
           "website": website}


# --------------------------------------------------------------------------- how clients print

_FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_FR_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
              "octobre", "novembre", "décembre")
_FR_MONTHS_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                    "nov.", "déc.")
_DE_DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_DE_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
              "Oktober", "November", "Dezember")


def outlook_fr_date(t: dt.datetime) -> str:
    return f"{_FR_DAYS[t.weekday()]} {t.day} {_FR_MONTHS[t.month - 1]} {t.year} {t:%H:%M}"


def outlook_en_date(t: dt.datetime) -> str:
    return f"{t:%A}, {t:%B} {t.day}, {t.year} {t.hour % 12 or 12}:{t:%M} {'AM' if t.hour < 12 else 'PM'}"


def outlook_de_date(t: dt.datetime) -> str:
    return f"{_DE_DAYS[t.weekday()]}, {t.day}. {_DE_MONTHS[t.month - 1]} {t.year} {t:%H:%M}"


_ES_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_ES_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
              "octubre", "noviembre", "diciembre")
_IT_DAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
_IT_MONTHS = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
              "ottobre", "novembre", "dicembre")


def outlook_es_date(t: dt.datetime) -> str:
    return f"{_ES_DAYS[t.weekday()]}, {t.day} de {_ES_MONTHS[t.month - 1]} de {t.year} {t:%H:%M}"


def outlook_it_date(t: dt.datetime) -> str:
    return f"{_IT_DAYS[t.weekday()]} {t.day} {_IT_MONTHS[t.month - 1]} {t.year} {t:%H:%M}"


def gmail_fr_date(t: dt.datetime) -> str:
    return f"{_FR_DAYS[t.weekday()][:3]}. {t.day} {_FR_MONTHS_SHORT[t.month - 1]} {t.year} à {t:%H:%M}"


def gmail_en_date(t: dt.datetime) -> str:
    return f"{t:%a}, {t:%b} {t.day}, {t.year} at {t.hour % 12 or 12}:{t:%M} {'AM' if t.hour < 12 else 'PM'}"


def apple_fr_date(t: dt.datetime) -> str:
    hours = int(t.utcoffset().total_seconds() // 3600)
    return f"{t.day} {_FR_MONTHS[t.month - 1]} {t.year} à {t:%H:%M:%S} UTC{hours:+d}"


_LINK = re.compile(r'(?is)<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>')


def rendered_text(original: Original, link: str) -> str:
    """The original's body as a mail client writes it into a plain-text forward: its text part,
    else its HTML as text with each link's target after the link (``link`` formats the pair)."""
    if original.text is not None:
        return original.text
    markup = re.sub(r"(?is)<img[^>]*>", "", original.markup)
    markup = _LINK.sub(lambda m: html.escape(link.format(text=html.unescape(m.group(2)), url=html.unescape(m.group(1)))),
                       markup)
    markup = re.sub(r"(?is)<\s*(br|/p|/h\d|/tr|/div)\b[^>]*>", "\n", markup)
    markup = re.sub(r"(?is)</td>", " ", markup)
    text = html.unescape(re.sub(r"(?s)<[^>]*>", "", markup))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


# --------------------------------------------------------------------------- the paths

@dataclass
class Copy:
    name: str
    raw: bytes
    log_row: dict | None = None  # the distribution system's log row for this copy


def _envelope(raw: bytes, **headers: str) -> bytes:
    """Headers a receiving server (or a redirecting client) prepends to the kept original."""
    top = "".join(f"{name.replace('_', '-')}: {value}\n" for name, value in headers.items())
    return top.encode() + raw


def _wrapper(subject: str, date: dt.datetime, message_id: str, text: str, markup: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{MAILBOX_NAME} <{MAILBOX}>"
    message["To"] = TRACKED
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["MIME-Version"] = "1.0"
    message.set_content(text)
    if markup is not None:
        message.add_alternative(markup, subtype="html")
    return message


def _delivered(message: EmailMessage) -> bytes:
    return f"Delivered-To: {TRACKED}\n".encode() + message.as_bytes()


def _outlook_block(original: Original, cc: str | None, labels: tuple[str, str, str, str, str], date_text: str) -> str:
    de, sent, to, copy, subject = labels
    lines = [f"{de} {original.sender_name} <{original.sender}>", f"{sent} {date_text}",
             f"{to} {MAILBOX_NAME} <{MAILBOX}>"]
    if cc:
        lines.append(f"{copy} {cc}")
    lines.append(f"{subject} {original.subject}")
    return "\n".join(lines)


def _outlook_html(block: str, body: str) -> str:
    fields = "".join(f"<b>{html.escape(line.split(' ', 1)[0])}</b> {html.escape(line.split(' ', 1)[1])}<br>"
                     for line in block.split("\n"))
    return (f"<html><body><div><br></div><hr style=\"display:inline-block;width:98%\" tabindex=\"-1\">"
            f"<div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\" style=\"font-size:11pt\">"
            f"{fields}</font><div>&nbsp;</div></div><div>{html.escape(body).replace(chr(10), '<br>')}</div></body></html>")


_FR = ("De :", "Envoyé :", "À :", "Cc :", "Objet :")


def outlook_fr(original: Original, cc: str | None, k: int) -> Copy:
    """Outlook for Windows (French): the forward's Date in local time, ``Envoyé :`` in local time."""
    sent = original.local + dt.timedelta(minutes=6)
    body = rendered_text(original, "{text}<{url}>")
    block = _outlook_block(original, cc, _FR, outlook_fr_date(original.local))
    text = f"\n\n________________________________\n{block}\n\n{body}"
    message = _wrapper(f"TR: {original.subject}", sent, f"<AM0PR{k:05d}.outlook-fr@agence-exemple.fr>",
                       text, _outlook_html(block, body))
    return Copy("outlook_fr", _delivered(message))


def _owa(original: Original, cc: str | None, k: int, labels, date_text: str, prefix: str, name: str) -> Copy:
    """Outlook on the web / Exchange: the forward's Date stamped in UTC (+0000), the original's
    time in the block in the agent's local time, without a zone."""
    sent = (original.local + dt.timedelta(minutes=9)).astimezone(UTC)
    body = rendered_text(original, "{text}<{url}>")
    block = _outlook_block(original, cc, labels, date_text)
    text = f"\n\n________________________________\n{block}\n\n{body}"
    message = _wrapper(f"{prefix} {original.subject}", sent, f"<PR3P{k:05d}.{name}@EURPRD10.PROD.OUTLOOK.COM>",
                       text, _outlook_html(block, body))
    return Copy(name, _delivered(message))


def owa_fr(original: Original, cc: str | None, k: int) -> Copy:
    return _owa(original, cc, k, _FR, outlook_fr_date(original.local), "TR:", "owa_fr")


def owa_en(original: Original, cc: str | None, k: int) -> Copy:
    return _owa(original, cc, k, ("From:", "Sent:", "To:", "Cc:", "Subject:"), outlook_en_date(original.local),
                "FW:", "owa_en")


def owa_de(original: Original, cc: str | None, k: int) -> Copy:
    return _owa(original, cc, k, ("Von:", "Gesendet:", "An:", "Cc:", "Betreff:"), outlook_de_date(original.local),
                "WG:", "owa_de")


def owa_es(original: Original, cc: str | None, k: int) -> Copy:
    return _owa(original, cc, k, ("De:", "Enviado:", "Para:", "CC:", "Asunto:"), outlook_es_date(original.local),
                "RV:", "owa_es")


def owa_it(original: Original, cc: str | None, k: int) -> Copy:
    return _owa(original, cc, k, ("Da:", "Inviato:", "A:", "Cc:", "Oggetto:"), outlook_it_date(original.local),
                "I:", "owa_it")


def _gmail(original: Original, cc: str | None, k: int, date_text: str, from_label: str, name: str) -> Copy:
    """Gmail's inline forward: the dashed line, then From/Date/Subject/To in local time."""
    sent = original.local + dt.timedelta(minutes=4)
    body = rendered_text(original, "{text} <{url}>")
    lines = ["---------- Forwarded message ---------", f"{from_label} {original.sender_name} <{original.sender}>",
             f"Date: {date_text}", f"Subject: {original.subject}", f"To: <{MAILBOX}>"]
    if cc:
        lines.append(f"Cc: <{cc}>")
    text = "\n\n" + "\n".join(lines) + "\n\n\n" + body
    message = _wrapper(f"Fwd: {original.subject}", sent, f"<CAF{k:05d}+{name}@mail.gmail.com>", text)
    return Copy(name, _delivered(message))


def gmail_fr(original: Original, cc: str | None, k: int) -> Copy:
    return _gmail(original, cc, k, gmail_fr_date(original.local), "De :", "gmail_fr")


def gmail_en(original: Original, cc: str | None, k: int) -> Copy:
    return _gmail(original, cc, k, gmail_en_date(original.local), "From:", "gmail_en")


def apple_fr(original: Original, cc: str | None, k: int) -> Copy:
    """Apple Mail (French): ``Début du message réexpédié :`` and the whole original quoted with ``>``."""
    sent = original.local + dt.timedelta(minutes=3)
    body = rendered_text(original, "{text} <{url}>")
    lines = ["Début du message réexpédié :", "", f"De: {original.sender_name} <{original.sender}>",
             f"Objet: {original.subject}", f"Date: {apple_fr_date(original.local)}", f"À: {MAILBOX}"]
    if cc:
        lines.append(f"Cc: {cc}")
    lines += [""] + body.rstrip("\n").split("\n")
    text = "\n\n" + "\n".join(">" if not line else "> " + line for line in lines) + "\n"
    message = _wrapper(f"Fwd: {original.subject}", sent, f"<{k:05d}-APPLE-MAIL@agence-exemple.fr>", text)
    return Copy("apple_fr", _delivered(message))


def attachment(original: Original, cc: str | None, k: int) -> Copy:
    """Outlook on the web "forward as attachment": the original whole, as a message/rfc822 part."""
    from email import message_from_bytes, policy

    sent = (original.local + dt.timedelta(minutes=12)).astimezone(UTC)
    message = _wrapper(f"TR: {original.subject}", sent, f"<PR3P{k:05d}.attached@EURPRD10.PROD.OUTLOOK.COM>", "\n")
    message.add_attachment(message_from_bytes(original.bytes(cc=cc), policy=policy.default))
    return Copy("attachment", _delivered(message))


def reforward(original: Original, cc: str | None, k: int) -> Copy:
    """The agent forwards the lead again three days later (Outlook, French) with a note on top."""
    sent = original.local + dt.timedelta(days=3, hours=2)
    body = rendered_text(original, "{text}<{url}>")
    block = _outlook_block(original, cc, _FR, outlook_fr_date(original.local))
    note = f"*** déjà transmis le {original.local:%d/%m} NOUVEAU CONTACT à rappeler ***\n\nBonne journée,\nAgence Lyon 2e"
    text = f"{note}\n\n________________________________\n{block}\n\n{body}"
    message = _wrapper(f"TR: {original.subject}", sent, f"<AM0PR{k:05d}.again@agence-exemple.fr>", text)
    return Copy("reforward", _delivered(message))


def cc_copy(original: Original, cc: str | None, k: int) -> Copy:
    """The tracked address in Cc of the portal's own message."""
    return Copy("cc", _envelope(original.bytes(cc=cc), Delivered_To=TRACKED))


def gmail_filter(original: Original, cc: str | None, k: int) -> Copy:
    """A Gmail filter's auto-forward: the original kept, X-Forwarded-To/For added."""
    return Copy("gmail_filter", _envelope(original.bytes(cc=cc), Delivered_To=TRACKED, X_Forwarded_To=TRACKED,
                                          X_Forwarded_For=f"{MAILBOX} {TRACKED}"))


def apple_redirect(original: Original, cc: str | None, k: int) -> Copy:
    """Apple Mail "Redirect": the original kept, Resent-* added; the tracked address only there."""
    resent = original.local + dt.timedelta(minutes=2)
    return Copy("apple_redirect", _envelope(
        original.bytes(cc=cc), Delivered_To=TRACKED, Resent_From=MAILBOX, Resent_To=TRACKED,
        Resent_Date=format_datetime(resent), Resent_Message_ID=f"<{k:05d}-resent@agence-exemple.fr>"))


def server_alias(original: Original, cc: str | None, k: int) -> Copy:
    """A server alias (or Sieve ``redirect :copy``): the original untouched, the tracked address
    only in the envelope headers."""
    return Copy("server_alias", _envelope(original.bytes(cc=cc), Delivered_To=TRACKED, X_Original_To=TRACKED))


def distribution(original: Original, cc: str | None, k: int) -> Copy:
    """The multi-distribution system's tracking copy, and its log row naming the point of sale."""
    row = {"received_at": original.sent_at.isoformat(), "message_id": original.message_id,
           "sender": original.sender, "subject": original.subject, "delivered_to": MAILBOX}
    return Copy("distribution", _envelope(original.bytes(cc=cc), Delivered_To=DISTRIBUTION), row)


PATHS = {f.__name__.removesuffix("_copy"): f for f in (
    cc_copy, gmail_filter, apple_redirect, server_alias, distribution, outlook_fr, owa_fr, owa_en, owa_de,
    owa_es, owa_it, gmail_fr, gmail_en, apple_fr, attachment, reforward)}


def combinations() -> list[tuple[str, ...]]:
    """Every path alone and every pair of paths."""
    names = list(PATHS)
    return [(name,) for name in names] + list(itertools.combinations(names, 2))


def instance_time(n: int) -> dt.datetime:
    """The n-th lead's time: spread over a year (winter and summer time), hours and minutes."""
    start = dt.datetime(2026, 1, 5, 7, 3, 11, tzinfo=UTC)
    return start + dt.timedelta(days=(n * 5) % 360, hours=(n * 7) % 13, minutes=(n * 11) % 60)


def config(timezone: str = "Europe/Paris") -> str:
    """The workspace of the agency whose copies ``copies`` makes."""
    return CONFIG_TEMPLATE.replace("{timezone}", timezone)


CONFIG = config()


def copies(layout: str, n: int, combo: tuple[str, ...], *, who: int | None = None,
           when: dt.datetime | None = None, agency_zone: ZoneInfo = PARIS) -> list[Copy]:
    """The copies the tracked addresses receive of lead ``n`` in ``layout`` (about listing ``n``,
    from prospect ``who``, default ``n``, sent at ``when``) through the paths of ``combo``, the
    agency's clients printing times in ``agency_zone``."""
    original = LAYOUTS[layout](n, when or instance_time(n), who)
    original.agency_zone = agency_zone
    cc = TRACKED if "cc" in combo else None
    key = n * 100 + (who or 0) * 10_000
    return [PATHS[name](original, cc, key + i) for i, name in enumerate(combo)]
