"""Errors a user can act on, with the exit code the contract gives them."""

from __future__ import annotations

from pathlib import Path


class EmailtrackError(Exception):
    """An error shown to the user as one line; ``exit_code`` follows the contract."""

    exit_code = 1


class UsageError(EmailtrackError):
    """Unusable arguments, unknown workspace or unreadable input path (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A refused ``emailtrack.toml``: names the file, the line and the key."""

    def __init__(self, path: Path, line: int | None, key: str | None, message: str):
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        where = f"{path}:{line}" if line else f"{path}"
        what = f" {key}:" if key else ""
        super().__init__(f"{where}:{what} {message}")


class Busy(EmailtrackError):
    """Another emailtrack process holds what this one needs (exit 2: try again later)."""

    exit_code = 2
