"""Environment variables: read and validated in one module, refused by name when they make no sense."""

from __future__ import annotations

import re

import pytest

from emailtrack_analytics import settings
from tests.conftest import ROOT


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for path in (ROOT / "emailtrack_analytics").rglob("*.py"):
        if path.name == "settings.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.environ(\.get|\[)|os\.getenv|environ\.get\(", line):
                readers.append(f"{path.relative_to(ROOT)}:{number}")
    assert readers == []


def test_every_variable_is_documented():
    page = (ROOT / "docs" / "configuration.md").read_text()
    for name in settings.VARIABLES:
        assert f"`{name}`" in page, name


@pytest.mark.parametrize("name, value", [
    ("EMAILTRACK_LOCK_WAIT", "ten"), ("EMAILTRACK_LOCK_WAIT", "-1"), ("EMAILTRACK_LOCK_WAIT", "nan"),
    ("EMAILTRACK_DB_MEMORY", "lots"), ("EMAILTRACK_MAX_MESSAGE_MB", "0"), ("EMAILTRACK_MAX_MESSAGE_MB", "64 MB"),
])
def test_a_senseless_value_is_refused_naming_the_variable(workspace_dir, cli, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    result = cli("--workspace", workspace_dir, "status")
    assert result.code == 2
    assert name in result.err and repr(value) in result.err


def test_values_that_make_sense(monkeypatch):
    monkeypatch.setenv("EMAILTRACK_LOCK_WAIT", "0.5")
    monkeypatch.setenv("EMAILTRACK_DB_MEMORY", "1GB")
    monkeypatch.setenv("EMAILTRACK_MAX_MESSAGE_MB", "100")
    assert (settings.lock_wait(), settings.db_memory(), settings.max_message_mb()) == (0.5, "1GB", 100.0)
    for name in ("EMAILTRACK_LOCK_WAIT", "EMAILTRACK_DB_MEMORY", "EMAILTRACK_MAX_MESSAGE_MB"):
        monkeypatch.delenv(name)
    assert (settings.lock_wait(), settings.db_memory(), settings.max_message_mb()) == (600.0, "256MB", None)
