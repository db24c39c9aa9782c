"""The checks the project runs on itself, as configured in pyproject.toml: ruff (pyflakes,
bugbear, import order, complexity <= 15), mypy (strict on store, attribution and parsing) and
the import-linter contract of the one-way flow between stages (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    # the working tree's package, whichever copy the venv's editable install points at
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(list(command), cwd=ROOT, capture_output=True, text=True, env=env)


def test_ruff_finds_nothing():
    result = _run(sys.executable, "-m", "ruff", "check", "--no-cache", "emailtrack_analytics", "tests",
                  "benchmarks", "conftest.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


def test_mypy_finds_nothing():
    result = _run(sys.executable, "-m", "mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


def test_stages_import_only_the_stages_below_them():
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
    assert "1 kept, 0 broken" in result.stdout
