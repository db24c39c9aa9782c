"""Lead details: who the prospect is, as far as the lead email says.

Personal data (name, email, phone) lives in its own table (``lead_details``) so that it can be
purged or pseudonymised without touching volumes; it never goes to logs or default reports.

The phone number is taken only from where a prospect's number is written (a labelled field,
a ``tel:`` link, "rappelez-le au …", a contact block), never from free text: portal footers
carry the portal's own number ("Service Relation Clients Pro : 01 53 42 56 00").
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# Domains whose addresses stand for the prospect without being theirs (replies are relayed).
RELAY_DOMAINS = ("messagerie.leboncoin.fr", "contact.green-acres.com", "messagerie.lacentrale.fr",
                 "relay.seloger.com", "reply.bienici.com")


@dataclass
class LeadDetails:
    name: str | None = None
    email: str | None = None
    email_is_relay: bool = False
    phone: str | None = None           # E.164
    listing_reference: str | None = None
    message_length: int | None = None

    def found(self) -> bool:
        return any((self.name, self.email, self.phone, self.listing_reference))

    def as_row(self) -> dict:
        return asdict(self)


_LABEL = re.compile(r"^\s*[*•-]?\s*(?P<label>[^\W\d][\w'’ .-]{0,30}?)\s*\*?\s*:\s*\*?\s*(?P<value>.*?)\s*$", re.UNICODE)
_FIRST = re.compile(r"^(pr[ée]nom|first ?name|given name)$", re.I)
_LAST = re.compile(r"^(nom|nom de famille|last ?name|surname|family name)$", re.I)
_FULL = re.compile(r"^(nom complet|full ?name|name|identit[ée]|votre nom)$", re.I)
_EMAIL = re.compile(r"^(e-?mail|courriel|adresse (e-?mail|[ée]lectronique)|email address|mail)$", re.I)
_PHONE = re.compile(r"^(t[ée]l[ée]phone|t[ée]l\.?|tel|mobile|portable|phone|telephone|num[ée]ro de t[ée]l[ée]phone)$", re.I)
_REFERENCE = re.compile(r"^(r[ée]f(\.|[ée]rence)?( de l'annonce| annonce| agence| du bien)?|ref\. de l'annonce|"
                        r"r[ée]f[ée]rence de l'annonce|listing ref(erence)?)$", re.I)
_MESSAGE = re.compile(r"^(son message|message|votre message|commentaire|question)$", re.I)

_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_TEL_LINK = re.compile(r"tel:([+\d][\d .-]{6,})", re.I)
_MAILTO = re.compile(r"mailto:([\w.+'-]+@[\w-]+(?:\.[\w-]+)+)", re.I)
_PHONE_TEXT = re.compile(r"(?<![\w+])(\+\d{1,3}[ .]?\d(?:[ .-]?\d{1,4}){3,5}|0\d(?:[ .-]?\d{2}){4}|00\d{2}[ .]?\d(?:[ .-]?\d{1,4}){3,5})(?!\d)")
_CALL_BACK = re.compile(r"rappele[rz](?:-le|-la)? au\s+(\+?[\d][\d .-]{7,})", re.I)
_INTEREST = re.compile(r"^\s*(.{2,60}?) s'int[ée]resse [àa] (ce|votre) bien", re.I | re.M)
_MESSAGE_FROM = re.compile(r"(?:message de|from)\s+(.{2,60}?)\s*\(([\w.+'-]+@[\w.-]+)\)", re.I)
_SENT_YOU = re.compile(r"^\s*(.{2,60}?) vous a envoy[ée] un message", re.I | re.M)
_CONTACT_BLOCK = re.compile(r"^\s*(coordonn[ée]es( du (visiteur|prospect|contact))?|contact|ses coordonn[ée]es)\s*:\s*$", re.I)
_QUOTED = re.compile(r"«\s*(.+?)\s*»", re.S)
_SUBJECT_REFERENCE = [
    re.compile(r"r[ée]f\.?\s*:?\s*([A-Z0-9][\w/-]{2,})", re.I),
    re.compile(r"annonce\s+n°\s*([\w-]{3,})", re.I),
    re.compile(r"annonce\s+([A-Z0-9][\w/-]{2,})\s+(?:à|-|$)", re.I),
    re.compile(r"annonce\s+([A-Z0-9][\w/-]*\d[\w/-]*)", re.I),
    re.compile(r"\(([A-Z0-9][\w/-]*\d[\w/-]*)\)\s*$"),  # "Demande de contact - T3 (LYO2-1234)"
]


def normalise_phone(text: str, default_country: str = "33") -> str | None:
    """A phone number in E.164 (French numbers by default), or None when it is not one."""
    raw = text.strip()
    digits = re.sub(r"[^\d+]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("+"):
        number = "+" + re.sub(r"\D", "", digits)
        if number.startswith("+330"):
            number = "+33" + number[4:]
        return number if 8 <= len(number) - 1 <= 15 else None
    digits = re.sub(r"\D", "", digits)
    if len(digits) == 10 and digits.startswith("0"):
        return f"+{default_country}{digits[1:]}"
    return None


def is_relay(address: str | None) -> bool:
    if not address or "@" not in address:
        return False
    domain = address.rsplit("@", 1)[1].lower()
    return any(domain == d or domain.endswith("." + d) for d in RELAY_DOMAINS)


def _labelled(lines: list[str]) -> list[tuple[str, str, int]]:
    found = []
    for index, line in enumerate(lines):
        match = _LABEL.match(line)
        if match:
            found.append((match.group("label").strip().lower(), match.group("value"), index))
    return found


def _clean_value(value: str) -> str:
    value = re.sub(r"\((mailto|tel):[^)]*\)", "", value)
    return value.strip(" \t<>\"'")


def extract_details(body: str, subject: str, *, reply_to: tuple[str, str] | None = None,
                    sender_name: str | None = None, sender: str | None = None) -> LeadDetails:
    """Details of the prospect found in a lead email (the original, after unwrapping)."""
    details = LeadDetails()
    lines = body.replace("\r", "").split("\n")
    first = last = full = None
    for label, value, index in _labelled(lines):
        value = _clean_value(value)
        if _FIRST.match(label) and value and not first:
            first = value
        elif _LAST.match(label) and value and not last:
            last = value
        elif _FULL.match(label) and value and not full:
            full = value
        elif _EMAIL.match(label) and not details.email:
            address = _ADDRESS.search(value)
            details.email = address.group(0).lower() if address else None
        elif _PHONE.match(label) and not details.phone:
            details.phone = normalise_phone(value)
        elif _REFERENCE.match(label) and value and not details.listing_reference:
            details.listing_reference = value.split()[0].strip(".,;")
        elif _MESSAGE.match(label) and details.message_length is None:
            details.message_length = _message_length(value, lines[index + 1:])
    if first and last:
        details.name = f"{first} {last}"
    elif full:
        details.name = full
    elif last and " " in last:
        details.name = last
    text = "\n".join(lines)
    if not details.name:
        for pattern in (_INTEREST, _MESSAGE_FROM, _SENT_YOU):
            match = pattern.search(text)
            if match:
                details.name = match.group(1).strip(" *")
                if pattern is _MESSAGE_FROM and not details.email:
                    details.email = match.group(2).lower()
                break
    block = _contact_block(lines)
    if not details.email:
        mailto = _MAILTO.search(text)
        if mailto:
            details.email = mailto.group(1).lower()
        elif block.get("email"):
            details.email = block["email"]
        elif reply_to and reply_to[1]:
            details.email = reply_to[1].lower()
    if not details.phone:
        for pattern in (_TEL_LINK, _CALL_BACK):
            match = pattern.search(text)
            if match:
                details.phone = normalise_phone(match.group(1))
                break
        else:
            details.phone = block.get("phone")
    if not details.name:
        if block.get("name"):
            details.name = block["name"]
        elif reply_to and reply_to[0]:
            details.name = reply_to[0]
        elif sender_name and sender and is_relay(sender):
            details.name = re.sub(r"\s+via\s+\S+$", "", sender_name).strip() or None
    if not details.listing_reference:
        for pattern in _SUBJECT_REFERENCE:
            match = pattern.search(subject or "")
            if match:
                details.listing_reference = match.group(1).strip(".,;:)")
                break
    if details.message_length is None:
        # leboncoin quotes the message in « »; listing titles are quoted too, but shorter
        quotes = [q.group(1) for q in _QUOTED.finditer(text)]
        if quotes:
            details.message_length = len(max(quotes, key=len))
    details.email_is_relay = is_relay(details.email)
    return details


def _message_length(value: str, following: list[str]) -> int:
    """Length of a labelled message: the value, or the paragraph that follows the label."""
    if value:
        return len(value)
    paragraph = []
    for line in following:
        if not line.strip():
            if paragraph:
                break
            continue
        if _LABEL.match(line) and paragraph:
            break
        paragraph.append(line.strip())
    return len(" ".join(paragraph))


def _contact_block(lines: list[str]) -> dict:
    """Name, email and phone written one per line under a "Coordonnées :" heading."""
    for index, line in enumerate(lines):
        if not _CONTACT_BLOCK.match(line):
            continue
        found: dict = {}
        for item in lines[index + 1:index + 6]:
            item = item.strip()
            if not item:
                if found:
                    break
                continue
            if _LABEL.match(item):
                break
            address = _ADDRESS.fullmatch(item)
            if address:
                found.setdefault("email", item.lower())
            elif _PHONE_TEXT.fullmatch(item):
                found.setdefault("phone", normalise_phone(item))
            elif "name" not in found and not any(ch.isdigit() for ch in item):
                found["name"] = item
        return found
    return {}
