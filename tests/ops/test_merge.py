"""Several machines, one result: shards ingested apart and merged give the exports of one ingest."""

from __future__ import annotations

import shutil

from tests.conftest import export_tables, run_cli


def workspace_like(sample_workspace, root):
    """Same config, same files at the same place (sources are paths within the workspace)."""
    root.mkdir()
    shutil.copy(sample_workspace / "emailtrack.toml", root / "emailtrack.toml")
    shutil.copytree(sample_workspace / "data" / "sample", root / "data" / "sample")
    return root


def test_shards_merged_give_the_exports_of_one_ingest(sample_workspace, tmp_path):
    # files and folders (a Maildir is read whole) two levels down, dealt to two machines in turn
    units = sorted((sample_workspace / "data" / "sample").glob("*/*"))
    assert len(units) > 10
    shards = []
    for index, chunk in enumerate((units[0::2], units[1::2])):
        shard = workspace_like(sample_workspace, tmp_path / f"shard{index}")
        inputs = [shard / p.relative_to(sample_workspace) for p in chunk]
        result = run_cli("--workspace", shard, "ingest", *inputs)
        assert result.code == 0, result.err
        shards.append(shard)
    main = workspace_like(sample_workspace, tmp_path / "main")
    result = run_cli("--workspace", main, "merge", *shards)
    assert result.code == 0, result.err
    assert "stored_messages" in result.out
    expected = export_tables(sample_workspace)
    merged = export_tables(main)
    for table in expected:
        assert merged[table] == expected[table], table
    again = run_cli("--workspace", main, "merge", shards[1] / "data" / "emailtrack.duckdb", shards[0])
    assert again.out.strip() == "merged 2 database(s): nothing new"
    assert export_tables(main) == expected


def test_merge_refuses_what_is_not_a_database(sample_workspace, tmp_path):
    (tmp_path / "x.duckdb").write_text("not a database")
    result = run_cli("--workspace", sample_workspace, "merge", tmp_path / "x.duckdb")
    assert result.code == 2 and "cannot open" in result.err
    result = run_cli("--workspace", sample_workspace, "merge", tmp_path / "nowhere")
    assert result.code == 2 and "no emailtrack database" in result.err
    result = run_cli("--workspace", sample_workspace, "merge", sample_workspace)
    assert result.code == 2 and "own database" in result.err
