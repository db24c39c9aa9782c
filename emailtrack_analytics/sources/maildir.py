"""Maildir folders: one message per file in ``cur/`` and ``new/`` (``tmp/`` is work in progress)."""

from __future__ import annotations

from pathlib import Path


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def _unique_name(path: Path) -> str:
    # The part before ":2,FLAGS" is stable when a mail client changes the flags.
    return path.name.split(":", 1)[0]


def maildir_files(path: Path) -> list[Path]:
    """The message files, in a stable order (by unique name), hidden files left out."""
    files = [f for sub in ("cur", "new") for f in (path / sub).iterdir()
             if f.is_file() and not f.name.startswith(".")]
    return sorted(files, key=lambda f: (_unique_name(f), f.name))
