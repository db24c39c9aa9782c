"""Stored attribution follows explicit versions, not hashes of source files (a comment edited
in engine.py re-attributed every workspace). Whenever the files a version covers change, this
test asks whether results can change: raise the version if they can; either way record the
files' new digest with `python -m tests.attribution.test_versions`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from emailtrack_analytics.attribution.engine import ATTRIBUTION_VERSION
from emailtrack_analytics.attribution.refresh import LEADS_VERSION

PACKAGE = Path(__file__).resolve().parents[2] / "emailtrack_analytics"
RECORD = Path(__file__).resolve().parents[1] / "assets" / "versions.json"
# the named statements refresh.py runs (attribution/sql/refresh/)
REFRESH_SQL = ["copies.sql", "leads.sql", "lead_keys.sql", "log_leads.sql"]
COVERED = {
    "attribution": (ATTRIBUTION_VERSION, ["attribution/engine.py", "attribution/identity.py",
                                          "config/catalogue.py", "attribution/confirmations.py"]),
    "leads": (LEADS_VERSION, ["attribution/refresh.py", "attribution/sql/020_leads.sql",
                              *(f"attribution/sql/refresh/{name}" for name in REFRESH_SQL)]),
}


def digest(files: list[str]) -> str:
    h = hashlib.sha256()
    for name in files:
        h.update((PACKAGE / name).read_bytes())
    return h.hexdigest()[:16]


def test_every_statement_file_of_the_refresh_is_covered():
    """A new .sql file of the refresh would change lead results unseen by the version check."""
    folder = PACKAGE / "attribution" / "sql" / "refresh"
    assert sorted(p.name for p in folder.glob("*.sql")) == sorted(REFRESH_SQL)


def current() -> dict:
    return {name: {"version": version, "digest": digest(files)} for name, (version, files) in COVERED.items()}


def test_a_changed_rule_file_was_looked_at_for_its_version():
    recorded = json.loads(RECORD.read_text())
    for name, now in current().items():
        was = recorded[name]
        assert now["version"] >= was["version"], f"{name}: the version went back"
        assert now["digest"] == was["digest"], (
            f"{', '.join(COVERED[name][1])} changed since version {was['version']} was recorded: raise "
            f"{'ATTRIBUTION_VERSION' if name == 'attribution' else 'LEADS_VERSION'} if stored results can "
            "change, then run `python -m tests.attribution.test_versions` to record the files as they are")


if __name__ == "__main__":
    RECORD.write_text(json.dumps(current(), indent=2) + "\n")
    print(f"recorded {RECORD}")
