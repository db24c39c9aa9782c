"""Portal e-mails in the layouts DOMAIN.md describes from real messages (personal details invented).

Each builder returns the bytes as the portal sends them; the tests put them through the delivery
paths and the attribution. None of these is a real person's message.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.utils import formataddr


def _message(sender: tuple[str, str], subject: str, *, to="lyon2@agence-exemple.fr", cc=None,
             message_id: str, date="Mon, 04 May 2026 15:48:12 +0200", text: str | None = None,
             html: str | None = None, headers: dict | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr(sender)
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = date
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html, subtype="html")
    return message.as_bytes()


def seloger_nmp1(*, to="lyon2@agence-exemple.fr", cc=None, name="Camille Martin",
                 email="camille.martin@example.org", reply_to: str | None = None, ref="pa409GH",
                 subject="Un acquéreur est intéressé par un de vos biens",
                 date="Mon, 04 May 2026 15:48:12 +0200", message_id="<20260504134812.9f3a@myselogerpro.nmp1.com>",
                 rental=False) -> bytes:
    """SeLoger's lead as its bulk-mail platform sends it: From "SeLoger-Logic"
    <nouveau.contact@myselogerpro.nmp1.com>, DKIM d=nmp1.com, List-Id, X-EMV-Platform, Reply-To the
    prospect, links through tracker.nmp1.com and myselogerpro.com."""
    token = base64.urlsafe_b64encode(b"https://myselogerpro.com/contacts/8812377").decode().rstrip("=")
    head = "NOUVEAU CONTACT\n\n" if rental else ""
    price = "1500 €/mois" if rental else "149 000 €"
    text = (f"{head}{name} s'intéresse à ce bien :\n{price}\nLyon 2e\nAppartement • 1 pièce • 16 m2\n"
            f"Ref. de l'annonce  : {ref}\n\n{name}\n{email}\n"
            "Découvrir son projet : https://myselogerpro.com/contacts/8812377\n"
            "Son message : *NC*\nTéléphone 0212661475939\n\n"
            f"https://tracker.nmp1.com/c/{token}\n"
            "DIGITAL CLASSIFIEDS FRANCE\n")
    html = (f"<html><body><p><b>{name}</b> s'intéresse à ce bien :</p><p>{price}<br>Lyon 2e<br>"
            f"Appartement • 1 pièce • 16 m2<br>Ref. de l'annonce  : {ref}</p>"
            f"<p>{name}<br>{email}</p>"
            f"<p><a href=\"https://tracker.nmp1.com/c/{token}\">Découvrir son projet</a></p>"
            "<p>Son message : *NC*</p><p>Téléphone 0212661475939</p>"
            "<img src=\"https://static.logic-immo.com/img/logo.png\">"
            "<p>DIGITAL CLASSIFIEDS FRANCE</p></body></html>")
    return _message(("SeLoger-Logic", "nouveau.contact@myselogerpro.nmp1.com"), subject, to=to, cc=cc,
                    message_id=message_id, date=date, text=text, html=html,
                    headers={"Reply-To": formataddr((name, reply_to or email)),
                             "List-Id": "<nouveau_contact.myselogerpro.nmp1.com>",
                             "X-EMV-Platform": "nmp1",
                             "DKIM-Signature": "v=1; a=rsa-sha256; c=relaxed/relaxed; d=nmp1.com; s=nmp; "
                                               "h=from:to:subject; bh=abc=; b=def="})


def bienici_html(*, to="lyon2@agence-exemple.fr", cc=None, sender=("Bien'ici", "no-reply@mail-sender.bienici.com"),
                 subject="Contact candidat locataire pour votre annonce LY-2231 à Lyon",
                 message_id="<0102018f3a.bienici@email.amazonses.com>", date="Mon, 04 May 2026 10:02:00 +0000",
                 name="Lou Bernard", email="lou.bernard@example.org", phone="06 12 34 56 78") -> bytes:
    """Bien'ici's lead: HTML only, every link through link.bienici.fr/lnk/…/<base64> whose last
    segment decodes to a pro.bienici.com address; images from mail-sender.bienici.com."""
    target = b"https://pro.bienici.com/annonces/LY-2231?at_id_compte=ubiflow-4411"
    token = base64.b64encode(target).decode()
    html = ("<html><body><h1>Contact candidat locataire pour votre annonce LY-2231 à Lyon</h1>"
            "<p>Cher partenaire,</p><h2>Ses coordonnées</h2>"
            f"<p>{name}<br>Téléphone : {phone}<br>E-mail : {email}</p>"
            f"<h2>Rappel de l'annonce</h2><p><a href=\"https://link.bienici.fr/lnk/AV4x/{token}\">LY-2231</a></p>"
            "<img src=\"https://mail-sender.bienici.com/logo.png\"></body></html>")
    return _message(sender, subject, to=to, cc=cc, message_id=message_id, date=date, html=html)


def leboncoin_relay(*, to="lyon2@agence-exemple.fr", cc=None, pseudo="Loulou69",
                    subject='Nouveau message pour "T2 lumineux Croix-Rousse" sur leboncoin',
                    message_id="<a1b2c3.relay@messagerie.leboncoin.fr>", date="Mon, 04 May 2026 09:15:00 +0200") -> bytes:
    text = (f"{pseudo} vous a contacté sur leboncoin.\n\nPrénom : Lou\nNom : Bernard\n"
            "E-mail : lou.bernard@example.org\nTéléphone : 06 12 34 56 78\nVille : Lyon\n\n"
            "« Bonjour, est-il encore disponible ? »\n\nRépondre par e-mail\n"
            "image de l'annonce T2 lumineux Croix-Rousse\n890 €\n")
    return _message((f"{pseudo} via leboncoin", "c0ffee-118833@messagerie.leboncoin.fr"), subject, to=to, cc=cc,
                    message_id=message_id, date=date, text=text)


def lacentrale(*, subject="Nouveau contact pour votre Peugeot 208 (E105644463)", to="lyon2@agence-exemple.fr",
               message_id="<E105644463.77@info.lacentrale.fr>", sender=("La Centrale", "pro@info.lacentrale.fr"),
               text: str | None = None) -> bytes:
    text = text or ("Un acheteur s'intéresse à votre Peugeot 208 (E105644463).\n\nNom : Lou Bernard\n"
                    "Téléphone : 06 12 34 56 78\nE-mail : lou.bernard@example.org\n")
    return _message(sender, subject, to=to, message_id=message_id, text=text)


def notice(sender: tuple[str, str], subject: str, text: str, *, to="lyon2@agence-exemple.fr",
           message_id="<notice-1@mail.example.net>", headers: dict | None = None) -> bytes:
    return _message(sender, subject, to=to, message_id=message_id, text=text, headers=headers)
