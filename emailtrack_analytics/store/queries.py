"""Named SQL statements, kept in ``.sql`` files beside the code that runs them.

A file of statements reads like this::

    -- name: lead_months
    -- the months of the lead copies, with how many each holds
    SELECT month, count(*) FROM attribution ... ;

Each ``-- name: NAME`` line starts a statement, which runs to the next one (comments
included). Values are bound parameters (``?`` or ``$name``), never formatted in. These files are
not views: they are kept out of the view folders (``db.VIEW_FOLDERS``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources

_NAME = re.compile(r"^-- name: (\w+)[ \t]*$", re.MULTILINE)


def parse_statements(text: str, origin: str = "<text>") -> dict[str, str]:
    """The statements of one file by name. Comments may open the file (what it holds); SQL
    before the first name is refused (it would never run), as is a name given twice (the second
    would hide the first)."""
    parts = _NAME.split(text)
    if _has_sql(parts[0]):
        raise ValueError(f"{origin}: SQL before the first '-- name:' line")
    statements: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in statements:
            raise ValueError(f"{origin}: two statements named {name!r}")
        if not _has_sql(body):
            raise ValueError(f"{origin}: the statement {name!r} holds no SQL")
        statements[name] = body.strip()
    return statements


def _has_sql(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("--") for line in text.splitlines())


def load_statements(*parts: str) -> Mapping[str, str]:
    """The named statements of a file of the package, e.g. ``load_statements("ops", "sql",
    "privacy.sql")``."""
    path = resources.files("emailtrack_analytics").joinpath(*parts)
    return parse_statements(path.read_text(encoding="utf-8"), "/".join(parts))
