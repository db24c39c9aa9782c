"""Lead details: who the prospect is, as far as the lead email says.

Personal data (name, email, phone) lives in its own table (``lead_details``) so that it can be
purged or pseudonymised without touching volumes; it never goes to logs or default reports.

The phone number is taken only from where a prospect's number is written (a labelled field,
a ``tel:`` link, "rappelez-le au …", a contact block), never from free text: portal footers
carry the portal's own number ("Service Relation Clients Pro : 01 53 42 56 00").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict

# Domains whose addresses stand for the prospect without being theirs (replies are relayed).
RELAY_DOMAINS = ("messagerie.leboncoin.fr", "contact.green-acres.com", "messagerie.lacentrale.fr",
                 "relay.seloger.com", "reply.bienici.com")


class LeadDetailsRow(TypedDict):
    """A ``lead_details`` row: the prospect's details of one stored copy."""

    name: str | None
    email: str | None
    email_is_relay: bool
    phone: str | None
    listing_reference: str | None
    message_length: int | None


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

    def as_row(self) -> LeadDetailsRow:
        return {"name": self.name, "email": self.email, "email_is_relay": self.email_is_relay,
                "phone": self.phone, "listing_reference": self.listing_reference,
                "message_length": self.message_length}


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
# "[^\S\n]*" rather than "\s*" after "^": the same matches (the group lies on one line), without
# crossing every blank line below each line start (quadratic on a body of empty lines).
_INTEREST = re.compile(r"^[^\S\n]*(.{2,60}?) s'int[ée]resse [àa] (ce|votre) bien", re.I | re.M)
_MESSAGE_FROM = re.compile(r"(?:message de|from)\s+(.{2,60}?)\s*\(([\w.+'-]+@[\w.-]+)\)", re.I)
_SENT_YOU = re.compile(r"^[^\S\n]*(.{2,60}?) vous a envoy[ée] un message", re.I | re.M)
_CONTACT_BLOCK = re.compile(r"^\s*(coordonn[ée]es( du (visiteur|prospect|contact))?|contact|ses coordonn[ée]es)\s*:\s*$", re.I)
_QUOTED = re.compile(r"«\s*(.+?)\s*»", re.S)
_SUBJECT_REFERENCE = [
    re.compile(r"r[ée]f\.?\s*:?\s*([A-Z0-9][\w/-]{2,})", re.I),
    re.compile(r"annonce\s+n°\s*([\w-]{3,})", re.I),
    re.compile(r"annonce\s+([A-Z0-9][\w/-]{2,})\s+(?:à|-|$)", re.I),
    re.compile(r"annonce\s+([A-Z0-9][\w/-]*\d[\w/-]*)", re.I),
    re.compile(r"\(([A-Z0-9][\w/-]*\d[\w/-]*)\)\s*$"),  # "Demande de contact - T3 (LYO2-1234)"
]


# --------------------------------------------------------------------------- linear-time matching
# _LABEL, _MESSAGE_FROM, _QUOTED and _ADDRESS, applied as regular expressions, backtrack
# quadratically (or worse) on long runs of spaces, "«" or word characters: a 50 KB body of
# spaces took minutes. The functions below return exactly what the expressions match, in
# linear time (tests/robustness/test_fuzz.py checks them against the expressions).

_BULLET_PREFIX = re.compile(r"\s*[*•-]?\s*")
_LABEL_TEXT = re.compile(r"[^\W\d][\w'’ .-]{0,30}")


class _Label:
    """What ``_LABEL.match`` gives: the ``label`` and ``value`` groups."""

    __slots__ = ("label", "value")

    def __init__(self, label: str, value: str):
        self.label, self.value = label, value

    def group(self, name: str) -> str:
        return self.label if name == "label" else self.value


def _label(line: str) -> _Label | None:
    r"""``_LABEL.match(line)`` for a line without ``\n``."""
    start = _run_end(_BULLET_PREFIX, line, 0)
    colon = line.find(":", start)
    if colon < 0:
        return None
    label = line[start:colon].rstrip()
    if label.endswith("*"):
        label = label[:-1].rstrip()
    if not _LABEL_TEXT.fullmatch(label):
        return None
    value = line[colon + 1:].lstrip()
    if value.startswith("*"):
        value = value[1:].lstrip()
    return _Label(label, value.rstrip())


def _run_end(pattern: re.Pattern[str], text: str, position: int) -> int:
    r"""Where a pattern that matches the empty string (``\s*``) stops matching from ``position``."""
    match = pattern.match(text, position)
    return match.end() if match else position


_LOCAL_RUN = re.compile(r"[\w.+'-]+")
_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")


def _find_address(text: str) -> str | None:
    """``_ADDRESS.search(text).group(0)``: the first run of local-part characters followed by
    ``@`` and a domain (a run without ``@`` after it is passed over once, not once per start)."""
    at = text.find("@")
    while at >= 0:
        domain = _DOMAIN.match(text, at + 1)
        if domain and at > 0 and _LOCAL_RUN.match(text[at - 1]):
            start = at - 1
            while start > 0 and _LOCAL_RUN.match(text[start - 1]):
                start -= 1
            return text[start:domain.end()]
        at = text.find("@", at + 1)
    return None


_KEYWORD_FROM = re.compile(r"message de|from", re.I)
_SPACE_RUN = re.compile(r"\s*")
_PAREN_ADDRESS = re.compile(r"\(([\w.+'-]+@[\w.-]+)\)")


class _FromScanner:
    """The white-space runs and ``(address)`` groups of one text, each read at most once."""

    def __init__(self, text: str):
        self.text = text
        self.length = len(text)
        self.space_ends: dict[int, int] = {}
        self.addresses: dict[int, str | None] = {}

    def after_space(self, position: int) -> int:
        found = self.space_ends.get(position)
        if found is None:
            previous = self.space_ends.get(position - 1)
            if previous is not None and self.text[position - 1].isspace():
                found = previous  # inside the same run as the position before
            else:
                found = _run_end(_SPACE_RUN, self.text, position)
            self.space_ends[position] = found
        return found

    def address_at(self, position: int) -> str | None:
        if position not in self.addresses:
            match = _PAREN_ADDRESS.match(self.text, position)
            self.addresses[position] = match.group(1) if match else None
        return self.addresses[position]

    def name_before_space(self, low: int, stop: int) -> int:
        """Where a name ending at ``stop`` ends once its trailing white space is left out."""
        while stop > low and self.text[stop - 1].isspace():
            stop -= 1
        return stop

    def after_whole_run(self, run_end: int, line_end: int) -> tuple[str, str] | None:
        """Names of 2 to 60 characters starting at the run's end, the shortest first; the name
        must be followed by white space and "(": only the "(" in reach are looked at."""
        text = self.text
        low, high = run_end + 2, min(run_end + 60, line_end)
        if low > high:
            return None
        paren = text.find("(", low, high + 1)
        while paren >= 0:
            address = self.address_at(paren)
            if address is not None:
                return text[run_end:self.name_before_space(low, paren)], address
            paren = text.find("(", paren + 1, high + 1)
        if high < self.length and text[high].isspace():  # a name ending in the run before a "("
            address = self.address_at(self.after_space(high))
            if address is not None:
                return text[run_end:self.name_before_space(low, high)], address
        return None

    def inside_run(self, end: int, run_end: int) -> tuple[str, str] | None:
        r"""A name of two white space characters inside the run, "(" right after the run; the
        run's latest two without a newline between them (a newline may end the run: "from   \n(a@b)"
        names the two spaces before it)."""
        address = self.address_at(run_end)
        if address is None:
            return None
        start = run_end - 2
        while start > end and "\n" in self.text[start:start + 2]:
            start -= 1
        return (self.text[start:start + 2], address) if start > end else None

    def after_keyword(self, end: int, run_end: int) -> tuple[str, str] | None:
        """The name and address after a keyword ending at ``end`` followed by white space to
        ``run_end``."""
        text = self.text
        newline = text.rfind("\n", end, run_end)
        first_start = max(end + 1, newline + 1)   # the name holds no newline
        line_end = text.find("\n", run_end)
        line_end = self.length if line_end < 0 else line_end
        found = self.after_whole_run(run_end, line_end)
        if found is not None:
            return found
        # the run one character short: a name of its last space and one character
        if run_end - 1 >= first_start and run_end + 1 <= line_end:
            address = self.address_at(self.after_space(run_end + 1))
            if address is not None:
                return text[run_end - 1:run_end + 1], address
        # two or more characters short
        return self.inside_run(end, run_end)


def _message_from(text: str) -> tuple[str, str] | None:
    r"""``_MESSAGE_FROM.search(text).groups()``.

    After the keyword, ``\s+`` is tried longest first and the name ``.{2,60}?`` shortest first.
    With the whitespace run taken whole, the name starts at its end; taken one or two characters
    short, the name starts with them, which finds only two more endings: just past the run's
    first character, and at the run's end (any other ending was tried with the run whole); at
    the run's end, the name is the latest two characters of the run without a newline.
    """
    scanner = _FromScanner(text)
    for keyword in _KEYWORD_FROM.finditer(text):
        end = keyword.end()
        run_end = scanner.after_space(end)
        if run_end == end:
            continue
        if text.find("(", run_end) < 0:
            return None  # no "(address)" after this keyword, nor after any later one
        found = scanner.after_keyword(end, run_end)
        if found is not None:
            return found
    return None


def _quoted(text: str) -> list[str]:
    """``[m.group(1) for m in _QUOTED.finditer(text)]``: a "«" without a "»" after it is
    passed over without searching the rest of the text again for each one."""
    found: list[str] = []
    position, unclosed_from = 0, None
    while True:
        start = text.find("«", position)
        if start < 0:
            return found
        inner = _run_end(_SPACE_RUN, text, start + 1)
        close = -1
        if unclosed_from is None or inner + 1 < unclosed_from:
            close = text.find("»", inner + 1)
            if close < 0:
                unclosed_from = inner + 1
        if close >= 0:
            stop = max(inner + 1, len(text[inner:close].rstrip()) + inner)
            found.append(text[inner:stop])
            position = close + 1
        elif inner < len(text) and text[inner] == "»" and inner > start + 1:
            found.append(text[inner - 1])
            position = inner + 1
        else:
            position = start + 1


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
    found: list[tuple[str, str, int]] = []
    for index, line in enumerate(lines):
        match = _label(line)
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
    details.name = _read_labels(lines, details).name()
    text = "\n".join(lines)
    if not details.name:
        _name_from_sentences(text, details)
    block = _contact_block(lines)
    if not details.email:
        email = _email_elsewhere(text, block, reply_to)
        if email is not None:
            details.email = email
    if not details.phone:
        details.phone = _phone_elsewhere(text, block)
    if not details.name:
        _name_elsewhere(details, block, reply_to, sender_name, sender)
    if not details.listing_reference:
        reference = _subject_reference(subject)
        if reference is not None:
            details.listing_reference = reference
    if details.message_length is None:
        # leboncoin quotes the message in « »; listing titles are quoted too, but shorter
        quotes = _quoted(text)
        if quotes:
            details.message_length = len(max(quotes, key=len))
    details.email_is_relay = is_relay(details.email)
    return details


@dataclass
class _LabelledNames:
    """The name fields of a form, each as first written."""

    first: str | None = None
    last: str | None = None
    full: str | None = None

    def name(self) -> str | None:
        if self.first and self.last:
            return f"{self.first} {self.last}"
        if self.full:
            return self.full
        if self.last and " " in self.last:
            return self.last
        return None


def _read_labels(lines: list[str], details: LeadDetails) -> _LabelledNames:
    """Fills ``details`` from the labelled fields ("Téléphone : …") of the body, the first of
    each kind; returns the name fields, which make one name together."""
    names = _LabelledNames()
    for label, value, index in _labelled(lines):
        value = _clean_value(value)
        if _FIRST.match(label) and value and not names.first:
            names.first = value
        elif _LAST.match(label) and value and not names.last:
            names.last = value
        elif _FULL.match(label) and value and not names.full:
            names.full = value
        elif _EMAIL.match(label) and not details.email:
            address = _find_address(value)
            details.email = address.lower() if address else None
        elif _PHONE.match(label) and not details.phone:
            details.phone = normalise_phone(value)
        elif _REFERENCE.match(label) and value and not details.listing_reference:
            details.listing_reference = value.split()[0].strip(".,;")
        elif _MESSAGE.match(label) and details.message_length is None:
            details.message_length = _message_length(value, lines[index + 1:])
    return names


def _name_from_sentences(text: str, details: LeadDetails) -> None:
    """The name a portal writes in a sentence ("X s'intéresse à ce bien", "message de X (x@y)",
    "X vous a envoyé un message"), the first sentence found; the email with it when given."""
    for pattern in (_INTEREST, _MESSAGE_FROM, _SENT_YOU):
        groups: tuple[str, ...] | None
        if pattern is _MESSAGE_FROM:
            groups = _message_from(text)
        else:
            match = pattern.search(text)
            groups = match.groups() if match else None
        if groups:
            details.name = groups[0].strip(" *")
            if pattern is _MESSAGE_FROM and not details.email:
                details.email = groups[1].lower()
            return


def _email_elsewhere(text: str, block: _ContactBlock,
                     reply_to: tuple[str, str] | None) -> str | None:
    """The prospect's email when no field gives it: a ``mailto:`` link, a contact block, Reply-To."""
    mailto = _MAILTO.search(text)
    if mailto:
        return mailto.group(1).lower()
    if block.get("email"):
        return block["email"]
    if reply_to and reply_to[1]:
        return reply_to[1].lower()
    return None


def _phone_elsewhere(text: str, block: _ContactBlock) -> str | None:
    """The prospect's phone when no field gives it: a ``tel:`` link, "rappelez-le au …", a
    contact block."""
    for pattern in (_TEL_LINK, _CALL_BACK):
        match = pattern.search(text)
        if match:
            return normalise_phone(match.group(1))
    return block.get("phone")


def _name_elsewhere(details: LeadDetails, block: _ContactBlock, reply_to: tuple[str, str] | None,
                    sender_name: str | None, sender: str | None) -> None:
    """The prospect's name when the body does not write it in a field or a sentence: a contact
    block, the Reply-To's display name, or a relay sender's display name ("X via Portal")."""
    if block.get("name"):
        details.name = block["name"]
    elif reply_to and reply_to[0]:
        details.name = reply_to[0]
    elif sender_name and sender and is_relay(sender):
        details.name = re.sub(r"\s+via\s+\S+$", "", sender_name).strip() or None


def _subject_reference(subject: str) -> str | None:
    """The listing reference written in the subject, by the first pattern that finds one."""
    for pattern in _SUBJECT_REFERENCE:
        match = pattern.search(subject or "")
        if match:
            return match.group(1).strip(".,;:)")
    return None


def _message_length(value: str, following: list[str]) -> int:
    """Length of a labelled message: the value, or the paragraph that follows the label."""
    if value:
        return len(value)
    paragraph: list[str] = []
    for line in following:
        if not line.strip():
            if paragraph:
                break
            continue
        if _label(line) and paragraph:
            break
        paragraph.append(line.strip())
    return len(" ".join(paragraph))


class _ContactBlock(TypedDict, total=False):
    name: str
    email: str
    phone: str | None


def _contact_block(lines: list[str]) -> _ContactBlock:
    """Name, email and phone written one per line under a "Coordonnées :" heading."""
    for index, line in enumerate(lines):
        if not _CONTACT_BLOCK.match(line):
            continue
        found: _ContactBlock = {}
        for item in lines[index + 1:index + 6]:
            item = item.strip()
            if not item:
                if found:
                    break
                continue
            if _label(item):
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
