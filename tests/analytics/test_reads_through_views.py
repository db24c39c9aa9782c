"""The analytics and the reports read the store through its views only."""

from __future__ import annotations

import json
import re
from pathlib import Path

from emailtrack_analytics.store.db import connect

ROOT = Path(__file__).resolve().parents[2]
READERS = [*sorted((ROOT / "emailtrack_analytics" / "analytics").glob("*.py")),
           *sorted((ROOT / "emailtrack_analytics" / "reports").glob("*.py")),
           *sorted((ROOT / "notebooks").glob("*.ipynb"))]


def _tables(tmp_path: Path) -> set[str]:
    con = connect(tmp_path / "emailtrack.duckdb")
    try:
        return {row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()}
    finally:
        con.close()


def _code(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])
    return path.read_text(encoding="utf-8")


def test_analytics_and_reports_read_no_table_behind_the_views(tmp_path):
    """health.py once joined stored_messages and lead_details, and the reports read portals:
    the tables are the store's to change, the views are what readers rely on."""
    tables = _tables(tmp_path)
    assert {"stored_messages", "attribution", "lead_details", "portals"} <= tables
    read = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.IGNORECASE)
    found = [(path.relative_to(ROOT).as_posix(), name) for path in READERS
             for name in read.findall(_code(path)) if name in tables]
    assert found == []
