"""A mailbox on an IMAP server, read only: its URL, a session on it, its messages by UID.

URLs follow RFC 5092: ``imap://USER[;AUTH=MECH]@HOST[:PORT]/FOLDER``, the user and the folder
percent-encoded UTF-8 (``leads%40trk.example.net``); ``imaps://`` is the same over TLS from the
first byte (port 993). A folder name is sent to the server in modified UTF-7 (RFC 3501 5.1.3).
A session never changes the mailbox: the folder is opened with EXAMINE (read-only) and bodies
are fetched with ``BODY.PEEK[]``, which sets no ``\\Seen`` flag.

Secrets (the password, the OAuth2 token) go to the server and nowhere else: no message, log
line or exception of this module holds one (``_redacted`` guards the server's replies too).
What was read and where to resume is kept by the caller (``ingest/imap_read.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import imaplib
import re
import socket
import ssl
import subprocess
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ...errors import EmailtrackError, UsageError

SCHEMES = {"imap": 143, "imaps": 993}
STARTTLS = ("auto", "require", "never")   # imap:// only: use STARTTLS when offered, insist, never
TIMEOUT = 120.0            # seconds without a byte from the server before the connection counts as lost
TOKEN_TIMEOUT = 120.0      # seconds the token command may take

# what RFC 5092 leaves unencoded in a user name (achar) and in a folder name (bchar)
_USER_SAFE = "-._~!$'()*+,&="
_MAILBOX_SAFE = _USER_SAFE + ":@/"


def is_imap_url(text: str) -> bool:
    return text.lower().startswith(("imap://", "imaps://"))


@dataclass(frozen=True)
class MailboxUrl:
    """One folder of one account on one server. ``str()`` is its canonical URL (explicit port,
    lower-case host, no ``;AUTH``): the key of what was read of it, and the prefix of each
    message's ``source``."""

    scheme: str
    user: str
    host: str
    port: int
    folder: str
    auth: str | None = None          # the ;AUTH= mechanism asked for, upper case; None or "*": any

    @property
    def tls(self) -> bool:
        return self.scheme == "imaps"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = urllib.parse.quote(self.user, safe=_USER_SAFE)
        return f"{self.scheme}://{user}@{host}:{self.port}/{urllib.parse.quote(self.folder, safe=_MAILBOX_SAFE)}"

    def message(self, uidvalidity: int, uid: int) -> str:
        """The RFC 5092 URL of one message: ``…/FOLDER;UIDVALIDITY=v/;UID=n``."""
        return f"{self};UIDVALIDITY={uidvalidity}/;UID={uid}"


def parse_url(text: str) -> MailboxUrl:
    """The mailbox a URL names, or UsageError saying what is wrong with it. A password in the
    URL is refused (it would end up in shell histories and process lists), without echoing it."""
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"not an IMAP URL (imap://USER@HOST[:PORT]/FOLDER): {_shown(text)}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(f"not an IMAP URL (imap://USER@HOST[:PORT]/FOLDER): {_shown(text)}")
    if parts.password is not None:
        raise UsageError(f"{_shown(text)}: no password in the URL; set EMAILTRACK_IMAP_PASSWORD "
                         "(or EMAILTRACK_IMAP_TOKEN_COMMAND for OAuth2)")
    if parts.query or parts.fragment or "?" in text:
        raise UsageError(f"{_shown(text)}: an IMAP URL to read names a whole folder (no search, no fragment)")
    if not parts.hostname:
        raise UsageError(f"{_shown(text)}: no host")
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    user_part, _, auth = userinfo.partition(";")
    if auth and not auth.upper().startswith("AUTH="):
        raise UsageError(f"{_shown(text)}: after the user name only ;AUTH=MECHANISM is allowed")
    mechanism = urllib.parse.unquote(auth[5:]).upper() if auth else None
    user = urllib.parse.unquote(user_part, errors="strict")
    if not user:
        raise UsageError(f"{_shown(text)}: no user name (imap://USER@HOST/FOLDER; '@' in the user is %40)")
    path = parts.path.removeprefix("/")
    if ";" in path:
        raise UsageError(f"{_shown(text)}: an IMAP URL to read ends with the folder (no ;UIDVALIDITY, ;UID)")
    folder = urllib.parse.unquote(path, errors="strict").removesuffix("/") or "INBOX"
    return MailboxUrl(scheme, user, parts.hostname.lower(), port or SCHEMES[scheme], folder, mechanism)


def _shown(text: str) -> str:
    """A URL as it may be shown: whatever stands for a password replaced."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", text)


def utf7_folder(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapRefused(UsageError):
    """The server or the account refuses what is asked (authentication, folder, TLS): retrying
    will not help; a person must act (exit 2, as an unreadable input path)."""


class ConnectionLost(EmailtrackError):
    """The connection could not be made or broke off (exit 1): worth trying again."""


@dataclass(frozen=True)
class Credentials:
    """How to log in: a password, or a command printing an OAuth2 access token (XOAUTH2)."""
    password: str | None = field(default=None, repr=False)
    token_command: Sequence[str] | None = None


def run_token_command(command: Sequence[str], url: MailboxUrl) -> str:
    """The access token the command prints (its first line). Its stderr is left to the user's
    terminal or log; what it prints on stdout is the secret, never shown."""
    try:
        done = subprocess.run(list(command), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=TOKEN_TIMEOUT, check=False)
    except FileNotFoundError:
        raise ImapRefused(f"{url}: EMAILTRACK_IMAP_TOKEN_COMMAND: command not found: {command[0]}") from None
    except PermissionError:
        raise ImapRefused(f"{url}: EMAILTRACK_IMAP_TOKEN_COMMAND: not executable: {command[0]}") from None
    except subprocess.TimeoutExpired:
        raise ConnectionLost(f"{url}: EMAILTRACK_IMAP_TOKEN_COMMAND ran for more than "
                             f"{TOKEN_TIMEOUT:.0f} s without printing a token") from None
    if done.returncode != 0:
        raise ImapRefused(f"{url}: EMAILTRACK_IMAP_TOKEN_COMMAND failed (exit status {done.returncode}); "
                          "its own message, if any, is above")
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if not lines or not lines[0].strip():
        raise ImapRefused(f"{url}: EMAILTRACK_IMAP_TOKEN_COMMAND printed no token")
    return lines[0].strip()


_FETCHED_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class Session:
    """One logged-in connection with the folder examined (read-only). ``uidvalidity`` is the
    folder's. Raises ``ImapRefused`` for what a person must fix and ``ConnectionLost`` for what
    may pass."""

    def __init__(self, url: MailboxUrl, credentials: Credentials, *, starttls: str = "auto",
                 ca_file: Path | None = None, timeout: float = TIMEOUT) -> None:
        self.url = url
        self._secrets: list[str] = [credentials.password] if credentials.password else []
        self._imap: imaplib.IMAP4 | None = None
        context = ssl.create_default_context()
        if ca_file:
            context.load_verify_locations(cafile=str(ca_file))
        try:
            self._imap = self._connect(context, starttls, timeout)
            self._login(credentials)
            self.uidvalidity = self._examine()
        except BaseException:
            self.close()
            raise

    def _connect(self, context: ssl.SSLContext, starttls: str, timeout: float) -> imaplib.IMAP4:
        url = self.url
        with self._errors("connecting"):
            if url.tls:
                return imaplib.IMAP4_SSL(url.host, url.port, ssl_context=context, timeout=timeout)
            imap = imaplib.IMAP4(url.host, url.port, timeout=timeout)
        if starttls == "never":
            return imap
        if "STARTTLS" not in imap.capabilities:
            if starttls == "require":
                imap.shutdown()
                raise ImapRefused(f"{url}: the server does not offer STARTTLS, and --starttls require was given")
            return imap
        self._imap = imap
        with self._errors("starting TLS"):
            imap.starttls(ssl_context=context)
        return imap

    def _login(self, credentials: Credentials) -> None:
        imap, url = self._need(), self.url
        mechanism = url.auth if url.auth not in (None, "*") else None
        if credentials.token_command and mechanism in (None, "XOAUTH2"):
            token = run_token_command(credentials.token_command, url)
            self._secrets.append(token)
            answer = f"user={url.user}\x01auth=Bearer {token}\x01\x01".encode()
            self._secrets.append(base64.b64encode(answer).decode("ascii"))
            sent: list[bytes] = []

            def respond(challenge: bytes) -> bytes:
                # the first answer is the token; after a refusal the server sends its error as a
                # challenge and waits for an empty answer (RFC 7628 3.2.2)
                sent.append(challenge)
                return answer if len(sent) == 1 else b""
            with self._errors("logging in with XOAUTH2", refusal=True):
                imap.authenticate("XOAUTH2", respond)
            return
        if mechanism not in (None, "PLAIN", "LOGIN"):
            raise ImapRefused(f"{url}: ;AUTH={mechanism} is not supported (PLAIN, LOGIN, or XOAUTH2 with "
                              "EMAILTRACK_IMAP_TOKEN_COMMAND)")
        if mechanism == "XOAUTH2" or not credentials.password:
            raise ImapRefused(f"{url}: no credentials: set EMAILTRACK_IMAP_PASSWORD, or "
                              "EMAILTRACK_IMAP_TOKEN_COMMAND for OAuth2 (XOAUTH2)")
        password = credentials.password
        with self._errors("logging in", refusal=True):
            if "AUTH=PLAIN" in imap.capabilities and mechanism != "LOGIN":
                # PLAIN carries a UTF-8 password; LOGIN's quoted string is ASCII only in imaplib
                imap.authenticate("PLAIN", lambda _: f"\x00{url.user}\x00{password}".encode())
            else:
                imap.login(url.user, password)

    def _examine(self) -> int:
        imap = self._need()
        with self._errors("opening the folder", refusal=True):
            status, reply = imap.select(_quoted(utf7_folder(self.url.folder)), readonly=True)
            _, values = imap.response("UIDVALIDITY")
        if status != "OK":  # imaplib returns a NO (no such folder, no right to read it) as a value
            raise ImapRefused(f"{self.url}: the folder {self.url.folder!r} cannot be opened: "
                              f"{self._redacted(_text(reply))}")
        if not values or not values[0]:
            raise ImapRefused(f"{self.url}: the server gave the folder no UIDVALIDITY")
        return int(values[0])

    def uids_after(self, last_uid: int) -> list[tuple[int, int]]:
        """(UID, size in bytes) of the messages above ``last_uid``, in UID order."""
        imap = self._need()
        with self._errors("listing the messages"):
            status, data = imap.uid("FETCH", f"{last_uid + 1}:*", "(UID RFC822.SIZE)")
        if status != "OK":
            raise ConnectionLost(f"{self.url}: the server failed while listing the messages: "
                                 f"{self._redacted(_text(data))}")
        found = []
        for line in data:
            head = line[0] if isinstance(line, tuple) else line
            if not isinstance(head, bytes):
                continue
            uid, size = _FETCHED_UID.search(head), _SIZE.search(head)
            # "N:*" names the highest UID even when it is below N (RFC 3501 6.4.8)
            if uid and size and int(uid.group(1)) > last_uid:
                found.append((int(uid.group(1)), int(size.group(1))))
        return sorted(set(found))

    def fetch(self, uids: Sequence[int]) -> Iterator[tuple[int, bytes, str | None]]:
        """(UID, bytes, delivery line) of these messages, without marking them seen. The
        delivery line is the server's INTERNALDATE (when the message arrived) written as an mbox
        ``From `` line, so that a message without Date or Received header is dated as it would
        be from an mbox export. A message expunged meanwhile is simply not there."""
        if not uids:
            return
        imap = self._need()
        with self._errors("fetching messages"):
            status, data = imap.uid("FETCH", ",".join(str(uid) for uid in uids), "(UID INTERNALDATE BODY.PEEK[])")
        # NO [EXPUNGEISSUED]: some were expunged meanwhile, the others are there (RFC 5530)
        if status != "OK" and "EXPUNGEISSUED" not in _text(data):
            raise ConnectionLost(f"{self.url}: the server failed while fetching messages: "
                                 f"{self._redacted(_text(data))}")
        for line in data:
            if isinstance(line, tuple) and len(line) == 2:
                uid = _FETCHED_UID.search(line[0])
                if uid:
                    yield int(uid.group(1)), line[1], _delivery_line(line[0])

    def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            try:
                imap.shutdown()
            except OSError:
                pass

    def _need(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise ConnectionLost(f"{self.url}: not connected")
        return self._imap

    def _redacted(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text[:300]

    def _errors(self, doing: str, refusal: bool = False) -> _Translated:
        return _Translated(self, doing, refusal)


class _Translated:
    """Turns what imaplib, ssl and socket raise into ``ImapRefused`` or ``ConnectionLost``, one
    line naming the mailbox and never a secret (nor the original exception chained to it)."""

    def __init__(self, session: Session, doing: str, refusal: bool) -> None:
        self.session, self.doing, self.refusal = session, doing, refusal

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: object) -> Literal[False]:
        if exc is None or isinstance(exc, EmailtrackError) or not isinstance(exc, Exception):
            return False
        url = self.session.url
        detail = self.session._redacted(_reason(exc))
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise ImapRefused(f"{url}: the server's certificate is not trusted ({detail}); for a "
                              "self-signed server set EMAILTRACK_IMAP_CA_FILE") from None
        if isinstance(exc, UnicodeEncodeError):
            raise ImapRefused(f"{url}: the user name or password is not ASCII and the server offers no "
                              "AUTH=PLAIN to send it as UTF-8") from None
        if isinstance(exc, socket.gaierror):
            raise ImapRefused(f"{url}: unknown host ({detail})") from None
        if isinstance(exc, imaplib.IMAP4.abort) or isinstance(exc, OSError):
            raise ConnectionLost(f"{url}: connection lost while {self.doing} ({detail})") from None
        if isinstance(exc, imaplib.IMAP4.error):
            if self.refusal:
                raise ImapRefused(f"{url}: refused while {self.doing}: {detail}") from None
            raise ConnectionLost(f"{url}: the server failed while {self.doing}: {detail}") from None
        return False


_INTERNALDATE = re.compile(rb'INTERNALDATE "\s?(\d{1,2}-[A-Za-z]{3}-\d{4} \d\d:\d\d:\d\d [+-]\d{4})"')


def _delivery_line(head: bytes) -> str | None:
    """``From MAILER-DAEMON Thu Oct  1 04:16:47 2026`` (UTC, as mbox lines are read) from a
    FETCH response's INTERNALDATE, or None."""
    match = _INTERNALDATE.search(head)
    if not match:
        return None
    try:
        when = dt.datetime.strptime(match.group(1).decode("ascii"), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None
    utc = when.astimezone(dt.timezone.utc)
    return f"From MAILER-DAEMON {utc:%a %b} {utc.day:2d} {utc:%H:%M:%S %Y}"


def _text(reply: Sequence[object]) -> str:
    """The text lines of an imaplib reply, decoded."""
    lines = [line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line)
             for line in reply if isinstance(line, (bytes, str))]
    return " ".join(lines) or "no reason given"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    if text.startswith(("b'", 'b"')):  # imaplib passes the server's reply as bytes
        text = text[2:-1]
    return text or type(exc).__name__
