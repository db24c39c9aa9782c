"""Readable text out of a MIME message: the parts a person reads, decoded whatever they claim."""

from __future__ import annotations

import codecs
import html
import re
from email.message import Message
from typing import cast

MAX_TEXT_PART = 512 * 1024  # bytes of one text part that are decoded; the rest is not read
_CHARSET_ALIASES = {"ks_c_5601-1987": "cp949", "x-unknown": "cp1252", "unknown-8bit": "cp1252",
                    "iso-8859-8-i": "iso-8859-8", "x-user-defined": "cp1252", "ascii": "cp1252",
                    "us-ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030"}


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Bytes as text: the declared charset when it works, else UTF-8, else Windows-1252."""
    candidates = []
    if charset:
        name = charset.strip().strip('"').lower()
        name = _CHARSET_ALIASES.get(name, name)
        try:
            codecs.lookup(name)
            candidates.append(name)
        except LookupError:
            pass
    candidates += ["utf-8", "cp1252"]
    for name in candidates:
        try:
            return payload.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return payload.decode("utf-8", "replace")


def part_text(part: Message) -> str:
    """The decoded text of one leaf part (transfer encoding and charset undone)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # corrupt base64/QP: keep what can be read
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    if not isinstance(payload, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(payload[:MAX_TEXT_PART], charset).replace("\x00", "")


_BLOCK_TAGS = re.compile(r"(?is)<\s*(br|/p|p|/div|div|/tr|tr|/li|li|/h\d|h\d|/table|hr|/blockquote|blockquote)\b[^>]*>")
_DROP = re.compile(r"(?is)<\s*(script|style|head|title)\b.*?<\s*/\s*\1\s*>")
_TAG = re.compile(r"(?s)<[^>]*>")
_COMMENT = re.compile(r"(?s)<!--.*?-->")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n\s*\n(\s*\n)+")

# The expressions above, applied as they are, take quadratic time on markup that opens many
# tags, comments or scripts and never closes them (a minute for 100 KB of "<"): the functions
# below give the same result in linear time.
_DROP_NAMES = ("script", "style", "head", "title")
# Which name matched is told by the group's name: ignoring case, "<ſcript" (long s) and
# "<tıtle" (dotless i) open a "script" and a "title", so the matched text is no dictionary key.
_DROP_OPEN = re.compile(r"(?i)<\s*(?:(?P<script>script)|(?P<style>style)|(?P<head>head)|(?P<title>title))\b")
_DROP_CLOSE = {name: re.compile(r"(?i)<\s*/\s*(%s)\s*>" % name) for name in _DROP_NAMES}
_BACKREFERENCE = re.compile(r"(?i)(.*)\1")


def _closes(opening: str, closing: str) -> bool:
    r"""Whether ``\1`` (ignoring case) with group ``opening`` matches ``closing``: a back reference
    compares lower-cased characters, so "</ſcript>" closes "<ſcript>" but not "<script>"."""
    return len(opening) == len(closing) and _BACKREFERENCE.fullmatch(opening + closing) is not None


def _strip_comments(text: str) -> str:
    """``_COMMENT.sub("", text)``: past the first ``<!--`` that no ``-->`` follows, none does."""
    out, pos = [], 0
    while True:
        start = text.find("<!--", pos)
        end = text.find("-->", start + 4) if start >= 0 else -1
        if end < 0:
            break
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _drop_blocks(text: str) -> str:
    """``_DROP.sub(" ", text)``: an element whose closing tag is missing once is missing for
    every later opening too, so each closing tag is searched for past a point at most once."""
    out: list[str] = []
    unclosed: set[str] = set()
    pos = search = 0
    while True:
        opening = _DROP_OPEN.search(text, search)
        if opening is None:
            break
        name = opening.lastgroup or ""  # one of the four named groups always took part
        written = opening.group(name)
        key = written.lower()  # openings written alike in lower case are closed by the same tags
        closing = None if key in unclosed else _closing(text, name, written, opening.end())
        if closing is None:
            unclosed.add(key)
            search = opening.start() + 1
            continue
        out.append(text[pos:opening.start()])
        out.append(" ")
        pos = search = closing.end()
    out.append(text[pos:])
    return "".join(out)


def _closing(text: str, name: str, written: str, start: int) -> re.Match[str] | None:
    """The first closing tag of element ``name`` from ``start`` that closes ``written``."""
    pattern = _DROP_CLOSE[name]
    found = pattern.search(text, start)
    while found is not None and not _closes(written, found.group(1)):
        found = pattern.search(text, found.start() + 1)
    return found


def _sub_tags(pattern: re.Pattern[str], replacement: str, text: str) -> str:
    """``pattern.sub`` for a tag pattern ending in ``[^>]*>``: no match ends past the last ``>``,
    so the text after it is never searched (where every ``<`` would scan to the end)."""
    last = text.rfind(">")
    if last < 0:
        return text
    return pattern.sub(replacement, text[:last + 1]) + text[last + 1:]


def html_to_text(markup: str) -> str:
    """Visible text of an HTML body, one line per block, entities decoded."""
    text = _strip_comments(markup)
    text = _drop_blocks(text)
    text = _sub_tags(_BLOCK_TAGS, "\n", text)
    text = _sub_tags(_TAG, "", text)
    text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def subparts(payload: list[Message | str]) -> list[Message]:
    """The parts of a multipart's payload list: the feed parser attaches only ``Message``
    objects to a multipart (a ``str`` payload is a leaf's body, never inside the list)."""
    return cast(list[Message], payload)


def is_attachment(part: Message) -> bool:
    """A part with ``Content-Disposition: attachment`` or a file name (read from the raw
    headers: parsing their parameters is slow and fails on broken ones)."""
    disposition = str(part.get("Content-Disposition") or "").lower()
    if disposition.strip().startswith("attachment") or "filename" in disposition:
        return True
    return "name=" in str(part.get("Content-Type") or "").lower()


def text_parts(message: Message) -> tuple[str, str]:
    """(plain text, html) of the message body, not descending into attached messages."""
    plain: list[str] = []
    markup: list[str] = []
    stack = [message]
    while stack:
        part = stack.pop()
        ctype = part.get_content_type()
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list) and ctype != "message/rfc822":
                stack.extend(reversed(subparts(payload)))
            continue
        if ctype.startswith("message/") or (part is not message and is_attachment(part)):
            continue
        if ctype == "text/html":
            markup.append(part_text(part))
        elif ctype == "text/plain" or (part is message and part.get_content_maintype() == "text"):
            plain.append(part_text(part))
    return "\n".join(plain), "\n".join(markup)


def readable_text(message: Message) -> tuple[str, bool]:
    """The text a person reads (plain text, else HTML rendered to text), and whether it was HTML."""
    return readable_from(*text_parts(message))


def readable_from(plain: str, markup: str) -> tuple[str, bool]:
    """``readable_text`` of a message whose ``text_parts`` are ``(plain, markup)``."""
    if plain.strip():
        return plain.replace("\r\n", "\n").replace("\r", "\n"), False
    if markup.strip():
        return html_to_text(markup), True
    return "", False


def attached_messages(message: Message) -> list[Message]:
    """Messages attached as ``message/rfc822`` parts, outermost first."""
    found: list[Message] = []
    stack = [message]
    while stack:
        part = stack.pop()
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                found.append(payload[0])
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed(subparts(payload)))
    return found
