"""Exports beyond one file: hive-partitioned Parquet read back equal to the single-file export."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import SAMPLE_END_MONTH, run_cli


def export(ws, *args):
    result = run_cli("--workspace", ws, "export", *map(str, args))
    assert result.code == 0, result.err
    return result


def read(pattern, **options):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    settings = "".join(f", {k} = {v}" for k, v in options.items())
    return con.sql(f"SELECT * FROM read_parquet('{pattern}'{settings})")


def partitioned(folder):
    """The folder read as a hive-partitioned dataset, the way Spark, Trino or DuckDB read it."""
    return read(f"{folder}/**/*.parquet", hive_partitioning="true")


@pytest.mark.parametrize("table", ["messages", "leads", "coverage", "forward-events", "quarantine"])
def test_partitioned_parquet_reads_back_equal_to_one_file(sample_workspace, tmp_path, table):
    export(sample_workspace, table, "--format", "parquet", "-o", tmp_path / "one.parquet")
    export(sample_workspace, table, "--format", "parquet", "--partition", "month", "-o", tmp_path / "parts")
    whole = read(tmp_path / "one.parquet").df()
    parts = partitioned(tmp_path / "parts").df()
    assert len(whole) > 0
    columns = list(whole.columns)
    key = [c for c in columns if c not in ("detail",)]
    whole = whole.sort_values(key).reset_index(drop=True)
    parts = parts[columns + (["month"] if "month" not in columns else [])]
    if "month" not in columns:  # quarantine and forward-events gain the month they are filed under
        assert parts["month"].str.fullmatch(r"\d{4}-\d{2}").all()
        parts = parts.drop(columns="month")
    parts = parts.sort_values(key).reset_index(drop=True)
    assert whole.equals(parts)


def test_one_folder_per_month_and_nothing_else(sample_workspace, tmp_path):
    export(sample_workspace, "leads", "--format", "parquet", "--partition", "month", "-o", tmp_path / "leads")
    folders = sorted(p.name for p in (tmp_path / "leads").iterdir())
    months = [r[0] for r in duckdb.connect(str(sample_workspace / "data" / "emailtrack.duckdb"), read_only=True)
              .execute("SELECT DISTINCT month FROM leads ORDER BY 1").fetchall()]
    assert folders == [f"month={m}" for m in months]
    assert len(folders) == 12


def test_exporting_one_month_replaces_that_month_only(sample_workspace, tmp_path):
    target = tmp_path / "messages"
    export(sample_workspace, "messages", "--format", "parquet", "--partition", "month", "-o", target)
    before = partitioned(target).aggregate("month, count(*) AS n", "month").df().set_index("month")["n"]
    stale = target / f"month={SAMPLE_END_MONTH}" / "stale.parquet"
    stale.write_bytes((target / f"month={SAMPLE_END_MONTH}" / "part-0.parquet").read_bytes())
    result = export(sample_workspace, "messages", "--month", SAMPLE_END_MONTH, "--format", "parquet",
                    "--partition", "month", "-o", target)
    assert f"{before[SAMPLE_END_MONTH]} rows written" in result.err
    after = partitioned(target).aggregate("month, count(*) AS n", "month").df().set_index("month")["n"]
    assert not stale.exists()
    assert after.to_dict() == before.to_dict()
    assert not [p for p in target.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_partition_needs_parquet_and_a_folder(sample_workspace, tmp_path):
    result = run_cli("--workspace", sample_workspace, "export", "leads", "--partition", "month",
                     "-o", tmp_path / "x")
    assert result.code == 2 and "--format parquet" in result.err
    (tmp_path / "file").write_text("")
    result = run_cli("--workspace", sample_workspace, "export", "leads", "--partition", "month",
                     "--format", "parquet", "-o", tmp_path / "file")
    assert result.code == 2 and "is a file" in result.err
