"""Root pytest configuration: the workspace that notebooks read when nbval runs them.

nbval executes ``notebooks/*.ipynb`` with their default parameters, which read the workspace
named by ``$EMAILTRACK_WORKSPACE``. When it is not set, a small sample workspace is built in a
temporary folder before the kernel starts, and removed at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_BUILT: list[Path] = []


def pytest_configure(config):
    nbval = getattr(config.option, "nbval_lax", False) or getattr(config.option, "nbval", False)
    if not nbval or os.environ.get("EMAILTRACK_WORKSPACE"):
        return
    from emailtrack_analytics.cli import main

    folder = Path(tempfile.mkdtemp(prefix="emailtrack-nbval-"))
    root = folder / "ws"
    if main(["init", str(root), "--sample", "--end-month", "2026-10", "--scale", "0.05"]) != 0:
        raise RuntimeError("could not build the notebook test workspace")
    if main(["--workspace", str(root), "ingest", str(root / "data" / "sample"), "--workers", "1"]) != 0:
        raise RuntimeError("could not ingest the notebook test workspace")
    os.environ["EMAILTRACK_WORKSPACE"] = str(root)
    _BUILT.append(folder)


def pytest_unconfigure(config):
    for folder in _BUILT:
        shutil.rmtree(folder, ignore_errors=True)
