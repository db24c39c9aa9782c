"""The parallel ingest path stores exactly what one worker stores, on the sample and on the corpus."""

from __future__ import annotations

import shutil

import pytest

from .conftest import export_tables, run_cli


def ingest_copy(tmp_path, name, config_from, inputs, workers) -> dict[str, str]:
    ws = tmp_path / name
    ws.mkdir(exist_ok=True)
    shutil.copy(config_from / "emailtrack.toml", ws / "emailtrack.toml")
    result = run_cli("--workspace", ws, "ingest", *inputs, "--workers", str(workers))
    assert result.code == 0, result.err
    return export_tables(ws)


def test_sample_exports_are_identical_with_one_and_two_workers(sample_workspace, tmp_path):
    # the same files at the same place in the workspace, so that sources read the same
    shutil.copytree(sample_workspace / "data" / "sample", tmp_path / "one" / "data" / "sample")
    one = ingest_copy(tmp_path, "one", sample_workspace, [tmp_path / "one" / "data" / "sample"], workers=1)
    two = export_tables(sample_workspace)
    assert one["messages"].count("\n") > 1000
    for table in one:
        assert one[table] == two[table], table


@pytest.mark.corpus
def test_corpus_exports_are_identical_with_one_and_two_workers(workspace_dir, corpus, tmp_path):
    inputs = [corpus / "eml", corpus / "mbox"]
    one = ingest_copy(tmp_path, "one", workspace_dir, inputs, workers=1)
    two = ingest_copy(tmp_path, "two", workspace_dir, inputs, workers=2)
    assert one["messages"].count("\n") > 500
    assert one["quarantine"].count("\n") > 10
    for table in one:
        assert one[table] == two[table], table
