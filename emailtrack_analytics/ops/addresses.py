"""``emailtrack addresses add``: issue a new tracked address and write it into ``emailtrack.toml``.

The file is edited with tomlkit so that the user's comments, order and layout stay as they
were: only the new address is added. Where it goes follows the configuration's own model:
an address for every portal joins the point of sale's ``tracked_addresses``; an address
reserved for one portal is a ``[[tracked_addresses]]`` entry with its ``point_of_sale`` and
``portal`` (the shape attribution already reads).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, Item, Table

from ..config.catalogue import merged_portals
from ..config.workspace import Workspace, load_config
from ..errors import UsageError

# no l, o, 0, 1: an address is read aloud and typed by hand into portals and mail clients
TOKEN_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
TOKEN_LENGTH = 6      # 32**6: about a billion, not guessable from the point of sale's id
ATTEMPTS = 20
_LOCAL_PART_MAX = 64  # RFC 5321


@dataclass(frozen=True)
class IssuedAddress:
    address: str
    point_of_sale: str
    portal: str | None
    written_to: str   # where in emailtrack.toml, as a user reads it


def random_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def add_tracked_address(workspace: Workspace, point_of_sale: str, portal: str | None = None, *,
                        token: Callable[[], str] = random_token) -> IssuedAddress:
    """Issue ``<point_of_sale>-<portal or 'all'>-<token>@<[tracking] domain>``, an address no
    part of the configuration uses yet, and write it into the workspace's ``emailtrack.toml``.

    Refuses (UsageError, exit 2) an unknown point of sale or portal, a workspace without a
    ``[tracking] domain``, and an address already in the configuration.
    """
    domain = workspace.tracking_domain
    if domain is None:
        raise UsageError(f"no [tracking] domain in {workspace.config_path}: add the table '[tracking]' with "
                         "'domain = \"trk.example.net\"' (the domain the tracking service receives mail on)")
    if workspace.point_of_sale(point_of_sale) is None:
        known = ", ".join(p.id for p in workspace.points_of_sale) or "none"
        raise UsageError(f"unknown point of sale {point_of_sale!r} (known: {known})")
    if portal is not None:
        portals = [p.id for p in merged_portals(workspace.portals)]
        if portal not in portals:
            raise UsageError(f"unknown portal {portal!r} (see 'emailtrack portals': {', '.join(portals)})")
    used = configured_addresses(workspace)
    prefix = f"{point_of_sale}-{portal or 'all'}"[:_LOCAL_PART_MAX - TOKEN_LENGTH - 1].rstrip("-_")
    for _ in range(ATTEMPTS):
        address = f"{prefix}-{token()}@{domain}".lower()
        if address not in used:
            break
    else:
        raise UsageError(f"could not issue a new address: {address} and the other candidates are already "
                         f"in {workspace.config_path}")
    written_to = _write(workspace.config_path, address, point_of_sale, portal)
    return IssuedAddress(address, point_of_sale, portal, written_to)


def configured_addresses(workspace: Workspace) -> set[str]:
    """Every address the configuration names: tracked addresses, mailboxes, report recipients."""
    used = {a.address for a in workspace.tracked_addresses}
    for point in workspace.points_of_sale:
        used.update(point.tracked_addresses, point.mailboxes, point.report_to)
    return {a.lower() for a in used}


def _write(config_path: Path, address: str, point_of_sale: str, portal: str | None) -> str:
    text = config_path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    if portal is None:
        written_to = _add_to_point_of_sale(document, address, point_of_sale)
    else:
        written_to = _add_tracked_addresses_entry(document, address, point_of_sale, portal)
    new_text = tomlkit.dumps(document)
    _replace_checked(config_path, text, new_text)
    return written_to


def _add_to_point_of_sale(document: tomlkit.TOMLDocument, address: str, point_of_sale: str) -> str:
    entry = next(e for e in document["points_of_sale"] if e["id"] == point_of_sale)
    current: Any = entry.get("tracked_addresses")
    if isinstance(current, Array):
        current.append(address)
    elif isinstance(current, str):   # `tracked_addresses = "one@…"` is accepted: keep it, as a list
        entry["tracked_addresses"] = [str(current), address]
    else:
        _add_key(entry, "tracked_addresses", tomlkit.item([address]))
    return f"tracked_addresses of [[points_of_sale]] id = \"{point_of_sale}\""


def _add_key(entry: Any, key: str, value: Item) -> None:
    """Add ``key`` after the table's last key rather than after its trailing comments, which
    often introduce the next table (``emailtrack init`` writes such commented examples)."""
    if isinstance(entry, Table):
        body = entry.value.body
        last = max((i for i, (k, _) in enumerate(body) if k is not None), default=-1)
        if last + 1 < len(body):
            try:  # tomlkit has no public insertion at a position
                entry.value._insert_at(last + 1, key, value)
                return
            except (AttributeError, TypeError):
                pass
    entry[key] = value


def _add_tracked_addresses_entry(document: tomlkit.TOMLDocument, address: str, point_of_sale: str,
                                 portal: str) -> str:
    table = tomlkit.table()
    table["address"] = address
    table["point_of_sale"] = point_of_sale
    table["portal"] = portal
    existing = document.get("tracked_addresses")
    if isinstance(existing, AoT):
        table.trivia.indent = "\n"   # a blank line before it, as between the entries above
        existing.append(table)
    elif isinstance(existing, Array):   # written inline: tracked_addresses = [{…}]
        inline = tomlkit.inline_table()
        inline.update(table)
        existing.append(inline)
    else:
        aot = tomlkit.aot()
        aot.append(table)
        document.append("tracked_addresses", aot)
    return "a new [[tracked_addresses]] entry"


def _replace_checked(config_path: Path, old_text: str, new_text: str) -> None:
    """Write ``new_text`` in place of the file, atomically, once it loads as a valid workspace
    and only if nobody changed the file since it was read."""
    folder = config_path.parent
    handle, temporary = tempfile.mkstemp(prefix=".emailtrack.", suffix=".toml", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(new_text)
        os.chmod(temporary, config_path.stat().st_mode & 0o7777)
        load_config(Path(temporary))  # never leave a file the next command refuses
        if config_path.read_text(encoding="utf-8") != old_text:
            raise UsageError(f"{config_path} changed while the address was issued: run the command again")
        os.replace(temporary, config_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
