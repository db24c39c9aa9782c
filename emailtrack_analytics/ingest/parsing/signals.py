"""Facts of a message's bytes that say which portal sent it, besides its From address.

Portals send through bulk-mail platforms (SeLoger's leads come from ``myselogerpro.nmp1.com``),
so the sender alone is never enough: attribution weighs these facts together (see
``attribution/engine.py``). Everything here depends on the bytes only.

Link hosts include the targets of redirect links, whose real address is hidden in the path or
the query of a tracking host, URL-encoded or base64-encoded: ``link.bienici.fr/lnk/…/<base64>``
decodes to a ``pro.bienici.com`` address.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.message import Message
from urllib.parse import unquote, urlsplit

from .body import is_attachment, part_text, subparts

MAX_LINK_TEXT = 256 * 1024    # characters of the bodies searched for links
MAX_URLS = 300                # links looked at per message
MAX_HOSTS = 40                # hosts kept per message
MAX_DEPTH = 3                 # redirect targets decoded inside redirect targets

# A URL runs up to white space, a quote or an angle bracket: linear, and what both markup
# (href="…") and text (<https://…>) end a URL with.
_URL = re.compile(r"(?:http|HTTP|Http)[sS]?://[^\s<>\"'\\]{1,2048}")
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}\.)+[a-z]{2,24}$")
_PIECES = re.compile(r"[/&;=?]")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_DKIM_TAG = re.compile(r"(?:^|;)\s*([di])\s*=\s*([^;\s]+)", re.IGNORECASE)


def domain_of(address: str | None) -> str | None:
    """The domain of an address, lower case; None when there is none."""
    if not address or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].strip().strip(">").lower().rstrip(".")
    return domain or None


def dkim_domains(values: list[str]) -> list[str]:
    """The ``d=`` domains and the domains of ``i=`` identities of DKIM-Signature headers.

    A signature's domain is a fact of who sent the message (or the platform that sent it for
    them), whether or not the signature still verifies after forwarding."""
    found: list[str] = []
    for value in values:
        flat = re.sub(r"\s+", "", value or "")[:4096]
        for _tag, content in _DKIM_TAG.findall(flat):
            domain = content.rsplit("@", 1)[-1].lower().strip(".")
            if _HOST.match(domain) and domain not in found:
                found.append(domain)
    return found


def list_id(value: str | None) -> str | None:
    """The identifier of a ``List-Id`` header (``"Name" <id.example.com>`` -> ``id.example.com``)."""
    if not value:
        return None
    match = re.search(r"<([^<>\s]{1,255})>", value)
    ident = (match.group(1) if match else value.strip()).lower()
    return ident[:255] or None


def url_host(url: str) -> str | None:
    """The host of an absolute http(s) URL, lower case, without port or credentials."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    return host if _HOST.match(host) else None


def _decoded_base64(token: str) -> str | None:
    """The text a base64 or base64url token decodes to, when it is text."""
    padded = token.rstrip("=")
    padded += "=" * (-len(padded) % 4)
    for alt in (b"-_", b"+/"):
        try:
            raw = base64.b64decode(padded.encode("ascii"), altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def redirect_targets(url: str, depth: int = MAX_DEPTH) -> list[str]:
    """The URLs hidden in ``url``'s path and query: URL-encoded (``?url=https%3A%2F%2F…``),
    base64 or base64url (``/lnk/…/aHR0cHM6Ly9…``), nested up to ``depth`` times."""
    if depth <= 0:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    hidden = parts.path + "&" + parts.query + "&" + parts.fragment
    if len(hidden) < 16:
        return found  # too short to hide an address
    for piece in _PIECES.split(hidden):
        if len(piece) < 12:
            continue
        candidates: list[str] = []
        text = piece
        for _ in range(3):  # doubly URL-encoded targets occur behind two trackers
            decoded = unquote(text)
            if decoded == text:
                break
            text = decoded
        candidates.append(text)
        for token in _B64_RUN.findall(piece):
            hidden_text = _decoded_base64(unquote(token))
            if hidden_text:
                candidates.append(hidden_text)
        for candidate in candidates:
            for inner in _URL.findall(candidate):
                if inner not in found:
                    found.append(inner)
                    found.extend(t for t in redirect_targets(inner, depth - 1) if t not in found)
    return found


def urls_in(text: str) -> list[str]:
    """Absolute http(s) URLs in a text or markup (entities in hrefs undone)."""
    text = text[:MAX_LINK_TEXT].replace("&amp;", "&")
    out: list[str] = []
    for url in _URL.findall(text):
        if url not in out:
            out.append(url)
            if len(out) >= MAX_URLS:
                break
    return out


def link_hosts(texts: list[str]) -> list[str]:
    """Hosts of the links in ``texts`` and of the redirect targets they hide, first seen first."""
    hosts: list[str] = []
    budget = MAX_LINK_TEXT
    for text in texts:
        if budget <= 0:
            break
        text = text[:budget]
        budget -= len(text)
        for url in urls_in(text):
            for candidate in [url, *redirect_targets(url)]:
                host = url_host(candidate)
                if host and host not in hosts:
                    hosts.append(host)
                    if len(hosts) >= MAX_HOSTS:
                        return hosts
    return hosts


def body_texts(message: Message) -> list[str]:
    """Every text part of the message, attached messages included (a forward as attachment
    carries the portal's links), as decoded text or markup."""
    texts: list[str] = []
    stack = [message]
    while stack:
        part = stack.pop()
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed(subparts(payload)))
            continue
        if part.get_content_maintype() != "text" or (part is not message and is_attachment(part)):
            continue
        texts.append(part_text(part))
    return texts
