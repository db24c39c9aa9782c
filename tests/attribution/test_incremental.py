"""Metamorphic: a workspace filled piece by piece (each ingest refreshing only what changed) holds
the results a full refresh computes from the same stored copies and log lines. The pieces come in
the order that makes incremental work hardest: the mail logs before the copies they must be
matched to, the months out of order, a mailbox export in the middle."""

from __future__ import annotations

from pathlib import Path

import pytest

from emailtrack_analytics.attribution.refresh import refresh_attribution
from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.store.db import connect
from tests.conftest import SAMPLE_END_MONTH, run_cli

# what every refresh leaves behind, compared row for row
RESULTS = {
    "attribution": "SELECT message_key, point_of_sale, portal, channel, category, role, lead_key, month "
                   "FROM attribution ORDER BY message_key",
    "attribution_targets": "SELECT message_key, point_of_sale FROM attribution_targets ORDER BY ALL",
    "lead_rows": "SELECT * FROM lead_rows ORDER BY ALL",
    "log_leads": "SELECT row_key, point_of_sale, month, event_time, message_id, lead_key, portal, is_lead, assumed "
                 "FROM log_leads ORDER BY row_key",
}


def results(root: Path) -> dict[str, list[tuple]]:
    workspace = open_workspace(root)
    con = connect(workspace.database)
    try:
        return {name: con.execute(query).fetchall() for name, query in RESULTS.items()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def piecewise(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("incremental") / "ws"
    result = run_cli("init", root, "--sample", "--end-month", SAMPLE_END_MONTH, "--scale", "0.1")
    assert result.code == 0, result.err
    sample = root / "data" / "sample"
    months = sorted((sample / "tracking").glob("*.mbox"))
    pieces = [sample / "distribution", sample / "logs", *months[6:], sample / "mailbox", *months[:6],
              sample / "tracking" / "eml", sample / "tracking" / "maildir"]
    for piece in pieces:
        result = run_cli("--workspace", root, "ingest", piece)
        assert result.code == 0, (piece, result.err)
    return root


def test_piecewise_ingest_gives_what_a_full_refresh_gives(piecewise):
    incremental = results(piecewise)
    assert len(incremental["log_leads"]) > 100 and len(incremental["lead_rows"]) > 500
    workspace = open_workspace(piecewise)
    con = connect(workspace.database)
    try:
        assert refresh_attribution(con, workspace, force=True).full
    finally:
        con.close()
    full = results(piecewise)
    for name in RESULTS:
        assert incremental[name] == full[name], name
