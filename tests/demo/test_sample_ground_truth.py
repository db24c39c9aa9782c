"""From ``emailtrack init --sample`` through ingest and export, against the sample's ground truth."""

from __future__ import annotations

import csv
import io

import pytest

from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.demo.groundtruth import FIELDS, compare
from tests.conftest import SAMPLE_END_MONTH, run_cli


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
    from emailtrack_analytics.demo.groundtruth import DETAIL_FIELDS
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


@pytest.fixture(scope="module")
def full_sample(tmp_path_factory):
    """The demo data set at full scale: the health statistics need its volumes (at a tenth of
    them, a planted drop of 4 leads to 1 is not distinguishable from chance)."""
    root = tmp_path_factory.mktemp("full") / "ws"
    assert run_cli("init", root, "--sample", "--end-month", SAMPLE_END_MONTH).code == 0
    assert run_cli("--workspace", root, "ingest", root / "data" / "sample").code == 0
    return root


def test_coverage_and_missing_causes_match_ground_truth(sample_workspace):
    from emailtrack_analytics.demo.groundtruth import compare_health
    result = compare_health(open_workspace(sample_workspace))
    assert result.coverage_cells > 50
    assert result.coverage_equal >= 0.99 * result.coverage_cells, result.coverage_differences
    assert result.missing_expected > 20
    assert result.causes_right >= 0.99 * result.missing_expected, result.cause_confusion


def test_full_sample_health_matches_ground_truth(full_sample):
    from emailtrack_analytics.demo.groundtruth import compare, compare_health
    workspace = open_workspace(full_sample)
    result = compare_health(workspace)
    assert result.coverage_differences == {}, result.lines()
    assert result.causes_right == result.missing_expected > 500, result.cause_confusion
    assert result.alerts_missed == [] and len(result.alerts_expected) == 4
    assert result.alerts_on_healthy == []
    attribution = compare(workspace)
    assert attribution.all_fields == attribution.messages and attribution.lead_count_differences == {}


def test_lead_keys_in_the_database_group_as_the_python_reference(sample_workspace):
    """refresh computes lead keys in SQL; identity.lead_keys is the readable reference."""
    import duckdb

    from emailtrack_analytics.attribution.identity import content_references, lead_keys
    workspace = open_workspace(sample_workspace)
    con = duckdb.connect(str(workspace.database), read_only=True)
    try:
        cursor = con.execute("SELECT m.message_key, m.original_message_id, m.received_at, m.date_source, m.date_zone, "
                             "m.identity_marks, m.content_fingerprint, a.lead_key "
                             "FROM stored_messages m JOIN attribution a USING (message_key) "
                             "WHERE a.category = 'lead'")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    finally:
        con.close()
    reference = lead_keys([(row["message_key"], row["original_message_id"], content_references(
        timezone=workspace.timezone, **{k: v for k, v in row.items() if k not in ("original_message_id", "lead_key")}))
        for row in rows], marks={row["message_key"]: row["identity_marks"] for row in rows})

    def partition(keys: dict) -> set:
        groups: dict = {}
        for message_key, key in keys.items():
            groups.setdefault(key, set()).add(message_key)
        return {frozenset(g) for g in groups.values()}

    stored = {row["message_key"]: row["lead_key"] for row in rows}
    assert len(rows) > 1000
    assert partition(stored) == partition(reference)
    assert stored == reference  # the same keys: a hash of the smallest reference of each group
    assert len(partition(stored)) < len(rows)  # some leads have several copies
