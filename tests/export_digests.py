"""Digests of everything the sample workspace exports, to compare two versions of the code.

    python -m tests.export_digests [OUT.json]

Builds the sample workspace in a temporary folder through the command line (init --sample,
ingest), exports every table as CSV (with the personal data: pseudonyms depend on the
workspace's random key), and prints one SHA-256 per export plus the text of
``status`` and ``senders``. Run it before and after a change that must not change results
(a refactoring) and compare: every line must be the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TABLES = ("messages", "leads", "forward-events", "coverage", "quarantine", "contacts", "figures")


def _run(*args: str, cwd: Path) -> bytes:
    # run inside the workspace with relative paths: sources and messages then name the same
    # files whichever temporary folder holds them
    done = subprocess.run([sys.executable, "-m", "emailtrack_analytics", *args], capture_output=True,
                          check=True, cwd=cwd, env={**os.environ, "EMAILTRACK_WORKSPACE": ""})
    return done.stdout


def digests() -> dict[str, str]:
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        _run("init", "ws", "--sample", cwd=Path(tmp))
        _run("ingest", "data/sample", cwd=ws)
        for table in TABLES:
            out[table] = hashlib.sha256(_run("export", table, "--personal-data", cwd=ws)).hexdigest()
        for command in (["status"], ["senders", "--personal-data"]):
            text = _run(*command, cwd=ws).replace(tmp.encode(), b"TMP")
            out[command[0]] = hashlib.sha256(text).hexdigest()
    return out


if __name__ == "__main__":
    result = digests()
    text = json.dumps(result, indent=2, sort_keys=True)
    print(text)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text + "\n")
