"""The workspace: find it, load ``emailtrack.toml``, validate it, resolve its paths.

Validation is strict because a typo in a config silently changes every figure of a
report: an unknown key, a duplicate id, an invalid regex, an address claimed twice or an
unknown time zone is refused with the file, the line and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, UsageError

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
    _raw: dict = field(default_factory=dict, repr=False, compare=False)

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
        path = Path(os.path.abspath(path))
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


# --------------------------------------------------------------------------- discovery

def find_workspace(directory: str | os.PathLike | None = None) -> Path:
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


def open_workspace(directory: str | os.PathLike | None = None) -> Workspace:
    """Find and load the workspace; raises UsageError / ConfigError."""
    return load_config(find_workspace(directory) / CONFIG_NAME)


# --------------------------------------------------------------------------- loading

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
    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = _Lines(text)

    def fail(self, table: str, index: int, key: str | None, message: str):
        label = table if key is None else key
        if table and key is not None:
            label = f"{table}[{index}].{key}" if table in _ARRAY_TABLES else f"{table}.{key}"
        raise ConfigError(self.path, self.lines.line(table, index, key), label, message)

    def table_keys(self, table: str, index: int, data: dict, allowed: set[str], required=()):
        for key in data:
            if key not in allowed:
                self.fail(table, index, key, f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in data:
                self.fail(table, index, None, f"missing required key '{key}'")

    def string(self, table, index, data, key, default=None, *, pattern=None, choices=None):
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

    def strings(self, table, index, data, key) -> tuple[str, ...] | None:
        if key not in data:
            return None
        value = data[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(table, index, key, "must be a list of non-empty strings")
        return tuple(v.strip() for v in value)

    def addresses(self, table, index, data, key) -> tuple[str, ...]:
        values = self.strings(table, index, data, key) or ()
        for value in values:
            if not _ADDRESS.match(value):
                self.fail(table, index, key, f"{value!r} is not an email address")
        return tuple(v.lower() for v in values)


_ARRAY_TABLES = {"points_of_sale", "portals", "tracked_addresses"}
_TOP_KEYS = {"workspace", "tracking"} | _ARRAY_TABLES


def load_config(path: Path) -> Workspace:
    """Parse and validate one ``emailtrack.toml``; every refusal names file, line and key."""
    path = Path(os.path.abspath(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, int(line.group(1)) if line else None, None,
                          f"not valid TOML: {exc}")
    v = _Validator(path, text)
    for key in data:
        if key not in _TOP_KEYS:
            v.fail("", 0, key, f"unknown table or key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    for key in _ARRAY_TABLES:
        if key in data and not isinstance(data[key], list):
            v.fail("", 0, key, f"must be written as [[{key}]] tables")

    ws = data.get("workspace", {})
    if not isinstance(ws, dict):
        v.fail("", 0, "workspace", "must be a [workspace] table")
    v.table_keys("workspace", 0, ws, {"name", "timezone", "database", "language", "retention_months"})
    timezone = v.string("workspace", 0, ws, "timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        v.fail("workspace", 0, "timezone", f"unknown time zone {timezone!r} (e.g. Europe/Paris)")
    database = Path(v.string("workspace", 0, ws, "database", DEFAULT_DATABASE))
    root = path.parent
    language = v.string("workspace", 0, ws, "language", "fr", choices=LANGUAGES)
    retention = ws.get("retention_months")
    if retention is not None and (isinstance(retention, bool) or not isinstance(retention, int) or retention < 1):
        v.fail("workspace", 0, "retention_months", "must be a whole number of months, at least 1")

    tracking = data.get("tracking", {})
    if not isinstance(tracking, dict):
        v.fail("", 0, "tracking", "must be a [tracking] table")
    v.table_keys("tracking", 0, tracking, {"domain"})
    tracking_domain = v.string("tracking", 0, tracking, "domain", pattern=_HOSTNAME)
    if tracking_domain is not None:
        tracking_domain = tracking_domain.lower()

    claimed: dict[str, str] = {}  # address -> what claims it

    def claim(table, index, key, address, owner):
        previous = claimed.get(address)
        if previous is not None and previous != owner:
            v.fail(table, index, key, f"{address} is already claimed by {previous}")
        claimed[address] = owner

    points: list[PointOfSale] = []
    for i, entry in enumerate(data.get("points_of_sale", [])):
        t = "points_of_sale"
        v.table_keys(t, i, entry, {"id", "name", "tracked_addresses", "mailboxes", "group"}, ["id"])
        pos_id = v.string(t, i, entry, "id", pattern=_SLUG)
        if any(p.id == pos_id for p in points):
            v.fail(t, i, "id", f"duplicate point of sale id {pos_id!r}")
        tracked = v.addresses(t, i, entry, "tracked_addresses")
        mailboxes = v.addresses(t, i, entry, "mailboxes")
        for address in tracked:
            claim(t, i, "tracked_addresses", address, f"point of sale {pos_id!r}")
        for address in mailboxes:
            if address in tracked:
                v.fail(t, i, "mailboxes", f"{address} is also one of its tracked_addresses")
            claim(t, i, "mailboxes", address, f"point of sale {pos_id!r}")
        points.append(PointOfSale(
            id=pos_id,
            name=v.string(t, i, entry, "name", pos_id),
            tracked_addresses=tracked,
            mailboxes=mailboxes,
            group=v.string(t, i, entry, "group"),
        ))

    from ..attribution.catalogue import builtin_portal_ids  # late: avoids an import cycle

    portals: list[PortalConfig] = []
    for i, entry in enumerate(data.get("portals", [])):
        t = "portals"
        v.table_keys(t, i, entry, {"id", "name", "kind", "senders", "subjects", "display_names", "domains",
                                   "body", "notifications", "extra_senders", "extra_domains"}, ["id"])
        portal_id = v.string(t, i, entry, "id", pattern=_SLUG)
        if any(p.id == portal_id for p in portals):
            v.fail(t, i, "id", f"duplicate portal id {portal_id!r}")
        lists = {key: v.strings(t, i, entry, key) for key in
                 ("senders", "extra_senders", "subjects", "display_names", "domains", "extra_domains",
                  "body", "notifications")}
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
        if portal_id not in builtin_portal_ids() and not any(
                lists[k] for k in ("senders", "extra_senders", "subjects", "domains", "extra_domains")):
            v.fail(t, i, None, f"new portal {portal_id!r} needs 'senders', 'domains' or 'subjects'")

        def lower(values):
            return tuple(s.lower() for s in values) if values is not None else None

        portals.append(PortalConfig(
            id=portal_id,
            name=v.string(t, i, entry, "name"),
            kind=v.string(t, i, entry, "kind", choices=PORTAL_KINDS),
            senders=lower(lists["senders"]),
            subjects=lists["subjects"],
            display_names=lists["display_names"],
            domains=lower(lists["domains"]),
            body=lists["body"],
            notifications=lists["notifications"],
            extra_senders=lower(lists["extra_senders"]),
            extra_domains=lower(lists["extra_domains"]),
        ))
    known_portals = builtin_portal_ids() | {p.id for p in portals}

    extra: list[TrackedAddress] = []
    for i, entry in enumerate(data.get("tracked_addresses", [])):
        t = "tracked_addresses"
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
        if distribution and pos_id is not None:
            v.fail(t, i, "point_of_sale",
                   "a distribution address serves several points of sale: leave point_of_sale out")
        if not distribution and pos_id is None:
            v.fail(t, i, None, "needs 'point_of_sale' (or 'distribution = true')")
        owner = "the distribution system" if distribution else f"point of sale {pos_id!r}"
        if any(e.address == address for e in extra):
            v.fail(t, i, "address", f"{address} is listed twice in [[tracked_addresses]]")
        claim(t, i, "address", address, owner)
        extra.append(TrackedAddress(address, pos_id, portal, distribution))

    return Workspace(
        root=root,
        config_path=path,
        name=v.string("workspace", 0, ws, "name", root.name),
        timezone=timezone,
        database=database if database.is_absolute() else root / database,
        language=language,
        retention_months=retention,
        points_of_sale=tuple(points),
        portals=tuple(portals),
        tracked_addresses=tuple(extra),
        tracking_domain=tracking_domain,
        _raw=data,
    )


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
