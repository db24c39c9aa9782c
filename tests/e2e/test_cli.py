"""The command line: exit codes and one-line errors as the contract says; exports in every format."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq

from tests.builders import lead


def ingest_one(cli, ws_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.eml").write_bytes(lead(cc="lyon2@track.example.net",
                                                 top={"Delivered-To": "lyon2@track.example.net"}))
    result = cli("--workspace", ws_dir, "ingest", tmp_path / "in")
    assert result.code == 0, result.err
    return result


def test_ingest_prints_one_summary_line(cli, workspace_dir, tmp_path):
    result = ingest_one(cli, workspace_dir, tmp_path)
    assert result.out.strip() == ("1 new, 0 already stored, 0 quarantined, 1 files read, "
                                  "0 files skipped (unchanged)")


def test_quarantine_is_still_exit_0(cli, workspace_dir, tmp_path):
    (tmp_path / "bad.eml").write_bytes(b"\x00garbage")
    result = cli("--workspace", workspace_dir, "ingest", tmp_path / "bad.eml")
    assert result.code == 0
    assert "1 quarantined" in result.out


def test_unreadable_input_path_is_exit_2(cli, workspace_dir, tmp_path):
    result = cli("--workspace", workspace_dir, "ingest", tmp_path / "missing.mbox")
    assert result.code == 2
    assert result.err.startswith("emailtrack: error: input path not found")
    assert result.err.count("\n") == 1


def test_unknown_workspace_is_exit_2(cli, tmp_path):
    result = cli("--workspace", tmp_path / "nowhere", "status")
    assert result.code == 2 and "no workspace" in result.err


def test_bad_arguments_are_exit_2(cli, workspace_dir):
    assert cli("--workspace", workspace_dir, "export", "leads", "--month", "2026-13").code == 2
    assert cli("--workspace", workspace_dir, "export", "nope").code == 2
    assert cli("--workspace", workspace_dir, "ingest", ".", "--kind", "pst").code == 2
    assert cli("--workspace", workspace_dir, "report", "monthly").code == 2  # --month required
    assert cli("--workspace", workspace_dir, "report", "nope", "--month", "2026-03").code == 2
    assert cli("--workspace", workspace_dir, "export", "leads", "--format", "parquet").code == 2


def test_workspace_option_after_the_command(cli, workspace_dir, tmp_path):
    ingest_one(cli, workspace_dir, tmp_path)
    result = cli("status", "--workspace", workspace_dir)
    assert result.code == 0
    assert "1 stored copies" in result.out


def test_status_reports_leads_per_month(cli, workspace_dir, tmp_path):
    ingest_one(cli, workspace_dir, tmp_path)
    out = cli("--workspace", workspace_dir, "status").out
    assert "  2026-03        1        1" in out
    assert "sources    1 files ingested (1 eml)" in out


def test_export_json_and_parquet_read_back(cli, workspace_dir, tmp_path):
    ingest_one(cli, workspace_dir, tmp_path)
    assert cli("--workspace", workspace_dir, "export", "leads", "--format", "json",
               "-o", tmp_path / "leads.json").code == 0
    records = json.loads((tmp_path / "leads.json").read_text())
    assert [(r["point_of_sale"], r["portal"], r["month"], r["received_at"]) for r in records] == \
        [("lyon-2", "seloger", "2026-03", "2026-03-12T17:04:11Z")]
    assert cli("--workspace", workspace_dir, "export", "messages", "--format", "parquet",
               "-o", tmp_path / "m.parquet").code == 0
    table = pq.read_table(tmp_path / "m.parquet")
    assert table.column_names[:13] == ["message_key", "message_id", "received_at", "month", "sender",
                                       "subject", "point_of_sale", "portal", "channel", "category",
                                       "lead_key", "role", "source"]
    assert table.num_rows == 1
    assert str(table.schema.field("received_at").type) == "timestamp[us, tz=UTC]"


def test_export_month_filter(cli, workspace_dir, tmp_path):
    ingest_one(cli, workspace_dir, tmp_path)
    march = cli("--workspace", workspace_dir, "export", "leads", "--month", "2026-03").out
    april = cli("--workspace", workspace_dir, "export", "leads", "--month", "2026-04").out
    assert len(march.splitlines()) == 2 and len(april.splitlines()) == 1


def test_python_dash_m_is_the_same_program(workspace_dir):
    result = subprocess.run([sys.executable, "-m", "emailtrack_analytics", "--workspace", str(workspace_dir),
                             "status"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "workspace  Test network" in result.stdout


def test_unexpected_error_is_one_line_without_traceback(cli, workspace_dir, tmp_path):
    ingest_one(cli, workspace_dir, tmp_path)
    (workspace_dir / "data" / "emailtrack.duckdb").write_bytes(b"this is not a database")
    result = cli("--workspace", workspace_dir, "status")
    assert result.code == 1
    assert "Traceback" not in result.err and result.err.count("\n") == 1


def test_a_database_out_of_memory_names_its_setting_and_a_rerun_loses_nothing(cli, tmp_path, monkeypatch):
    """DuckDB out of its memory limit part way through an ingest: one line naming
    EMAILTRACK_DB_MEMORY (not DuckDB's `SET memory_limit`, nor the aborted transaction's error
    that used to hide it), exit 1; the same ingest with the default limit then stores exactly
    what an ingest that never failed stores."""
    from tests.conftest import SAMPLE_END_MONTH, export_tables
    roots = []
    for name in ("failed", "straight"):
        root = tmp_path / name
        result = cli("init", root, "--sample", "--end-month", SAMPLE_END_MONTH, "--scale", "0.05")
        assert result.code == 0, result.err
        roots.append(root)
    failed, straight = roots
    with monkeypatch.context() as env:
        env.setenv("EMAILTRACK_DB_MEMORY", "16MB")
        result = cli("--workspace", failed, "ingest", failed / "data" / "sample")
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert "ran out of the memory it may use" in line and "EMAILTRACK_DB_MEMORY is 16MB" in line
    assert "ROLLBACK" not in line and "SET memory_limit" not in line
    for root in roots:
        result = cli("--workspace", root, "ingest", root / "data" / "sample")
        assert result.code == 0, result.err
    assert export_tables(failed) == export_tables(straight)
