"""The workspace: find it, load ``emailtrack.toml``, validate it, resolve its paths.

Validation is strict because a typo in a config silently changes every figure of a
report: an unknown key, a duplicate id, an invalid regex, an address claimed twice or an
unknown time zone is refused with the file, the line and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeAlias, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, UsageError
from .catalogue import builtin_portal_ids

CONFIG_NAME = "emailtrack.toml"
DEFAULT_DATABASE = "data/emailtrack.duckdb"
DEFAULT_TIMEZONE = "Europe/Paris"
PORTAL_KINDS = ("portal", "website", "other")
LANGUAGES = ("fr", "en")

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$", re.I)


@dataclass(frozen=True)
class PointOfSale:
    id: str
    name: str
    tracked_addresses: tuple[str, ...] = ()
    mailboxes: tuple[str, ...] = ()
    group: str | None = None
    # who receives this point of sale's own report (`emailtrack report KIND --per-point-of-sale --send`)
    report_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortalConfig:
    """A ``[[portals]]`` entry as written: only the keys the user gave are not None."""

    id: str
    name: str | None = None
    kind: str | None = None
    senders: tuple[str, ...] | None = None
    subjects: tuple[str, ...] | None = None
    display_names: tuple[str, ...] | None = None
    domains: tuple[str, ...] | None = None
    body: tuple[str, ...] | None = None
    notifications: tuple[str, ...] | None = None
    extra_senders: tuple[str, ...] | None = None   # added to the catalogue's senders
    extra_domains: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TrackedAddress:
    """A tracked address with a meaning beyond "belongs to a point of sale"."""

    address: str
    point_of_sale: str | None = None
    portal: str | None = None
    distribution: bool = False


@dataclass(frozen=True)
class Workspace:
    root: Path
    config_path: Path
    name: str
    timezone: str
    database: Path
    language: str = "fr"
    retention_months: int | None = None   # `emailtrack purge` keeps this many months of personal data
    points_of_sale: tuple[PointOfSale, ...] = ()
    portals: tuple[PortalConfig, ...] = ()
    tracked_addresses: tuple[TrackedAddress, ...] = ()
    tracking_domain: str | None = None    # [tracking] domain: where the tracking service issues addresses
    _raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def point_of_sale(self, pos_id: str) -> PointOfSale | None:
        return next((p for p in self.points_of_sale if p.id == pos_id), None)

    def relative(self, path: Path) -> str:
        """A path as the contract's ``source`` shows it: relative to the workspace when inside."""
        # string operations: a Path per file cost 50 µs, a second for a folder of 20,000 messages
        text, root = os.path.abspath(path), str(self.root)
        prefix = root if root.endswith(os.sep) else root + os.sep
        if text.startswith(prefix) and os.path.isabs(root):
            return text[len(prefix):].replace(os.sep, "/")
        if text == root:
            return "."
        return Path(text).as_posix()


# --------------------------------------------------------------------------- discovery

def find_workspace(directory: str | os.PathLike[str] | None = None) -> Path:
    """The workspace folder: ``directory``, else ``$EMAILTRACK_WORKSPACE``, else the cwd."""
    from .. import settings  # late: settings imports errors only, but keep workspace import-light

    chosen = directory or settings.workspace_dir() or os.getcwd()
    root = Path(os.path.abspath(chosen))
    if not (root / CONFIG_NAME).is_file():
        how = "--workspace" if directory else (
            "$EMAILTRACK_WORKSPACE" if settings.workspace_dir() else "the current folder")
        raise UsageError(
            f"no workspace at {root} (from {how}): {CONFIG_NAME} not found; "
            f"create one with 'emailtrack init {chosen}'")
    return root


def open_workspace(directory: str | os.PathLike[str] | None = None) -> Workspace:
    """Find and load the workspace; raises UsageError / ConfigError."""
    return load_config(find_workspace(directory) / CONFIG_NAME)


# --------------------------------------------------------------------------- loading

# A TOML table as tomllib gives it: the values are what the user wrote, checked by _Validator.
_Table: TypeAlias = dict[str, Any]


class _Lines:
    """Maps (table, index, key) to the line where the key is written, for error messages."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')\s*=")

    def __init__(self, text: str):
        self.keys: dict[tuple[str, int, str | None], int] = {}
        counts: dict[str, int] = {}
        table, index = "", 0
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                table = header.group(2).strip()
                if header.group(1) == "[[":
                    counts[table] = counts.get(table, -1) + 1
                    index = counts[table]
                else:
                    index = 0
                self.keys.setdefault((table, index, None), number)
                continue
            key = self._KEY.match(line)
            if key:
                self.keys.setdefault((table, index, key.group(1).strip("\"'")), number)

    def line(self, table: str, index: int = 0, key: str | None = None) -> int | None:
        return self.keys.get((table, index, key)) or self.keys.get((table, index, None))


class _Validator:
    """Checks the tables of one ``emailtrack.toml``; every refusal names file, line and key."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = _Lines(text)
        self.claimed: dict[str, str] = {}  # address -> what claims it

    def fail(self, table: str, index: int, key: str | None, message: str) -> NoReturn:
        label = table if key is None else key
        if table and key is not None:
            label = f"{table}[{index}].{key}" if table in _ARRAY_TABLES else f"{table}.{key}"
        raise ConfigError(self.path, self.lines.line(table, index, key), label, message)

    def table_keys(self, table: str, index: int, data: _Table, allowed: set[str],
                   required: Sequence[str] = ()) -> None:
        for key in data:
            if key not in allowed:
                self.fail(table, index, key, f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in data:
                self.fail(table, index, None, f"missing required key '{key}'")

    @overload
    def string(self, table: str, index: int, data: _Table, key: str, default: str, *,
               pattern: re.Pattern[str] | None = None, choices: Sequence[str] | None = None) -> str: ...

    @overload
    def string(self, table: str, index: int, data: _Table, key: str, default: None = None, *,
               pattern: re.Pattern[str] | None = None, choices: Sequence[str] | None = None) -> str | None: ...

    def string(self, table: str, index: int, data: _Table, key: str, default: str | None = None, *,
               pattern: re.Pattern[str] | None = None, choices: Sequence[str] | None = None) -> str | None:
        if key not in data:
            return default
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(table, index, key, "must be a non-empty string")
        if pattern is not None and not pattern.match(value):
            self.fail(table, index, key, f"{value!r} is not a valid value")
        if choices is not None and value not in choices:
            self.fail(table, index, key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def required_string(self, table: str, index: int, data: _Table, key: str, *,
                        pattern: re.Pattern[str] | None = None) -> str:
        """``string`` of a key that ``table_keys`` already required."""
        value = self.string(table, index, data, key, pattern=pattern)
        if value is None:
            self.fail(table, index, None, f"missing required key '{key}'")
        return value

    def strings(self, table: str, index: int, data: _Table, key: str) -> tuple[str, ...] | None:
        if key not in data:
            return None
        value = data[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(table, index, key, "must be a list of non-empty strings")
        return tuple(v.strip() for v in value)

    def addresses(self, table: str, index: int, data: _Table, key: str) -> tuple[str, ...]:
        values = self.strings(table, index, data, key) or ()
        for value in values:
            if not _ADDRESS.match(value):
                self.fail(table, index, key, f"{value!r} is not an email address")
        return tuple(v.lower() for v in values)

    def claim(self, table: str, index: int, key: str, address: str, owner: str) -> None:
        """Refuses an address that two points of sale (or the distribution system) claim."""
        previous = self.claimed.get(address)
        if previous is not None and previous != owner:
            self.fail(table, index, key, f"{address} is already claimed by {previous}")
        self.claimed[address] = owner


_ARRAY_TABLES = {"points_of_sale", "portals", "tracked_addresses"}
_TOP_KEYS = {"workspace", "tracking"} | _ARRAY_TABLES
_PORTAL_LISTS = ("senders", "extra_senders", "subjects", "display_names", "domains", "extra_domains",
                 "body", "notifications")


def load_config(path: Path) -> Workspace:
    """Parse and validate one ``emailtrack.toml``; every refusal names file, line and key."""
    path = Path(os.path.abspath(path))
    text, data = _read_toml(path)
    v = _Validator(path, text)
    _check_top_level(v, data)
    ws = data.get("workspace", {})
    settings = _workspace_settings(v, ws)
    tracking_domain = _tracking_domain(v, data)
    points = _points_of_sale(v, data.get("points_of_sale", []))
    portals = _portals(v, data.get("portals", []))
    extra = _tracked_addresses(v, data.get("tracked_addresses", []), points, portals)
    root = path.parent
    database = Path(settings.database)
    return Workspace(
        root=root,
        config_path=path,
        name=v.string("workspace", 0, ws, "name", root.name),
        timezone=settings.timezone,
        database=database if database.is_absolute() else root / database,
        language=settings.language,
        retention_months=settings.retention_months,
        points_of_sale=tuple(points),
        portals=tuple(portals),
        tracked_addresses=tuple(extra),
        tracking_domain=tracking_domain,
        _raw=data,
    )


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and its TOML tables."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, int(line.group(1)) if line else None, None,
                          f"not valid TOML: {exc}") from exc


def _check_top_level(v: _Validator, data: _Table) -> None:
    for key in data:
        if key not in _TOP_KEYS:
            v.fail("", 0, key, f"unknown table or key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    for key in _ARRAY_TABLES:
        # `points_of_sale = [1]` is a list too, of values instead of tables
        if key in data and (not isinstance(data[key], list)
                            or not all(isinstance(entry, dict) for entry in data[key])):
            v.fail("", 0, key, f"must be written as [[{key}]] tables")


@dataclass(frozen=True)
class _WorkspaceSettings:
    """The ``[workspace]`` table's values but its name (checked last, as it always was)."""

    timezone: str
    database: str
    language: str
    retention_months: int | None


def _workspace_settings(v: _Validator, ws: Any) -> _WorkspaceSettings:
    if not isinstance(ws, dict):
        v.fail("", 0, "workspace", "must be a [workspace] table")
    v.table_keys("workspace", 0, ws, {"name", "timezone", "database", "language", "retention_months"})
    timezone = v.string("workspace", 0, ws, "timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        v.fail("workspace", 0, "timezone", f"unknown time zone {timezone!r} (e.g. Europe/Paris)")
    database = v.string("workspace", 0, ws, "database", DEFAULT_DATABASE)
    language = v.string("workspace", 0, ws, "language", "fr", choices=LANGUAGES)
    retention = ws.get("retention_months")
    if retention is not None and (isinstance(retention, bool) or not isinstance(retention, int) or retention < 1):
        v.fail("workspace", 0, "retention_months", "must be a whole number of months, at least 1")
    return _WorkspaceSettings(timezone, database, language, retention)


def _tracking_domain(v: _Validator, data: _Table) -> str | None:
    tracking = data.get("tracking", {})
    if not isinstance(tracking, dict):
        v.fail("", 0, "tracking", "must be a [tracking] table")
    v.table_keys("tracking", 0, tracking, {"domain"})
    domain = v.string("tracking", 0, tracking, "domain", pattern=_HOSTNAME)
    return domain.lower() if domain is not None else None


def _points_of_sale(v: _Validator, entries: list[_Table]) -> list[PointOfSale]:
    points: list[PointOfSale] = []
    t = "points_of_sale"
    for i, entry in enumerate(entries):
        v.table_keys(t, i, entry, {"id", "name", "tracked_addresses", "mailboxes", "group", "report_to"},
                      ["id"])
        pos_id = v.required_string(t, i, entry, "id", pattern=_SLUG)
        if any(p.id == pos_id for p in points):
            v.fail(t, i, "id", f"duplicate point of sale id {pos_id!r}")
        tracked = v.addresses(t, i, entry, "tracked_addresses")
        mailboxes = v.addresses(t, i, entry, "mailboxes")
        for address in tracked:
            v.claim(t, i, "tracked_addresses", address, f"point of sale {pos_id!r}")
        for address in mailboxes:
            if address in tracked:
                v.fail(t, i, "mailboxes", f"{address} is also one of its tracked_addresses")
            v.claim(t, i, "mailboxes", address, f"point of sale {pos_id!r}")
        points.append(PointOfSale(
            id=pos_id,
            name=v.string(t, i, entry, "name", pos_id),
            tracked_addresses=tracked,
            mailboxes=mailboxes,
            group=v.string(t, i, entry, "group"),
            # recipients, not addresses the point of sale receives leads on: never claimed
            report_to=v.addresses(t, i, entry, "report_to"),
        ))
    return points


def _portals(v: _Validator, entries: list[_Table]) -> list[PortalConfig]:
    portals: list[PortalConfig] = []
    t = "portals"
    for i, entry in enumerate(entries):
        v.table_keys(t, i, entry, {"id", "name", "kind", *_PORTAL_LISTS}, ["id"])
        portal_id = v.required_string(t, i, entry, "id", pattern=_SLUG)
        if any(p.id == portal_id for p in portals):
            v.fail(t, i, "id", f"duplicate portal id {portal_id!r}")
        lists = {key: v.strings(t, i, entry, key) for key in _PORTAL_LISTS}
        _check_portal_lists(v, i, lists)
        if portal_id not in builtin_portal_ids() and not any(
                lists[k] for k in ("senders", "extra_senders", "subjects", "domains", "extra_domains")):
            v.fail(t, i, None, f"new portal {portal_id!r} needs 'senders', 'domains' or 'subjects'")
        portals.append(PortalConfig(
            id=portal_id,
            name=v.string(t, i, entry, "name"),
            kind=v.string(t, i, entry, "kind", choices=PORTAL_KINDS),
            senders=_lower(lists["senders"]),
            subjects=lists["subjects"],
            display_names=lists["display_names"],
            domains=_lower(lists["domains"]),
            body=lists["body"],
            notifications=lists["notifications"],
            extra_senders=_lower(lists["extra_senders"]),
            extra_domains=_lower(lists["extra_domains"]),
        ))
    return portals


def _check_portal_lists(v: _Validator, i: int, lists: dict[str, tuple[str, ...] | None]) -> None:
    """Senders are addresses or ``@domain``, domains are written without ``@``, patterns compile."""
    t = "portals"
    for key in ("senders", "extra_senders"):
        for sender in lists[key] or ():
            if not (_ADDRESS.match(sender) or _DOMAIN.match(sender)):
                v.fail(t, i, key, f"{sender!r} is neither an address nor '@domain'")
    for key in ("domains", "extra_domains"):
        for domain in lists[key] or ():
            if not _DOMAIN.match("@" + domain):
                v.fail(t, i, key, f"{domain!r} is not a domain (write it without '@')")
    for key in ("subjects", "body", "notifications"):
        for pattern in lists[key] or ():
            try:
                re.compile(pattern)
            except re.error as exc:
                v.fail(t, i, key, f"invalid regex {pattern!r}: {exc}")


def _lower(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return tuple(s.lower() for s in values) if values is not None else None


def _tracked_addresses(v: _Validator, entries: list[_Table], points: list[PointOfSale],
                       portals: list[PortalConfig]) -> list[TrackedAddress]:
    known_portals = builtin_portal_ids() | {p.id for p in portals}
    extra: list[TrackedAddress] = []
    t = "tracked_addresses"
    for i, entry in enumerate(entries):
        v.table_keys(t, i, entry, {"address", "point_of_sale", "portal", "distribution"},
                     ["address"])
        address = v.addresses(t, i, entry, "address")[0]
        pos_id = v.string(t, i, entry, "point_of_sale")
        portal = v.string(t, i, entry, "portal")
        distribution = entry.get("distribution", False)
        if not isinstance(distribution, bool):
            v.fail(t, i, "distribution", "must be true or false")
        if pos_id is not None and not any(p.id == pos_id for p in points):
            v.fail(t, i, "point_of_sale", f"unknown point of sale {pos_id!r}")
        if portal is not None and portal not in known_portals:
            v.fail(t, i, "portal", f"unknown portal {portal!r}")
        _check_distribution(v, i, distribution, pos_id)
        owner = "the distribution system" if distribution else f"point of sale {pos_id!r}"
        if any(e.address == address for e in extra):
            v.fail(t, i, "address", f"{address} is listed twice in [[tracked_addresses]]")
        v.claim(t, i, "address", address, owner)
        extra.append(TrackedAddress(address, pos_id, portal, distribution))
    return extra


def _check_distribution(v: _Validator, i: int, distribution: bool, pos_id: str | None) -> None:
    """A tracked address is either a point of sale's or the distribution system's."""
    if distribution and pos_id is not None:
        v.fail("tracked_addresses", i, "point_of_sale",
               "a distribution address serves several points of sale: leave point_of_sale out")
    if not distribution and pos_id is None:
        v.fail("tracked_addresses", i, None, "needs 'point_of_sale' (or 'distribution = true')")


CONFIG_TEMPLATE = '''\
# emailtrack workspace. Relative paths resolve against this folder.
# Reference: docs/configuration.md

[workspace]
name = "{name}"
timezone = "Europe/Paris"            # days and months are cut in this zone
database = "data/emailtrack.duckdb"
# language = "fr"                    # report labels: fr | en
# retention_months = 24              # `emailtrack purge` erases personal data older than this

# The domain on which the tracking service issues tracked addresses: copies reaching an address
# of this domain (or of any tracked address's domain) that no point of sale claims are listed
# by `emailtrack status`.
# [tracking]
# domain = "track.example.net"

# One table per point of sale (agency, dealership). The id is a stable slug used everywhere.
# [[points_of_sale]]
# id = "lyon-2"
# name = "Agence Lyon 2e"
# tracked_addresses = ["lyon2@track.example.net"]   # addresses issued by the tracking service
# mailboxes = ["lyon2@agence-exemple.fr"]           # the point of sale's own addresses
# group = "Rhône"                                   # optional roll-up level
# report_to = ["direction.lyon2@agence-exemple.fr"] # who receives its own report (--per-point-of-sale --send)

# Your own lead sources (website form, ...), or corrections to a built-in portal by id
# (built-in: seloger, leboncoin, bienici, logicimmo, pap, figaro, greenacres, lacentrale,
#  autoscout24, paruvendu; see 'emailtrack portals').
# [[portals]]
# id = "site-agence"
# name = "Site Internet"
# kind = "website"                                  # portal | website | other
# senders = ["formulaire@agence-exemple.fr", "@mail.agence-exemple.fr"]
# subjects = ["^Demande de contact"]                # regexes, case-insensitive: lead templates

# A tracked address reserved for one portal of one point of sale:
# [[tracked_addresses]]
# address = "lyon2-seloger@track.example.net"
# point_of_sale = "lyon-2"
# portal = "seloger"

# The tracking copy sent by the multi-distribution system:
# [[tracked_addresses]]
# address = "reseau@track.example.net"
# distribution = true
'''
