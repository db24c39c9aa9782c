"""What the demo data set's e-mails say, and a small MIME writer that turns them into bytes.

Used only by :mod:`emailtrack_analytics.demo.sample`. Everything here is pure: functions take a
``random.Random`` and return text or bytes, so the data set is reproducible from its seed.

The lead templates follow the portal facts in ``shared/DOMAIN.md`` (senders, subjects, body
markers); Logic-Immo and PAP have no known template, theirs are invented on their sender domains.
Messages are written by hand rather than with ``email.message.EmailMessage`` because the data set
needs byte-level control (MIME boundaries, transfer encodings, encoded-words split mid-character,
undeclared 8-bit headers) and must be generated quickly.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
import random
import re
import unicodedata
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# --------------------------------------------------------------------------- MIME writer

HeaderValue = str | bytes


def fold(name: str, value: str, limit: int = 78) -> str:
    """``name: value`` folded at spaces so that lines stay within ``limit`` where possible."""
    line, lines = f"{name}:", []
    for word in value.split(" "):
        if len(line) + 1 + len(word) > limit and line.strip() and not line.endswith(":"):
            lines.append(line)
            line = " " + word
        else:
            line = f"{line} {word}"
    lines.append(line)
    return "\n".join(lines)


_Q_SAFE = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/")


def _q_encode(data: bytes) -> str:
    return "".join(
        "_" if byte == 0x20 else chr(byte) if byte in _Q_SAFE else f"={byte:02X}" for byte in data)


def _encoded_word(data: bytes, encoding: str, charset: str) -> str:
    payload = base64.b64encode(data).decode() if encoding == "B" else _q_encode(data)
    return f"=?{charset}?{encoding}?{payload}?="


def encoded_words(text: str, *, encoding: str = "Q", charset: str = "UTF-8",
                  split_character: bool = False) -> list[str]:
    """RFC 2047 encoded-words for ``text``, each at most 75 characters.

    Characters are never cut across two words, unless ``split_character`` asks for what some
    real senders do: cut the bytes at fixed sizes so that a multi-byte character straddles
    two encoded-words.
    """
    overhead = len(charset) + 7
    if split_character:
        data = text.encode("utf-8")
        inside = next((i + 1 for i, byte in enumerate(data) if byte >= 0xC0), len(data) // 2)
        step = 30 if encoding == "B" else 18
        cuts = sorted({inside + k * step for k in range(-10, 11) if 0 < inside + k * step < len(data)})
        bounds = [0, *cuts, len(data)]
        return [_encoded_word(data[a:b], encoding, charset) for a, b in itertools.pairwise(bounds)]
    words, chunk = [], b""
    for char in text:
        candidate = chunk + char.encode("utf-8")
        size = (4 * -(-len(candidate) // 3)) if encoding == "B" else len(_q_encode(candidate))
        if chunk and size + overhead > 75:
            words.append(_encoded_word(chunk, encoding, charset))
            candidate = char.encode("utf-8")
        chunk = candidate
    if chunk:
        words.append(_encoded_word(chunk, encoding, charset))
    return words


def unstructured(name: str, text: str, *, encoding: str = "Q", charset: str = "UTF-8",
                 partial: bool = False, split_character: bool = False) -> str:
    """A folded unstructured header (Subject, ...): plain when ASCII, else encoded-words.

    ``partial`` encodes only the runs of non-ASCII words, as many mailers do.
    """
    if text.isascii():
        return fold(name, text)
    if partial and not split_character:
        pieces: list[str] = []
        run: list[str] = []
        for word in text.split(" "):
            if word.isascii():
                if run:
                    pieces.extend(encoded_words(" ".join(run), encoding=encoding, charset=charset))
                    run = []
                pieces.append(word)
            else:
                run.append(word)
        if run:
            pieces.extend(encoded_words(" ".join(run), encoding=encoding, charset=charset))
        return fold(name, " ".join(pieces))
    words = encoded_words(text, encoding=encoding, charset=charset, split_character=split_character)
    return f"{name}: " + "\n ".join(words)


def address(name: str, addr: str, *, encoding: str = "Q", charset: str = "UTF-8") -> str:
    """``"Display Name" <addr>`` with the name quoted, or encoded when it is not ASCII."""
    if not name:
        return addr
    if name.isascii():
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{addr}>'
    return " ".join(encoded_words(name, encoding=encoding, charset=charset)) + f" <{addr}>"


@dataclass
class Part:
    """One MIME entity; ``body`` is already transfer-encoded."""

    content_type: str
    body: bytes = b""
    transfer_encoding: str | None = None
    disposition: str | None = None
    children: list[Part] = field(default_factory=list)
    boundary: str | None = None


def encode_body(data: bytes, transfer_encoding: str) -> bytes:
    if transfer_encoding == "base64":
        return base64.encodebytes(data)
    if transfer_encoding == "quoted-printable":
        return binascii.b2a_qp(data, istext=True)
    return data


def text_part(text: str, subtype: str = "plain", *, charset: str = "utf-8",
              transfer_encoding: str = "quoted-printable") -> Part:
    data = text.encode(charset)
    if not text.endswith("\n"):
        data += b"\n"
    return Part(f'text/{subtype}; charset="{charset}"', encode_body(data, transfer_encoding),
                transfer_encoding)


def binary_part(data: bytes, content_type: str, filename: str) -> Part:
    return Part(f'{content_type}; name="{filename}"', encode_body(data, "base64"), "base64",
                f'attachment; filename="{filename}"')


def message_part(raw: bytes, filename: str) -> Part:
    """An attached e-mail (``message/rfc822``), as Outlook's "forward as attachment" writes it."""
    return Part("message/rfc822", raw, None if raw.isascii() else "8bit", f'attachment; filename="{filename}"')


def multipart(subtype: str, children: list[Part], boundary: str) -> Part:
    return Part(f"multipart/{subtype}", children=children, boundary=boundary)


def render_part(part: Part) -> bytes:
    """A MIME entity's own headers, a blank line and its body."""
    if part.children:
        head = f'Content-Type: {part.content_type};\n\tboundary="{part.boundary}"\n'
        delimiter = f"--{part.boundary}".encode()
        body = b"".join(delimiter + b"\n" + render_part(child) + b"\n" for child in part.children)
        return head.encode() + b"\n" + body + delimiter + b"--\n"
    head = fold("Content-Type", part.content_type) + "\n"
    if part.transfer_encoding:
        head += f"Content-Transfer-Encoding: {part.transfer_encoding}\n"
    if part.disposition:
        head += fold("Content-Disposition", part.disposition) + "\n"
    return head.encode() + b"\n" + part.body


def render_header(name: str, value: HeaderValue) -> bytes:
    """One header line; ``value`` is folded unless it has line breaks already; bytes are written raw."""
    if isinstance(value, bytes):
        return name.encode() + b": " + value + b"\n"
    if not value:
        line = f"{name}:"
    elif value.startswith(f"{name}:"):
        line = value
    elif "\n" in value:
        line = f"{name}: {value}"
    else:
        line = fold(name, value)
    return line.encode("ascii") + b"\n"


def render_message(headers: list[tuple[str, HeaderValue]], body: Part) -> bytes:
    """A whole message: ``headers`` in order, ``MIME-Version``, then the body entity."""
    head = b"".join(render_header(name, value) for name, value in headers)
    return head + b"MIME-Version: 1.0\n" + render_part(body)


def body_of(c: Composed, rng: random.Random) -> Part:
    """The MIME body of a composed e-mail, in its sender's layout and transfer encodings."""
    text = text_part(c.text, charset=c.charset, transfer_encoding=c.text_encoding)
    if c.layout == "text":
        body = text
    else:
        html = text_part(c.html or html_lines(c.text), "html", charset=c.charset, transfer_encoding=c.html_encoding)
        body = html if c.layout == "html" else multipart("alternative", [text, html], boundary(rng))
    if c.attachment:
        name, content_type, data = c.attachment
        body = multipart("mixed", [body, binary_part(data, content_type, name)], boundary(rng))
    return body


def boundary(rng: random.Random, style: str = "part") -> str:
    if style == "outlook":
        return f"_000_{rng.getrandbits(96):024X}_"
    if style == "gmail":
        return f"{rng.getrandbits(64):016x}0{rng.getrandbits(24):06x}"
    return f"----=_Part_{rng.randrange(10**5, 10**6)}_{rng.randrange(10**8, 10**9)}.{rng.getrandbits(40)}"


def jpeg_blob(rng: random.Random, size: int) -> bytes:
    """Bytes that look like a small JPEG file (header, noise, end marker)."""
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00H\x00H\x00\x00"
            + rng.randbytes(size) + b"\xff\xd9")


def pdf_blob(rng: random.Random, size: int) -> bytes:
    """Bytes that look like a small PDF file."""
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"4 0 obj\n<< /Length " + str(size).encode() + b" /Filter /FlateDecode >>\nstream\n"
            + rng.randbytes(size) + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


# --------------------------------------------------------------------------- people and places

FIRST_NAMES_F = ["Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Pauline",
                 "Marie", "Céline", "Nathalie", "Sophie", "Isabelle", "Aurélie", "Élodie", "Laura",
                 "Hélène", "Sandrine", "Amandine", "Mélanie", "Agnès", "Claire", "Anaïs", "Océane",
                 "Justine", "Valérie", "Christine", "Fatima", "Yasmine", "Zoé", "Margaux"]
FIRST_NAMES_M = ["Thomas", "Nicolas", "Julien", "Maxime", "Alexandre", "Antoine", "Kevin", "Romain",
                 "Sébastien", "Guillaume", "Mathieu", "Pierre", "Laurent", "Olivier", "Jérôme",
                 "François", "Benoît", "Mehdi", "Karim", "Hugo", "Lucas", "Théo", "Baptiste", "Rémi",
                 "Stéphane", "Frédéric", "Cédric", "Yannick", "Jean-Marc", "Loïc", "Enzo", "Adrien"]
LAST_NAMES = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
              "Moreau", "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand",
              "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau",
              "Vincent", "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin",
              "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin",
              "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier",
              "Masson", "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer",
              "Dufour", "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas",
              "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez", "Gérard", "Roche", "Renard",
              "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard", "Roger", "Fabre",
              "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois",
              "Benali", "Haddad", "Nguyen", "Da Silva", "Ferreira", "Le Gall", "Le Goff", "Kerbrat"]
FOREIGN_PROSPECTS = [  # Green-Acres buyers: (first names, last names, country, phone prefix)
    (["James", "Emily", "Oliver", "Sophie", "Harry", "Charlotte", "William", "Lucy"],
     ["Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Hughes", "Clarke"],
     "Royaume-Uni", "+44 7700 900"),
    (["Pieter", "Anouk", "Daan", "Sanne"], ["de Vries", "Jansen", "Bakker", "Visser"],
     "Pays-Bas", "+31 6 1234 "),
    (["Lukas", "Anna", "Jonas", "Lea"], ["Müller", "Schneider", "Fischer", "Weber"],
     "Allemagne", "+49 151 2345 "),
    (["Marc", "Sofie", "Wout"], ["Peeters", "Janssens", "Maes"], "Belgique", "+32 470 12 "),
]
EMAIL_PROVIDERS = [("gmail.com", 40), ("hotmail.fr", 10), ("orange.fr", 10), ("free.fr", 7),
                   ("yahoo.fr", 6), ("outlook.fr", 6), ("sfr.fr", 4), ("laposte.net", 5),
                   ("icloud.com", 5), ("wanadoo.fr", 4), ("hotmail.com", 3)]

# Prospects' own words. Blank means "no message", which portals allow.
LEAD_MESSAGES_SALE = [
    "Bonjour, je suis intéressé par ce bien. Est-il toujours disponible ? Merci de me recontacter.",
    "Bonjour,\nserait-il possible d'organiser une visite ce samedi ? Je suis disponible toute la "
    "journée.\nCordialement",
    "Bonjour, pourriez-vous m'indiquer le montant des charges de copropriété et de la taxe foncière ?",
    "Bonjour, nous sommes un couple avec deux enfants et ce bien nous plaît beaucoup. Peut-on le "
    "visiter en fin de semaine ?",
    "Bonjour, le prix est-il négociable ? J'ai un accord de principe de ma banque.",
    "Bonsoir, je souhaiterais avoir plus de photos et savoir si une place de parking est incluse.",
    "Est-ce que le bien est encore disponible ? Merci",
    "Bonjour, quel est le DPE exact ? Y a-t-il des travaux à prévoir ?",
    "Bonjour,\nJe vends également mon appartement dans le quartier, pouvez-vous me proposer une "
    "estimation ?\nMerci d'avance",
    "Bonjour, je suis primo-accédant et ce bien correspond à mon budget. Quand pourrais-je le voir ?",
    "Bonjour, y a-t-il un extérieur (balcon, terrasse) ? L'annonce n'est pas très claire.",
    "Bonjour,\n\nNous revenons vers vous concernant ce bien. Pouvez-vous nous rappeler en fin de "
    "journée après 18h ?\n\nBien à vous",
    "",
]
LEAD_MESSAGES_RENT = [
    "Bonjour, je suis intéressée par la location. Le logement est-il toujours disponible ?",
    "Bonjour, je cherche un logement pour ma fille étudiante. La date d'entrée est-elle flexible ?",
    "Bonjour, mon dossier est complet (CDI, garant). Est-il possible de visiter cette semaine ?",
    "Bonjour, les animaux sont-ils acceptés ? Merci pour votre retour.",
    "Bonsoir, quel est le montant des charges ? Le chauffage est-il collectif ?",
    "",
]
LEAD_MESSAGES_EN = [
    "Hello,\nWe are a British couple looking for a holiday home in the area.\nIs the property still "
    "available? Could you send us more pictures?\nKind regards",
    "Good evening,\nWe would like to arrange a viewing next month.\nFrom 14 to 21 we will be in the "
    "area and could visit any day.\nBest regards",
    "Hello,\nFrom the photos, the house looks lovely. How far is it from the beach and the shops?\n"
    "Many thanks",
    "Dear Sir or Madam,\nPlease let me know if the price is negotiable. We are cash buyers.\nRegards",
]

PROPERTY_TITLES = {  # per group: (kind, title pattern); {rooms}, {surface}, {quarter}
    "*": [("Appartement", "Appartement T{rooms} lumineux avec balcon"),
          ("Appartement", "Appartement {rooms} pièces refait à neuf"),
          ("Appartement", "Appartement T{rooms} proche commerces et transports"),
          ("Studio", "Studio meublé proche métro"),
          ("Maison", "Maison familiale {rooms} pièces avec jardin"),
          ("Appartement", "Appartement {rooms} pièces {surface} m² - {quarter}"),
          ("Maison", "Maison de ville {rooms} pièces avec terrasse")],
    "Rhône": [("Appartement", "Appartement canut avec mezzanine - {quarter}"),
              ("Loft", "Loft atypique {surface} m² - {quarter}")],
    "Île-de-France": [("Appartement", "Appartement haussmannien {rooms} pièces - {quarter}"),
                      ("Appartement", "Appartement T{rooms} dernier étage avec vue")],
    "Gironde": [("Maison", "Échoppe bordelaise rénovée - {quarter}"),
                ("Maison", "Villa avec piscine proche plages")],
    "Bouches-du-Rhône": [("Maison", "Villa provençale avec piscine - {quarter}"),
                         ("Appartement", "Appartement vue mer {rooms} pièces")],
}
PRICE_PER_M2 = {"Rhône": 5200, "Île-de-France": 9800, "Gironde": 4700, "Bouches-du-Rhône": 4300}


def strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@dataclass(frozen=True)
class Prospect:
    first_name: str
    last_name: str
    email: str
    phone: str
    city: str
    pseudo: str
    language: str = "fr"
    country: str = "France"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Listing:
    ref: str
    title: str
    kind: str
    rooms: int
    surface: int
    price: int
    transaction: str  # "vente" | "location"
    city: str
    postcode: str
    quarter: str
    portal_id: str  # the number leboncoin / PAP give the ad

    @property
    def price_text(self) -> str:
        return f"{self.price:,}".replace(",", "\u202f") + (" € CC/mois" if self.transaction == "location" else " €")


def french_phone(rng: random.Random) -> str:
    digits = f"0{rng.choice('6667')}{rng.randrange(10**8):08d}"
    style = rng.randrange(5)
    if style == 0:
        return digits
    if style == 1:
        return "+33" + digits[1:]
    if style == 2:
        return "+33 " + digits[1] + " " + " ".join(digits[i:i + 2] for i in range(2, 10, 2))
    return " ".join(digits[i:i + 2] for i in range(0, 10, 2))


def e164(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    return "+33" + digits[1:] if digits.startswith("0") else digits


def make_prospect(rng: random.Random, city: str, *, foreign: bool = False) -> Prospect:
    """A buyer or tenant with a consistent name, e-mail address, phone and pseudo."""
    if foreign:
        firsts, lasts, country, prefix = rng.choice(FOREIGN_PROSPECTS)
        first, last = rng.choice(firsts), rng.choice(lasts)
        phone = prefix + f"{rng.randrange(1000):03d}"
        local = strip_accents(f"{first}.{last}").lower().replace(" ", "")
        email = f"{local}@{rng.choice(['gmail.com', 'outlook.com', 'icloud.com', 'yahoo.co.uk'])}"
        return Prospect(first, last, email, phone, "", first, "en", country)
    first = rng.choice(FIRST_NAMES_F if rng.random() < 0.52 else FIRST_NAMES_M)
    last = rng.choice(LAST_NAMES)
    f, l = strip_accents(first).lower().replace(" ", ""), strip_accents(last).lower().replace(" ", "")
    domain = rng.choices([d for d, _ in EMAIL_PROVIDERS], [w for _, w in EMAIL_PROVIDERS])[0]
    local = rng.choice([f"{f}.{l}", f"{f[0]}.{l}", f"{f}{l}{rng.randrange(10, 99)}", f"{l}.{f}",
                        f"{f}_{l}", f"{f}.{l}{rng.randrange(1970, 2004)}"])
    pseudo = rng.choice([first, first, f"{first} {last[0]}.", f"{f}{rng.randrange(10, 99)}", "Particulier"])
    return Prospect(first, last, f"{local}@{domain}", french_phone(rng), city, pseudo)


def make_listings(rng: random.Random, code: str, group: str, city: str, postcode: str,
                  quarters: list[str], count: int) -> list[Listing]:
    """The point of sale's current ads, with its own reference prefix (``code``)."""
    listings = []
    patterns = PROPERTY_TITLES["*"] + PROPERTY_TITLES.get(group, [])
    for number in rng.sample(range(1000, 9999), count):
        kind, pattern = rng.choice(patterns)
        rooms = 1 if kind == "Studio" else rng.randint(2, 6 if kind == "Maison" else 5)
        surface = 18 + rooms * rng.randint(14, 26) + (40 if kind == "Maison" else 0)
        quarter = rng.choice(quarters)
        rental = kind in ("Studio", "Appartement") and rng.random() < 0.3
        if rental:
            price = round(surface * PRICE_PER_M2[group] / 260, -1)
        else:
            price = round(surface * PRICE_PER_M2[group] * rng.uniform(0.8, 1.35), -3)
        title = pattern.format(rooms=rooms, surface=surface, quarter=quarter)
        if rental:
            title = title.replace("Appartement", "Location appartement", 1).replace("Studio", "Location studio", 1)
        listings.append(Listing(f"{code}-{number}", title, kind, rooms, surface, int(price),
                                "location" if rental else "vente", city, postcode, quarter,
                                str(rng.randrange(2_300_000_000, 2_900_000_000))))
    return listings


# --------------------------------------------------------------------------- composed e-mails

@dataclass
class Composed:
    """An e-mail as its sender writes it, before addressing, dating and MIME encoding."""

    portal: str                          # portal id of the sender, "" when none
    sender: tuple[str, str]              # (display name, address)
    subject: str
    text: str
    html: str | None = None
    layout: str = "alternative"          # alternative | text | html
    charset: str = "utf-8"
    text_encoding: str = "quoted-printable"
    html_encoding: str = "quoted-printable"
    reply_to: tuple[str, str] | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    message_id_domain: str = ""
    mta: tuple[str, str] = ("", "")      # (host name, IP) of the sending server
    date_style: str = "plain"            # plain | comment | utc | utc-comment
    word_encoding: str = "Q"             # how its mailer writes non-ASCII headers
    partial_encoding: bool = False
    attachment: tuple[str, str, bytes] | None = None   # (filename, content type, data)
    # what a reader of this lead e-mail can recover about the prospect (the ground truth of
    # lead details): name, email, email_is_relay, phone (E.164), listing_reference
    details: dict[str, str | bool] = field(default_factory=dict)


PORTAL_NAMES = {"seloger": "SeLoger", "leboncoin": "leboncoin", "bienici": "Bien'ici",
                "logicimmo": "Logic-Immo", "pap": "PAP", "figaro": "Figaro Immobilier",
                "greenacres": "Green-Acres", "site-agence": "Site Internet"}
WEBSITE = "www.agence-exemple.fr"
WEBSITE_SENDER = "formulaire@agence-exemple.fr"


def _html(paragraphs: list[str], footer: str = "") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n"
            "<body style=\"font-family:Arial,sans-serif;font-size:14px\">\n"
            f"{body}\n<p style=\"color:#888;font-size:11px\">{footer}</p>\n</body></html>\n")


def html_lines(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>\n")


def _leboncoin(p: Prospect, li: Listing, message: str, rng: random.Random, newer: bool) -> Composed:
    relay = f"{rng.getrandbits(64):016x}-{rng.randrange(10**6):06d}@messagerie.leboncoin.fr"
    category = "locations" if li.transaction == "location" else "ventes_immobilieres"
    quoted = f"« {message or 'Bonjour, votre annonce m’intéresse.'} »"
    if newer:
        details = (f"Prénom : {p.first_name}\nNom : {p.last_name}\nE-mail : {p.email}\n"
                   f"Téléphone : {p.phone}\nVille : {p.city}\n")
        intro = f"{p.pseudo} vous a envoyé un message concernant votre annonce \"{li.title}\" :"
        link = f"https://www.leboncoin.fr/ad/{category}/{li.portal_id}"
    else:
        details = ""
        intro = f"Vous avez reçu un message de {p.pseudo} ({p.email}) au sujet de votre annonce « {li.title} » :"
        link = f"https://www.leboncoin.fr/{category}/{li.portal_id}.htm"
    text = (f"Bonjour,\n\n{intro}\n\n{quoted}\n\n{details}\nRéférence : {li.portal_id}\nLien : {link}\n\n"
            "Pour répondre, répondez simplement à cet e-mail : votre réponse sera transmise.\n\n"
            "L'équipe leboncoin\n")
    composed = Composed("leboncoin", (f"{p.pseudo} via leboncoin", relay),
                        f'Nouveau message pour "{li.title}" sur leboncoin', text,
                        _html([html_lines(block) for block in text.split("\n\n")], "leboncoin - 2026"),
                        message_id_domain="messagerie.leboncoin.fr",
                        mta=("mta-out-07.leboncoin.fr", "198.51.100.27"), date_style="utc-comment",
                        word_encoding="B")
    composed.details = {"name": p.full_name if newer else p.pseudo, "email": p.email, "email_is_relay": False,
                        "phone": e164(p.phone) if newer else "", "listing_reference": li.portal_id}
    return composed


def _seloger(p: Prospect, li: Listing, message: str, rng: random.Random) -> Composed:
    phone = p.phone if rng.random() < 0.8 else ""
    contact = f"E-mail : {p.email} (mailto:{p.email})\n"
    if phone:
        contact += f"Téléphone : {phone} (tel:{e164(phone)})\n"
    who = "Un locataire" if li.transaction == "location" else "Un acquéreur"
    text = (f"{who} est intéressé par un de vos biens\n\n{p.full_name} s'intéresse à ce bien :\n"
            f"{li.title}\n{li.kind} {li.rooms} pièces - {li.surface} m² - {li.city} ({li.postcode})\n"
            f"Prix : {li.price_text}\nRef. de l'annonce : {li.ref}\n\n"
            f"Son message :\n{message or '(pas de message)'}\n\nSes coordonnées :\n{contact}\n"
            "Répondez-lui rapidement : un acquéreur contacte en moyenne trois agences.\n\n"
            "--\nSeLoger - Service Relation Clients Pro : 01 53 42 56 00\n"
            "Du lundi au vendredi de 9h à 18h - https://www.seloger.com\n")
    tel = f'<br>Téléphone : <a href="tel:{e164(phone)}">{phone}</a>' if phone else ""
    html = _html([f"<b>{p.full_name}</b> s'intéresse à ce bien :",
                  f"{li.title}<br>Prix : {li.price_text}<br>Ref. de l'annonce : {li.ref}",
                  html_lines(message or "(pas de message)"),
                  f'E-mail : <a href="mailto:{p.email}">{p.email}</a>{tel}'],
                 "SeLoger - Service Relation Clients Pro : 01 53 42 56 00")
    # SeLoger sends its leads through its bulk-mail platform (a real lead, DOMAIN.md): a campaign
    # tool's List-Id and X-EMV-Platform, DKIM d=nmp1.com; an older share still from lead.seloger.com
    platform = rng.random() >= 0.25
    sender = "nouveau.contact@myselogerpro.nmp1.com" if platform else "contact@lead.seloger.com"
    who = "Un locataire" if li.transaction == "location" else "Un acquéreur"
    headers = [("List-Id", "<nouveau_contact.myselogerpro.nmp1.com>"), ("X-EMV-Platform", "nmp1"),
               ("DKIM-Signature", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=nmp1.com; s=nmp; h=from:to:subject; "
                                  "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==")] if platform else []
    composed = Composed("seloger", ("SeLoger-Logic" if platform else "SeLoger", sender),
                        f"{who} est intéressé par un de vos biens",
                        text, html, reply_to=(p.full_name, p.email),
                        html_encoding=rng.choice(["quoted-printable", "base64"]), headers=headers,
                        message_id_domain="myselogerpro.nmp1.com" if platform else "lead.seloger.com",
                        mta=("mta12.nmp1.com", "203.0.113.53") if platform else ("mail-out-3.seloger.com", "203.0.113.53"),
                        date_style="comment", word_encoding="Q")
    composed.details = {"name": p.full_name, "email": p.email, "email_is_relay": False,
                        "phone": e164(phone) if phone else "", "listing_reference": li.ref}
    return composed


def _bienici(p: Prospect, li: Listing, message: str, rng: random.Random) -> Composed:
    role = "locataire" if li.transaction == "location" else rng.choice(["acquéreur"] * 6 + ["vendeur"])
    city = li.city.upper()
    missed_call = rng.random() < 0.12
    if missed_call:
        subject = f"Appel manqué : contact prospect-{role} pour votre annonce {li.ref} à {city}"
        paragraphs = [f"Un prospect-{role} a essayé de vous joindre au sujet de votre annonce {li.ref}.",
                      f"Nom : {p.full_name}<br>Appel reçu sans réponse : rappelez-le au {p.phone}."]
    else:
        subject = f"Contact prospect-{role} pour votre annonce {li.ref} à {city}"
        paragraphs = [f"Vous avez reçu une demande de contact pour votre annonce <b>{li.title}</b> ({li.ref}).",
                      f"Nom : {p.full_name}<br>E-mail : {p.email}<br>Téléphone : {p.phone}",
                      f"Message : {html_lines(message or 'Aucun message.')}"]
    html = _html(paragraphs, "Bien'ici - l'immobilier nouvelle génération")
    text = "\n\n".join(paragraphs).replace("<br>", "\n").replace("<b>", "").replace("</b>", "")
    composed = Composed("bienici", ("Bien'ici", "noreply@bienici.com"), subject, text, html, layout="html",
                        reply_to=(p.full_name, p.email) if not missed_call else None,
                        message_id_domain="bienici.com", mta=("smtp-out.bienici.com", "198.51.100.81"),
                        date_style="utc", word_encoding="Q", partial_encoding=rng.random() < 0.5)
    composed.details = {"name": p.full_name, "email": "" if missed_call else p.email, "email_is_relay": False,
                        "phone": e164(p.phone), "listing_reference": li.ref}
    return composed


def _figaro(p: Prospect, li: Listing, message: str, rng: random.Random) -> Composed:
    luxury = li.price >= 900_000
    brand, host = ("Propriétés le Figaro", "proprietes.lefigaro.fr") if luxury else \
        ("Figaro Immobilier", "immobilier.lefigaro.fr")
    text = (f"Bonjour,\n\nUn internaute a consulté votre annonce et souhaite être recontacté.\n\n"
            f"Annonce : {li.ref} - {li.title}\nVille : {li.city}\nPrix : {li.price_text}\n\n"
            f"Nom : {p.last_name}\nPrénom : {p.first_name}\nEmail : {p.email}\nTéléphone : {p.phone}\n\n"
            f"Message :\n{message or '-'}\n\n{brand} - https://{host}\n")
    composed = Composed("figaro", (brand, f"contact@{host}"), f"{brand} vous adresse un contact - Annonce {li.ref}",
                        text, layout="text", text_encoding="8bit", reply_to=(p.full_name, p.email),
                        message_id_domain=host, mta=(f"mx-out.{host}", "203.0.113.120"), date_style="comment",
                        word_encoding="B")
    composed.details = {"name": p.full_name, "email": p.email, "email_is_relay": False,
                        "phone": e164(p.phone), "listing_reference": li.ref}
    return composed


def _greenacres(p: Prospect, li: Listing, message: str, rng: random.Random) -> Composed:
    relay = f"r.{rng.getrandbits(40):010x}@contact.green-acres.com"
    subject = (f"Demande d'information - {li.kind} - Achat - {li.city} ({li.postcode}) - "
               f"Réf. {li.ref} - {li.price_text}")
    text = (f"Bonjour,\n\nVous avez reçu une demande d'information via Green-Acres.\n\n"
            f"Annonce : {li.ref} - {li.kind} - {li.city}\nPrix : {li.price_text}\n\n"
            f"Contact :\nNom : {p.full_name}\nPays : {p.country}\nE-mail : {relay}\n"
            f"Téléphone : {p.phone}\n\nMessage :\n{message}\n\n"
            "Votre réponse à l'adresse ci-dessus sera transmise à l'acheteur.\nGreen-Acres\n")
    composed = Composed("greenacres", ("Green-Acres", "noreply@email.green-acres.com"), subject, text,
                        _html([html_lines(b) for b in text.split("\n\n")], "Green-Acres"),
                        text_encoding="8bit", reply_to=(p.full_name, relay),
                        message_id_domain="email.green-acres.com",
                        mta=("mta2.email.green-acres.com", "198.51.100.140"), word_encoding="Q")
    composed.details = {"name": p.full_name, "email": relay, "email_is_relay": True,
                        "phone": e164(p.phone), "listing_reference": li.ref}
    return composed


def _logicimmo(p: Prospect, li: Listing, message: str, rng: random.Random) -> Composed:
    text = (f"Bonjour,\n\nUn visiteur de Logic-Immo souhaite des informations sur votre annonce.\n\n"
            f"Annonce : {li.title}\nRéférence agence : {li.ref}\n\n"
            f"Coordonnées du visiteur :\n{p.full_name}\n{p.email}\n{p.phone}\n\nSon message :\n{message or '-'}\n\n"
            "Logic-Immo.com - votre espace professionnel\n")
    composed = Composed("logicimmo", ("Logic-Immo", "no-reply@logic-immo.com"),
                        f"Nouveau contact pour votre annonce {li.ref} - {li.kind} {li.rooms} pièces {li.city}",
                        text, _html([html_lines(b) for b in text.split("\n\n")], "Logic-Immo.com"),
                        text_encoding="base64", html_encoding="base64", reply_to=(p.full_name, p.email),
                        message_id_domain="logic-immo.com", mta=("out.mailer.logic-immo.com", "203.0.113.77"),
                        word_encoding="B")
    composed.details = {"name": p.full_name, "email": p.email, "email_is_relay": False,
                        "phone": e164(p.phone), "listing_reference": li.ref}
    return composed


def _pap(p: Prospect, li: Listing, message: str, rng: random.Random) -> Composed:
    text = (f"Bonjour,\n\nUn internaute a répondu à votre annonce PAP n° r{li.portal_id[:9]}.\n\n"
            f"{li.kind} {li.rooms} pièces - {li.surface} m² - {li.city}\n\n"
            f"Nom : {p.full_name}\nTéléphone : {p.phone}\nE-mail : {p.email}\n\nMessage :\n{message or '-'}\n\n"
            "PAP - De Particulier à Particulier\n")
    composed = Composed("pap", ("PAP.fr", "ne-pas-repondre@pap.fr"),
                        f"Réponse à votre annonce n° r{li.portal_id[:9]} : {li.kind} {li.rooms} pièces",
                        text, layout="text", charset="iso-8859-1", reply_to=(p.full_name, p.email),
                        message_id_domain="pap.fr", mta=("smtp2.pap.fr", "198.51.100.200"), word_encoding="Q")
    composed.details = {"name": p.full_name, "email": p.email, "email_is_relay": False,
                        "phone": e164(p.phone), "listing_reference": f"r{li.portal_id[:9]}"}
    return composed


def _website(p: Prospect, li: Listing, message: str, rng: random.Random, agency: str,
             attachment: bytes | None) -> Composed:
    civility = "Mme" if p.first_name in FIRST_NAMES_F else "M."
    text = (f"Nouvelle demande de contact depuis le site {WEBSITE}\n\nAgence : {agency}\n"
            f"Bien : {li.title}\nRéférence : {li.ref}\nPrix : {li.price_text}\n\n"
            f"Civilité : {civility}\nNom : {p.last_name}\nPrénom : {p.first_name}\nE-mail : {p.email}\n"
            f"Téléphone : {p.phone}\nSouhaite être rappelé(e) : {rng.choice(['oui', 'non'])}\n\n"
            f"Message :\n{message or '-'}\n\n--\nFormulaire https://{WEBSITE}/annonce/{li.ref.lower()}\n")
    composed = Composed("site-agence", ("Site Agence Exemple", WEBSITE_SENDER),
                        f"Demande de contact - {li.title} ({li.ref})", text, layout="text",
                        reply_to=(p.full_name, p.email), message_id_domain=WEBSITE,
                        mta=("web1.agence-exemple.fr", "192.0.2.10"), word_encoding="B")
    composed.details = {"name": p.full_name, "email": p.email, "email_is_relay": False,
                        "phone": e164(p.phone), "listing_reference": li.ref}
    if attachment:
        composed.text += "\nPièce jointe : dossier.pdf\n"
        composed.attachment = ("dossier.pdf", "application/pdf", attachment)
    return composed


# Untrusted strings a report must show as text, never run: a lead whose portal's new template
# (format drift) writes markup into its subject and a javascript: link into its HTML body.
HOSTILE_SUBJECT = '<script>alert("subject")</script>'
HOSTILE_LINK = "<a href=\"javascript:alert('link')\">voir l'annonce</a>"


def make_hostile(composed: Composed) -> None:
    """Turn a lead's e-mail into one with hostile strings (same sender, body text and details):
    the subject names the prospect and carries ``HOSTILE_SUBJECT``; the HTML body gets
    ``HOSTILE_LINK`` before its footer."""
    composed.subject = f"Nouvelle demande de contact de {composed.details['name']} {HOSTILE_SUBJECT}"
    html = composed.html or html_lines(composed.text)
    footer = html.rfind("<p style=\"color:#888")
    at = footer if footer >= 0 else html.rfind("</body>")
    composed.html = html[:at] + f"<p>{HOSTILE_LINK}</p>\n" + html[at:] if at >= 0 else html + HOSTILE_LINK
    if composed.layout == "text":
        composed.layout = "alternative"


def compose_lead(portal: str, prospect: Prospect, listing: Listing, rng: random.Random, *,
                 agency: str, newer_template: bool = True, message: str | None = None,
                 attachment: bytes | None = None) -> Composed:
    """The e-mail that ``portal`` sends an agency when ``prospect`` asks about ``listing``."""
    if message is None:
        pool = LEAD_MESSAGES_EN if prospect.language == "en" else (
            LEAD_MESSAGES_RENT if listing.transaction == "location" else LEAD_MESSAGES_SALE)
        message = rng.choice(pool)
    if portal == "leboncoin":
        return _leboncoin(prospect, listing, message, rng, newer_template)
    if portal == "site-agence":
        return _website(prospect, listing, message, rng, agency, attachment)
    return {"seloger": _seloger, "bienici": _bienici, "figaro": _figaro, "greenacres": _greenacres,
            "logicimmo": _logicimmo, "pap": _pap}[portal](prospect, listing, message, rng)


# --------------------------------------------------------------------------- non-leads

MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"]
DAYS_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]

NEWSLETTERS = [  # (portal, display name, sender, subjects)
    ("leboncoin", "leboncoin", "newsletter@news.leboncoin.fr",
     ["Boostez la visibilité de vos annonces immobilières", "Nouveau : l'estimation en ligne pour vos mandats",
      "Les tendances du marché immobilier en {month}"]),
    ("seloger", "SeLoger Pro", "newsletter@news.seloger.com",
     ["La lettre des pros de l'immobilier - {month}", "Webinar : réussir ses estimations en 2026"]),
    ("logicimmo", "Logic-Immo Pro", "newsletter@news.logic-immo.com",
     ["Logic-Immo Pro : les nouveautés de {month}"]),
    ("figaro", "Figaro Immobilier", "newsletter@news.lefigaro.fr",
     ["Le marché immobilier de luxe - {month}"]),
    ("greenacres", "Green-Acres", "news@news.green-acres.com",
     ["Green-Acres : vos acheteurs internationaux en {month}"]),
]
SPAM = [("Service Livraison", "suivi@colis-relais-express.top", "Votre colis est en attente de livraison"),
        ("Gagnant", "promo@win-prize-now.xyz", "Félicitations ! Vous avez été sélectionné"),
        ("Growth Immo", "contact@leads-immo-pro.biz", "Augmentez vos mandats de 300 % en 30 jours"),
        ("Comptabilité", "facturation@secure-docs-invoice.info", "Facture impayée n° 2026-8841"),
        ("Crypto Invest", "info@crypto-double.click", "Doublez votre capital en 7 jours"),
        ("Microsoft 365", "no-reply@m365-account-verify.online",
         "Action requise : votre boîte aux lettres est pleine")]
COLLEAGUES = ["Claire Moreau", "Julien Faure", "Sophie Garnier", "Marc Lemaire", "Nadia Benali"]
INTERNAL_SUBJECTS = ["Planning des visites de samedi", "Compromis {ref} : signature jeudi chez le notaire",
                     "Réunion réseau lundi 9h", "Clés du {ref}", "Congés d'été - planning"]


def french_date(moment: dt.datetime, *, gmail: bool = False) -> str:
    """``jeudi 12 mars 2026 18:04`` (Outlook) or ``jeu. 12 mars 2026 à 18:04`` (Gmail)."""
    day, month = DAYS_FR[moment.weekday()], MONTHS_FR[moment.month - 1]
    if gmail:
        short = month if len(month) <= 4 else month[:4].rstrip("e") + "."
        return f"{day[:3]}. {moment.day} {short} {moment.year} à {moment:%H:%M}"
    return f"{day} {moment.day} {month} {moment.year} {moment:%H:%M}"


def compose_favourite(listing: Listing) -> Composed:
    text = (f"Bonne nouvelle !\n\nUn utilisateur a ajouté votre annonce « {listing.title} » à ses favoris.\n\n"
            f"Référence : {listing.portal_id}\nPensez à mettre votre annonce à jour pour la garder en tête "
            "des résultats.\n\nL'équipe leboncoin\n")
    return Composed("leboncoin", ("leboncoin", "no-reply@leboncoin.fr"),
                    f'Un nouveau contact pour "{listing.title}" sur leboncoin', text,
                    _html([html_lines(b) for b in text.split("\n\n")]), message_id_domain="leboncoin.fr",
                    mta=("mta-out-02.leboncoin.fr", "198.51.100.22"), date_style="utc-comment", word_encoding="B")


def compose_portal_notice(portal: str, listing: Listing, moment: dt.datetime, rng: random.Random) -> Composed:
    """An "annonce publiée" or statistics notice from SeLoger or Bien'ici."""
    month = MONTHS_FR[moment.month - 1]
    if portal == "seloger":
        sender, name = "noreply@pro.seloger.com", "SeLoger Pro"
        subject = rng.choice([f"Votre annonce {listing.ref} est en ligne sur SeLoger",
                              "Vos statistiques SeLoger de la semaine"])
    else:
        sender, name = "noreply@bienici.com", "Bien'ici"
        subject = rng.choice([f"Votre annonce {listing.ref} a été publiée sur Bien'ici",
                              f"Bien'ici - les statistiques de vos annonces en {month}"])
    views = rng.randrange(40, 900)
    text = (f"Bonjour,\n\n{subject}.\n\nAnnonce : {listing.title} ({listing.ref})\n"
            f"Vues cette semaine : {views}\nContacts : {rng.randrange(0, 6)}\n\nL'équipe {name}\n")
    return Composed(portal, (name, sender), subject, text, _html([html_lines(b) for b in text.split("\n\n")]),
                    layout="html" if portal == "bienici" else "alternative",
                    message_id_domain=sender.split("@")[1], mta=(f"notify.{sender.split('@')[1]}", "198.51.100.90"),
                    date_style="utc" if portal == "bienici" else "comment", word_encoding="Q")


def compose_newsletter(moment: dt.datetime, rng: random.Random) -> Composed:
    portal, name, sender, subjects = rng.choice(NEWSLETTERS)
    subject = rng.choice(subjects).format(month=MONTHS_FR[moment.month - 1])
    domain = sender.split("@")[1]
    token = f"{rng.getrandbits(64):016x}"
    text = (f"{subject}\n\nDécouvrez nos conseils et nouveautés du mois pour développer votre activité.\n\n"
            f"Pour ne plus recevoir nos e-mails : https://{domain}/u/{token}\n")
    return Composed(portal, (name, sender), subject, text, _html([html_lines(b) for b in text.split("\n\n")]),
                    layout=rng.choice(["alternative", "html"]), html_encoding="base64",
                    headers=[("List-Unsubscribe",
                              f"<https://{domain}/u/{token}>, <mailto:unsubscribe-{token}@{domain}>"),
                             ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"), ("Precedence", "bulk"),
                             ("List-Id", f"<pros.{domain}>")],
                    message_id_domain=domain, mta=(f"bulk{rng.randrange(1, 9)}.{domain}", "203.0.113.9"),
                    date_style="utc")


def compose_auto_reply(prospect: Prospect, listing: Listing, moment: dt.datetime, rng: random.Random) -> Composed:
    style = rng.randrange(4)
    back = moment + dt.timedelta(days=rng.randrange(3, 15))
    topic = f"RE: Votre demande pour {listing.title}"
    subject = [f"Réponse automatique : {topic}", "Absence du bureau", f"Out of Office: {topic}",
               f"Absente jusqu'au {back.day} {MONTHS_FR[back.month - 1]}"][style]
    headers = [("Auto-Submitted", "auto-replied")] if style != 1 else []
    if style in (1, 2) or rng.random() < 0.4:
        headers.append(("X-Autoreply", "yes"))
    text = (f"Bonjour,\n\nJe suis absent(e) jusqu'au {back.day} {MONTHS_FR[back.month - 1]} inclus avec un accès "
            "limité à mes e-mails. Je vous répondrai dès mon retour.\n\nCordialement,\n"
            f"{prospect.full_name}\n")
    return Composed("", (prospect.full_name, prospect.email), subject, text, layout="text",
                    headers=headers, message_id_domain=prospect.email.split("@")[1],
                    mta=(f"smtp.{prospect.email.split('@')[1]}", "192.0.2.77"), word_encoding="Q")


def compose_follow_up(lead_subject: str, lead_message_id: str, relay: tuple[str, str], agency_domain: str,
                      rng: random.Random) -> Composed:
    """A Green-Acres buyer answering the agency's reply to an earlier lead (not a new lead)."""
    reply_id = f"<{rng.getrandbits(64):016X}@{agency_domain}>"
    text = rng.choice(["Thank you for your quick answer. Could we visit on Saturday morning?",
                       "Merci pour votre réponse. Nous serons dans la région le mois prochain.",
                       "Thanks. Is the price negotiable? We could make an offer."])
    text += "\n\n> Bonjour, merci pour votre intérêt. Le bien est toujours disponible.\n"
    name, addr = relay
    return Composed("greenacres", (f"{name} via Green-Acres", addr), f"Re: RE: {lead_subject}", text,
                    layout="text", headers=[("In-Reply-To", reply_id), ("References", f"{lead_message_id} {reply_id}")],
                    message_id_domain="contact.green-acres.com", mta=("relay.green-acres.com", "198.51.100.141"),
                    word_encoding="Q")


UNKNOWN_PORTAL = ("Immo Nouveau", "contact@immo-nouveau.example")


def compose_unknown_portal_contact(prospect: Prospect, listing: Listing, rng: random.Random) -> Composed:
    """A contact request from a new portal the catalogue does not know yet: it looks like a lead
    (prospect's name, e-mail and phone) but no portal rule matches its sender."""
    name, sender = UNKNOWN_PORTAL
    domain = sender.split("@")[1]
    message = rng.choice(LEAD_MESSAGES_RENT if listing.transaction == "location" else LEAD_MESSAGES_SALE)
    text = (f"Bonjour,\n\nVous avez reçu un nouveau contact pour votre annonce {listing.ref} "
            f"({listing.title}, {listing.city}).\n\nNom : {prospect.full_name}\nE-mail : {prospect.email}\n"
            f"Téléphone : {prospect.phone}\n\nMessage :\n{message or '-'}\n\n"
            f"--\n{name} - la nouvelle plateforme des annonces immobilières\nhttps://www.{domain}\n")
    return Composed("", (name, sender), f"Nouveau contact pour votre annonce {listing.ref}", text,
                    _html([html_lines(block) for block in text.split("\n\n")], name),
                    reply_to=(prospect.full_name, prospect.email), message_id_domain=domain,
                    mta=(f"mail.{domain}", "203.0.113.171"), date_style="comment", word_encoding="Q")


def compose_spam(rng: random.Random) -> Composed:
    name, sender, subject = rng.choice(SPAM)
    text = f"{subject}\n\nCliquez ici pour continuer : http://{sender.split('@')[1]}/r/{rng.getrandbits(32):08x}\n"
    return Composed("", (name, sender), ("[SPAM] " if rng.random() < 0.5 else "") + subject, text,
                    _html([html_lines(text)]), layout=rng.choice(["html", "alternative"]),
                    message_id_domain=sender.split("@")[1], mta=("unknown", "203.0.113.250"), word_encoding="B")


def compose_internal(listing: Listing, colleague_domain: str, rng: random.Random) -> Composed:
    name = rng.choice(COLLEAGUES)
    address_ = strip_accents(name).lower().replace(" ", ".") + "@" + colleague_domain
    subject = rng.choice(INTERNAL_SUBJECTS).format(ref=listing.ref)
    text = f"Bonjour à tous,\n\n{subject} : merci de confirmer.\n\nBonne journée,\n{name.split()[0]}\n"
    return Composed("", (name, address_), subject, text, layout="text", message_id_domain=colleague_domain,
                    mta=("smtp.agence-exemple.fr", "192.0.2.25"), word_encoding="Q")


# --------------------------------------------------------------------------- mail software
# How servers and mail clients write what they add: dates, ids, Received headers, forwards.

PARIS = ZoneInfo("Europe/Paris")
PACIFIC = ZoneInfo("America/Los_Angeles")  # Gmail stamps its Received headers in Pacific time
UTC = dt.timezone.utc
FORWARD_NOTES = ["", "", "", "Pour info", "À traiter svp, merci !", "Nouveau contact, qui peut rappeler ?"]


def rfc_date(moment: dt.datetime, style: str = "plain") -> str:
    """An RFC 5322 date: Paris time (``comment`` adds ``(CET)``/``(CEST)``), ``utc``,
    ``utc-comment`` (``+0000 (UTC)``) or ``pacific`` (with its zone comment)."""
    if style.startswith("utc"):
        return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000") + (
            " (UTC)" if style == "utc-comment" else "")
    moment = moment.astimezone(PACIFIC if style == "pacific" else PARIS)
    text = moment.strftime("%a, %d %b %Y %H:%M:%S %z")
    return text if style == "plain" else f"{text} ({moment.tzname()})"


class Ids:
    """Message-IDs and queue ids, drawn from one random stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def hex(self, bits: int = 64) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def message_id(self, domain: str, when: dt.datetime) -> str:
        style = len(domain) % 3  # each sending domain keeps one style
        if style == 0:
            return f"<{self.hex(32)}-{self.hex(16)}-{self.hex(16)}-{self.hex(48)}@{domain}>"
        if style == 1:
            return f"<{int(when.timestamp())}.{self.hex(48)}@{domain}>"
        return f"<{when.astimezone(UTC):%Y%m%d%H%M%S}.{self.hex(40).upper()}@{domain}>"

    def queue_id(self) -> str:
        alphabet = "BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789"
        return "4" + "".join(self.rng.choice(alphabet) for _ in range(12))


def received(by: str, rcpt: str, when: dt.datetime, sender_host: tuple[str, str], ids: Ids) -> str:
    """One ``Received`` header as the receiving server writes it: ``google``, ``microsoft``, or
    the host name of a Postfix server."""
    host, ip = sender_host
    if by == "google":
        return (f"Received: from {host} ({host} [{ip}])\n        by mx.google.com with ESMTPS id "
                f"{ids.hex(48)}.{ids.hex(16)}\n        for <{rcpt}>\n        (version=TLS1_3 "
                f"cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\n        {rfc_date(when, 'pacific')}\n")
    if by == "microsoft":
        return (f"Received: from {host} ({ip}) by AM0PR02MB5473.eurprd02.prod.outlook.com\n"
                f" (2603:10a6:208:{ids.hex(16)}::15) with Microsoft SMTP Server (version=TLS1_2,\n"
                f" cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7386.19; {rfc_date(when, 'utc')}\n")
    return (f"Received: from {host} ({host} [{ip}])\n\tby {by} (Postfix) with ESMTPS id "
            f"{ids.queue_id()}\n\tfor <{rcpt}>; {rfc_date(when, 'comment')}\n")


def mailbox_delivery(provider: str, mailbox: str, when: dt.datetime, sender_host: tuple[str, str],
                     bounce_domain: str, ids: Ids) -> bytes:
    """The trace headers a mailbox provider (``google``, ``microsoft``, ``ovh``) puts on top of
    a message it delivers to ``mailbox``."""
    bounce = f"Return-Path: <bounce-{ids.hex(32)}@{bounce_domain}>\n"
    if provider == "google":
        top = (f"Delivered-To: {mailbox}\nReceived: by 2002:a05:6a10:{ids.hex(16)[:4]}:b0:{ids.hex(16)[:3]} "
               f"with SMTP id {ids.hex(40)};\n        {rfc_date(when, 'pacific')}\n" + bounce
               + received("google", mailbox, when - dt.timedelta(seconds=1), sender_host, ids))
    elif provider == "microsoft":
        top = received("microsoft", mailbox, when, sender_host, ids)
    else:
        top = bounce + f"Delivered-To: {mailbox}\n" + received("mx3.mail.ovh.net", mailbox, when, sender_host, ids)
    return top.encode()


def render_headers(pairs: list[tuple[str, HeaderValue]]) -> bytes:
    return b"".join(render_header(name, value) for name, value in pairs)


def spam_filter_headers(rng: random.Random) -> bytes:
    """What a SpamAssassin filter adds to a message it flags."""
    score = rng.randrange(80, 250) / 10
    return (f"X-Spam-Flag: YES\nX-Spam-Score: {score}\nX-Spam-Level: {'*' * int(score)}\n"
            f"X-Spam-Status: Yes, score={score} required=5.0\n\ttests=HTML_MESSAGE,RDNS_NONE,URIBL_BLACK\n").encode()


def insert_below_first_received(raw: bytes, headers: bytes) -> bytes:
    """``raw`` with ``headers`` inserted below its first Received header (the last hop's)."""
    start = raw.index(b"\nReceived: ") + 1
    header_end = re.compile(rb"\n(?![ \t])").search(raw, start)
    assert header_end is not None, "a message's headers end before its body"
    end = header_end.end()
    return raw[:end] + headers + raw[end:]


def forward_block(style: str, composed: Composed, sent_at: dt.datetime, to: list[str], cc: list[str]) -> str:
    """The original as a mail client quotes it below a forward, in that client's French layout:
    ``outlook-web``, ``outlook-desktop``, ``gmail``, ``apple`` or ``thunderbird``."""
    name, addr = composed.sender
    sender = f"{name} <{addr}>" if name else addr
    sent, to_text, cc_text = sent_at.astimezone(PARIS), ", ".join(to), ", ".join(cc)
    subject, text = composed.subject, composed.text.rstrip("\n")
    if style in ("outlook-web", "outlook-desktop"):
        separator = "________________________________" if style == "outlook-web" else "-----Message d'origine-----"
        head = (f"{separator}\nDe : {sender}\nEnvoyé : {french_date(sent)}\nÀ : {to_text}\n"
                + (f"Cc : {cc_text}\n" if cc else "") + f"Objet : {subject}\n")
        return f"{head}\n{text}\n"
    if style == "gmail":
        head = (f"---------- Forwarded message ---------\nDe : {sender}\nDate: {french_date(sent, gmail=True)}\n"
                f"Subject: {subject}\nTo: {'<' + to_text + '>' if '@' in to_text else to_text}\n"
                + (f"Cc: {cc_text}\n" if cc else ""))
        return f"{head}\n\n{text}\n"
    if style == "apple":
        utc_offset = sent.utcoffset()
        assert utc_offset is not None, "astimezone gives an aware time"
        offset = int(utc_offset.total_seconds() // 3600)
        lines = [f"De: {sender}", f"Objet: {subject}",
                 f"Date: {sent.day} {MONTHS_FR[sent.month - 1]} {sent.year} à {sent:%H:%M:%S} UTC+{offset}",
                 f"À: {to_text}", "", *text.split("\n")]
        return "Début du message réexpédié :\n\n" + "\n".join(f"> {line}".rstrip() for line in lines) + "\n"
    head = (f"\n-------- Message transféré --------\nSujet : \t{subject}\nDate : \t{rfc_date(sent)}\n"
            f"De : \t{sender}\nPour : \t{to_text}\n" + (f"Copie à : \t{cc_text}\n" if cc else ""))
    return f"{head}\n{text}\n"


def forward_message(style: str, *, sender: tuple[str, str], rcpt: str, when: dt.datetime, subject: str,
                    quoted: str = "", attached: bytes = b"", logo: bytes = b"", rng: random.Random,
                    ids: Ids) -> tuple[bytes, str]:
    """A forward written by a mail client ``style``: the original ``quoted`` inline (the text
    of :func:`forward_block`) or ``attached`` as ``message/rfc822``. Returns (bytes, Message-ID)."""
    outlook = style.startswith("outlook")
    name, mailbox = sender
    if outlook:
        message_id = f"<AM0PR02MB5473{ids.hex(64).upper()}@AM0PR02MB5473.eurprd02.prod.outlook.com>"
    elif style == "gmail":
        message_id = f"<CA+{ids.hex(128)}@mail.gmail.com>"
    else:
        message_id = f"<{ids.hex(32).upper()}-{ids.hex(16).upper()}-{ids.hex(48).upper()}@{mailbox.split('@')[1]}>"
    headers: list[tuple[str, HeaderValue]] = [
        ("From", address(name, mailbox)), ("To", rcpt),
        ("Subject", unstructured("Subject", ("TR: " if outlook else "Fwd: ") + subject,
                                 encoding="B" if style == "gmail" else "Q")),
        ("Date", rfc_date(when)), ("Message-ID", message_id)]
    if outlook:
        headers += [("Thread-Topic", unstructured("Thread-Topic", subject)),
                    ("Thread-Index", base64.b64encode(rng.randbytes(22)).decode()),
                    ("Accept-Language", "fr-FR, en-US"), ("Content-Language", "fr-FR"),
                    ("X-MS-Has-Attach", "yes" if attached or logo else ""), ("X-MS-TNEF-Correlator", "")]
    headers += {"outlook-desktop": [("X-Mailer", "Microsoft Outlook 16.0")],
                "apple": [("X-Mailer", "Apple Mail (2.3774.500.171.1.1)")],
                "thunderbird": [("User-Agent", "Mozilla Thunderbird")]}.get(style, [])
    note = rng.choice(FORWARD_NOTES)
    if attached:
        filename = strip_accents(subject)[:60].replace('"', "") + ".eml"
        body = multipart("mixed", [text_part(note or "\n"), message_part(attached, filename)], boundary(rng, "outlook"))
    else:
        text = (f"{note}\n\n" if note else "\n") + quoted
        body = text_part(text, transfer_encoding="8bit" if style == "thunderbird" else "quoted-printable")
        if style in ("outlook-web", "outlook-desktop", "gmail"):
            html = text_part(html_lines(text).replace(" :", "&nbsp;:"), "html")
            body = multipart("alternative", [body, html], boundary(rng, "outlook" if outlook else "gmail"))
        if logo:
            body = multipart("mixed", [body, binary_part(logo, "image/jpeg", "image001.jpg")], boundary(rng, "outlook"))
    return render_message(headers, body), message_id
