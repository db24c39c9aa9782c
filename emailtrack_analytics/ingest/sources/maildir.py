"""Maildir folders: one message per file in ``cur/`` and ``new/`` (``tmp/`` is work in progress)."""

from __future__ import annotations

from pathlib import Path


def is_maildir(path: Path) -> bool:
    try:
        return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()
    except OSError:
        return False


def _unique_name(path: Path) -> str:
    # The part before ":2,FLAGS" is stable when a mail client changes the flags.
    return path.name.split(":", 1)[0]


def _files(folder: Path) -> list[Path]:
    """The message files of ``cur/`` or ``new/``; the folder itself when it cannot be listed
    (it is then reported unreadable at its position instead of stopping the others)."""
    try:
        return [f for f in folder.iterdir() if not f.name.startswith(".") and f.is_file()]
    except OSError:
        return [folder]


def maildir_files(path: Path) -> list[Path]:
    """The message files, in a stable order (by unique name), hidden files left out."""
    files = [f for sub in ("cur", "new") for f in _files(path / sub)]
    return sorted(files, key=lambda f: (_unique_name(f), f.name))
