"""Named schema migrations, applied in order and recorded in ``schema_migrations``.

Each is a file ``migrations/NNNN_name.sql`` in this package; its name without ``.sql`` is what
``schema_migrations`` records. Never edit or rename a migration that has shipped (workspaces
recorded its name and will not run it again): add a new file, and change ``store/schema.py``
to the shape it gives. Timestamps are stored as naive UTC ``TIMESTAMP`` values so that no
session time zone can shift them.
"""

from __future__ import annotations

from importlib import resources


def _load() -> list[tuple[str, str]]:
    """(name, SQL) of every migration file, in name order."""
    folder = resources.files("emailtrack_analytics.store").joinpath("migrations")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


MIGRATIONS: list[tuple[str, str]] = _load()
