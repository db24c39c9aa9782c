"""From ``emailtrack init --sample`` through ingest and export, against the sample's ground truth."""

from __future__ import annotations

import csv
import io

from emailtrack_analytics.groundtruth import FIELDS, compare
from emailtrack_analytics.workspace import open_workspace


def test_attribution_matches_ground_truth(sample_workspace):
    result = compare(open_workspace(sample_workspace))
    assert result.messages > 1000
    assert result.found == result.messages  # every message expected to be stored is stored
    for name in FIELDS:
        assert result.accuracy(name) >= 0.99, (name, result.lines(), result.mistakes[:10])
    assert result.quarantine_right == result.quarantine_expected > 0


def test_lead_counts_per_month_point_of_sale_and_portal_are_exact(sample_workspace):
    result = compare(open_workspace(sample_workspace))
    assert result.lead_count_differences == {}
    assert result.leads_found == result.leads_expected > 0
    assert (result.leads_split, result.leads_merged) == (0, 0)


def test_reingesting_the_sample_adds_nothing(sample_workspace, cli):
    result = cli("--workspace", sample_workspace, "ingest", sample_workspace / "data" / "sample")
    assert result.code == 0
    assert result.out.startswith("0 new, 0 already stored, 0 quarantined")
    assert "files skipped (unchanged)" in result.out and " 0 files skipped" not in result.out


def test_export_agrees_with_ground_truth_rows(sample_workspace, cli):
    exported = cli("--workspace", sample_workspace, "export", "messages")
    # the agencies' own mailbox exports are stored too (role mailbox): evidence, not tracking
    rows = {r["source"]: r for r in csv.DictReader(io.StringIO(exported.out)) if r["role"] == "tracking"}
    with open(sample_workspace / "data" / "sample-truth" / "messages.csv", encoding="utf-8") as handle:
        truth = [r for r in csv.DictReader(handle) if not r["expected_quarantine"] and not r["duplicate_of"]]
    assert len(rows) == len(truth)
    right = sum(all(rows[t["source"]][f] == t[f] for f in FIELDS) for t in truth)
    assert right / len(truth) >= 0.99


def test_status_reflects_what_was_ingested(sample_workspace, cli):
    out = cli("--workspace", sample_workspace, "status").out
    exported = cli("--workspace", sample_workspace, "export", "messages").out
    stored = len(exported.splitlines()) - 1
    assert f"messages   {stored} stored copies" in out
    assert "quarantined 7 (" in out or "quarantined" in out
    assert "2026-10" in out


def test_lead_details_match_ground_truth(sample_workspace):
    from emailtrack_analytics.groundtruth import DETAIL_FIELDS
    result = compare(open_workspace(sample_workspace))
    assert result.detail_copies > 1000
    for name in DETAIL_FIELDS:
        assert result.detail_agree[name] / result.detail_copies >= 0.99, (name, result.detail_mistakes[:10])


def test_template_drift_is_counted_and_flagged(sample_workspace):
    import json
    import duckdb
    facts = json.loads((sample_workspace / "data" / "sample-truth" / "sample_facts.json").read_text())
    drifted = facts["traps"]["template_drift"]
    assert drifted
    con = duckdb.connect(str(open_workspace(sample_workspace).database), read_only=True)
    try:
        found = con.execute(
            "SELECT s.source, a.category, list_contains(a.flags, 'unrecognised_template') FROM sightings s "
            "JOIN attribution a USING (message_key) WHERE s.source IN (SELECT unnest(?::VARCHAR[]))",
            [drifted]).fetchall()
    finally:
        con.close()
    assert len(found) == len(drifted)
    assert all(category == "lead" and flagged for _, category, flagged in found)
