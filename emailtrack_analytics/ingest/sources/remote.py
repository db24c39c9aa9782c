"""Inputs named by an fsspec URL (``s3://bucket/exports/``): listed, sized and read where they are.

An ``ObjectPath`` stands for a local ``Path`` wherever the readers take one (``base.open_binary``,
``base.input_size``): the object's URL, which is its label, its ``source`` prefix and its ledger
key, and never holds a secret; the fsspec protocol and storage options to open its filesystem
with; its size and version (the ETag) as the listing gave them; and, once fetched, its bytes. It
holds no client: a Dask worker that unpickles one opens the filesystem itself, with the
credentials of its own environment (or the storage options given), so the workers need no
shared filesystem. A prefix is listed like a folder, recursively (``find``), a glob matches
objects, and a URL naming one object is that object.

Credentials come from where the filesystem's library looks for them (for ``s3://``: botocore's
environment variables, ``~/.aws`` profiles, instance roles), or from ``--storage-option
KEY=VALUE``; emailtrack reads none of them itself and shows none in a message. fsspec and the
protocol's implementation (``s3fs``) are optional dependencies: ``pip install
'emailtrack-analytics[s3]'``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from ...errors import UsageError

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_NOT_OBJECT_STORES = ("imap", "imaps")   # read by sources/imap.py
_GLOB = re.compile(r"[*?\[]")
READ_BUFFER = 4 * 1024 * 1024     # bytes fetched per request when an object is streamed
FETCH_WHOLE = 256 * 1024          # objects up to this size are fetched whole, many per request batch
_HIDDEN_SECRET = "***"
# storage options that hold a secret: scrubbed from every message that could quote them
_SECRET_OPTIONS = re.compile(r"secret|token|password|key|credential|sas|signature", re.IGNORECASE)
# what a listing gives that changes whenever an object's bytes do, in order of preference
_VERSION_FIELDS = ("ETag", "etag", "md5Hash", "content_md5", "VersionId", "generation",
                   "LastModified", "last_modified", "mtime", "updated", "modified")
_MODIFIED_FIELDS = ("LastModified", "last_modified", "mtime", "updated", "modified", "created")


def is_object_url(text: str) -> bool:
    """Whether an input names an object store (``s3://…``, ``gs://…``) rather than a local path
    or an IMAP mailbox."""
    match = _URL.match(text)
    return match is not None and match.group(1).lower() not in _NOT_OBJECT_STORES


@dataclass(frozen=True)
class ObjectPath:
    """One object of a store, as the readers see it (what ``Path`` is for a local file)."""

    url: str                                   # protocol://bucket/key: no secret in it
    protocol: str
    path: str                                  # the filesystem's own name for it (bucket/key)
    options: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    size: int = 0
    version: int | None = None                 # from the ETag: stands for a file's mtime_ns
    modified: float | None = None              # seconds since the epoch (a Postfix log's year)
    data: bytes | None = field(default=None, repr=False, compare=False)   # the bytes, once fetched
    # why its first bytes could not be fetched (twice) while its kind was told: its reader reports
    # it unreadable (quarantined, no ledger entry: the next run reads it again) rather than read
    # an mbox of unknown kind as one message
    failed: str | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return self.url

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.path).suffix

    def filesystem(self) -> Any:
        return _filesystem(self.protocol, self.options)

    def open(self, buffer: int = READ_BUFFER) -> io.BufferedReader:
        """The object's bytes as a buffered stream (seekable; each refill of the ``buffer`` is
        one ranged request, a larger read one request of its own), or its fetched bytes."""
        if self.failed is not None:
            raise OSError(self.failed)
        if self.data is not None:
            return io.BufferedReader(io.BytesIO(self.data))
        handle = self.filesystem().open(self.path, "rb", size=self.size, cache_type="none")
        return io.BufferedReader(handle, buffer)

    def loaded(self, data: bytes) -> ObjectPath:
        """The same object with its bytes: its readers need not fetch it again."""
        return replace(self, data=data)

    def unreadable(self, exc: BaseException) -> ObjectPath:
        """The same object, that its readers report unreadable for ``exc`` (no secret in it)."""
        return replace(self, failed=_problem(exc, self.options))


def storage_options(pairs: Iterable[str]) -> dict[str, Any]:
    """``--storage-option KEY=VALUE`` values as keyword arguments of the filesystem: ``true`` and
    ``false`` are booleans, whole numbers integers, anything else a string. UsageError for a
    pair without ``=``; the value is never quoted back (it may be a secret)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"--storage-option takes KEY=VALUE (e.g. endpoint_url=http://host:9000), "
                             f"not {key if sep else 'a value without ='}")
        value: Any = text
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        elif re.fullmatch(r"-?[1-9]\d{0,8}|0", text) and not _SECRET_OPTIONS.search(key):
            value = int(text)   # a count or a timeout; a secret of digits stays text, zeros and all
        options[key] = value
    return options


def _filesystem(protocol: str, options: tuple[tuple[str, Any], ...]) -> Any:
    """The fsspec filesystem (fsspec keeps one instance per protocol and options, per process)."""
    fsspec = _fsspec(protocol)
    try:
        return fsspec.filesystem(protocol, **dict(options))
    except ImportError as exc:
        raise UsageError(_missing_package(protocol, exc)) from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{protocol}://: unusable --storage-option: {_scrub(str(exc), options)}") from None


def _fsspec(protocol: str) -> Any:
    try:
        import fsspec  # type: ignore[import-untyped]  # fsspec ships no type information
    except ImportError as exc:
        raise UsageError(_missing_package(protocol, exc)) from None
    if protocol not in fsspec.available_protocols():
        raise UsageError(f"{protocol}:// is not a protocol fsspec knows (s3://, gs://, az://, …)")
    return fsspec


def _missing_package(protocol: str, exc: ImportError) -> str:
    if protocol in ("s3", "s3a"):
        return f"reading {protocol}:// needs s3fs: pip install 'emailtrack-analytics[s3]'"
    return f"reading {protocol}:// needs its fsspec implementation: {str(exc).splitlines()[0]}"


def clean_url(url: str) -> str:
    """``url`` without the password of its user part (``scheme://user:pw@host`` -> ``scheme://user@host``),
    removed whole even when it holds ``/`` or ``@`` (an AWS secret key often holds ``/``)."""
    match = _URL.match(url)
    at = _user_info_end(url)
    if match is None or at is None:
        return url
    user = url[match.end():at].split(":", 1)[0]
    return f"{url[:match.end()]}{user}@{url[at + 1:]}"


def _user_info_end(url: str) -> int | None:
    """The index of the ``@`` ending the user part of ``url`` (``scheme://user:secret@bucket/…``),
    or None. A bucket's or host's name holds no ``@`` nor ``:`` (but a port): a first segment
    holding ``@`` ends the user part at its last ``@``; one holding ``:`` that is no port starts a
    password that may run past ``/`` to the next ``@``."""
    match = _URL.match(url)
    if match is None:
        return None
    rest = url[match.end():]
    first = rest.split("/", 1)[0]
    if "@" in first:
        return match.end() + first.rindex("@")
    if ":" in first and not re.fullmatch(r"[^:]*:\d*", first):
        at = rest.find("@")
        return None if at < 0 else match.end() + at
    return None


def _scrub(text: str, options: Iterable[tuple[str, Any]]) -> str:
    """``text`` with the value of every secret storage option hidden."""
    for key, value in options:
        if _SECRET_OPTIONS.search(key) and isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, _HIDDEN_SECRET)
    return text


def _problem(exc: BaseException, options: Iterable[tuple[str, Any]] = ()) -> str:
    """A one-line reason for a failed listing or read, with no secret in it."""
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return ("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
                "or pass --storage-option anon=true for a public bucket")
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError") \
            or isinstance(exc, (ConnectionError, TimeoutError)):
        return f"cannot reach the endpoint: {exc}"
    text = str(exc) or name
    return _scrub(f"{text}" if isinstance(exc, OSError) else f"{name}: {text}", options).splitlines()[0][:300]


def list_objects(given: str, options: Mapping[str, Any] | None = None) -> list[ObjectPath]:
    """The objects ``given`` names: one object, every object under a prefix (recursively, in the
    order a folder's walk gives: each level's objects before its sub-prefixes, by name), or
    those a glob matches; hidden ones (a name part starting with ``.``) left out.

    Raises UsageError (exit 2) naming the URL when it names nothing (a missing object, prefix or
    bucket), cannot be listed (access denied, no credentials, the endpoint unreachable), or
    needs a package that is not installed.
    """
    label = clean_url(given)
    match = _URL.match(given)
    assert match is not None, given
    protocol = match.group(1).lower()
    if _user_info_end(given) is not None:
        # fsspec's stores read no credentials from the URL (s3fs takes `key:secret@bucket` for a
        # bucket's name): refused, with the secret left out of the message
        # (the URL is not quoted: where a password holding "@" and "/" ends cannot be told)
        raise UsageError(f"{protocol}://…: credentials in the URL are not read; give them in the environment "
                         "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) or with --storage-option")
    opts = tuple(sorted((options or {}).items()))
    fsspec = _fsspec(protocol)
    try:
        fs, root = fsspec.core.url_to_fs(given, **dict(opts))
    except ImportError as exc:
        raise UsageError(_missing_package(protocol, exc)) from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{label}: unusable --storage-option: {_scrub(str(exc), opts)}") from None
    is_glob = _GLOB.search(root) is not None
    try:
        if is_glob:
            found = {name: info for name, info in fs.glob(root, detail=True).items() if info.get("type") != "directory"}
            if not found:
                raise UsageError(f"input path not found: {label} (no object matches)")
        elif given.endswith("/"):
            # a prefix, as a folder is: what is under it, even when an object has the prefix's
            # own name (`exports` beside `exports/a.eml`)
            found = fs.find(root, detail=True)
            if not found and not fs.exists(root):
                raise FileNotFoundError(root)
        else:
            info = fs.info(root)
            found = {info["name"]: info} if info.get("type") == "file" else fs.find(root, detail=True)
    except UsageError:
        raise
    except FileNotFoundError as exc:
        raise UsageError(f"input path not found: {label} ({_problem(exc, opts)})") from None
    except PermissionError as exc:
        raise UsageError(f"input path not readable: {label} ({_problem(exc, opts)})") from None
    except Exception as exc:  # noqa: BLE001 - botocore's and aiohttp's errors are not OSErrors
        raise UsageError(f"cannot list {label}: {_problem(exc, opts)}") from None
    # what a glob's fixed leading part names is given on purpose: hidden parts in it are read
    base = _GLOB.split(root, 1)[0].rsplit("/", 1)[0] if is_glob else root
    objects = [ObjectPath(clean_url(fs.unstrip_protocol(name)), protocol, name, opts, int(info.get("size") or 0),
                          _version(info), _modified(info))
               for name, info in found.items() if _listed(name, info, base)]
    if found and not objects and is_glob:
        raise UsageError(f"input path not found: {label} (the objects it matches are folder markers or hidden)")
    return sorted(objects, key=lambda obj: _walk_order(obj.path))


def _listed(name: str, info: Mapping[str, Any], root: str) -> bool:
    """A real object: not a folder marker (``prefix/``), not hidden below the URL given (as a
    folder's walk passes over hidden files and folders, but reads a hidden one it is given)."""
    if info.get("type") == "directory" or name.endswith("/"):
        return False
    below = name[len(root):] if name.startswith(root) else name.split("/", 1)[-1]
    return not any(part.startswith(".") for part in below.split("/"))


def _walk_order(name: str) -> tuple[tuple[int, str], ...]:
    """The order ``os.walk`` reads a folder in: its files by name, then each sub-folder's."""
    parts = name.split("/")
    return (*((1, part) for part in parts[:-1]), (0, parts[-1]))


def _version(info: Mapping[str, Any]) -> int | None:
    """A number that changes whenever the object's bytes do (from its ETag), as a signed 64-bit
    integer (the ledger's ``mtime_ns`` column); None when the store gives nothing to tell."""
    for name in _VERSION_FIELDS:
        value = info.get(name)
        if value not in (None, ""):
            digest = hashlib.sha256(f"{name}={value}".encode()).digest()
            return int.from_bytes(digest[:8], "big", signed=True)
    return None


def _modified(info: Mapping[str, Any]) -> float | None:
    for name in _MODIFIED_FIELDS:
        value = info.get(name)
        if isinstance(value, dt.datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
    return None


def unread_maildir_files(objects: list[ObjectPath]) -> list[ObjectPath]:
    """``objects`` without those in a ``tmp/`` beside a ``cur/`` or ``new/``: a Maildir's
    deliveries in progress, which a local Maildir's reader leaves out too. The others of a
    Maildir under a URL are read as message files, each its own source (its URL)."""
    folders = {obj.path.rsplit("/", 2)[0] for obj in objects
               if obj.path.count("/") >= 2 and obj.path.rsplit("/", 2)[1] in ("cur", "new")}
    return [obj for obj in objects
            if not (obj.path.count("/") >= 2 and obj.path.rsplit("/", 2)[1] == "tmp"
                    and obj.path.rsplit("/", 2)[0] in folders)]


def fetch(objects: list[ObjectPath], head: int | None = None) -> list[bytes | BaseException]:
    """The bytes of each object (its first ``head`` bytes when given), fetched concurrently
    where the filesystem can (one batch of requests per filesystem): a failed object is its
    exception, in its place, and never fails the others."""
    out: list[bytes | BaseException] = [b""] * len(objects)
    groups: dict[tuple[str, tuple[tuple[str, Any], ...]], list[int]] = {}
    for index, obj in enumerate(objects):
        if obj.data is not None or obj.size == 0:
            data = obj.data or b""
            out[index] = data if head is None else data[:head]
        else:
            groups.setdefault((obj.protocol, obj.options), []).append(index)
    for (protocol, options), indexes in groups.items():
        try:
            fs = _filesystem(protocol, options)
            paths = [objects[index].path for index in indexes]
            # ranges, not ``cat``: ``cat`` asks whether each path exists first (a HEAD request each)
            ends = [None if head is None else min(head, objects[index].size) for index in indexes]
            results = fs.cat_ranges(paths, [0] * len(paths), ends, on_error="return")
        except Exception as exc:  # noqa: BLE001 - the readers report each object's error
            results = [exc] * len(indexes)
        for index, result in zip(indexes, results, strict=True):
            out[index] = result
    return out
