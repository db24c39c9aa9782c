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


def _delivery(queue: str, message_id: str, at: str) -> str:
    """A Postfix delivery of a SeLoger message to lyon-2's own mailbox at ``at`` (local time)."""
    return (f"Mar 10 {at} mx postfix/cleanup[1]: {queue}: message-id=<{message_id}>\n"
            f"Mar 10 {at} mx postfix/qmgr[2]: {queue}: from=<noreply@lead.seloger.com>, size=4000, nrcpt=1 "
            "(queue active)\n"
            f"Mar 10 {at} mx postfix/lmtp[3]: {queue}: to=<lyon2@agence-exemple.fr>, relay=mx[private/dovecot-lmtp], "
            "delay=0.1, dsn=2.0.0, status=sent (250 2.0.0 Saved)\n")


def test_a_new_copy_does_not_take_a_copy_from_the_delivery_nearest_to_it(workspace_dir, tmp_path, cli):
    """Deliveries and tracking copies match when each is the other's nearest (3 minutes). A new copy
    c2 at 10:00:00 makes delivery A (10:01:40) be judged again; A's nearest copy is c (10:02:30),
    but c's nearest delivery is B (10:03:05), which nothing new is near. Judged alone, A would take
    c; judged with its competitors in scope, A stays unmatched, as a full refresh finds."""
    import os

    from tests.builders import lead, mbox
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "mail.log").write_text(_delivery("AAAA001", "a@relay.example", "10:01:40")
                                    + _delivery("AAAA002", "b@relay.example", "10:03:05"))
    os.utime(first / "mail.log", (1775000000, 1775000000))  # 2026-04: the log's year is 2026
    (first / "c.mbox").write_bytes(mbox(lead(message_id="<c@lead.seloger.com>", cc="lyon2@track.example.net",
                                             date="Tue, 10 Mar 2026 10:02:30 +0100", body="Prospect C\n")))
    (second / "c2.mbox").write_bytes(mbox(lead(message_id="<c2@lead.seloger.com>", cc="lyon2@track.example.net",
                                               date="Tue, 10 Mar 2026 10:00:00 +0100", body="Prospect C2\n")))
    for folder in (first, second):
        result = cli("--workspace", workspace_dir, "ingest", folder)
        assert result.code == 0, result.err
    incremental = results(workspace_dir)
    judged = {r[4]: r[5] for r in incremental["log_leads"]}  # Message-ID -> the lead key it took
    workspace = open_workspace(workspace_dir)
    con = connect(workspace.database)
    try:
        keys = dict(con.execute("SELECT m.message_id, a.lead_key FROM attribution a "
                                "JOIN stored_messages m USING (message_key)").fetchall())
        assert judged == {"a@relay.example": None, "b@relay.example": keys["c@lead.seloger.com"]}
        assert refresh_attribution(con, workspace, force=True).full
    finally:
        con.close()
    assert results(workspace_dir) == incremental


def test_a_mailbox_taken_out_of_the_configuration_leaves_no_judged_delivery(piecewise, tmp_path):
    """A full refresh (the configuration changed) keeps no judgement of a delivery that is no
    longer one to a point of sale's mailbox."""
    import shutil
    root = tmp_path / "ws"
    shutil.copytree(piecewise, root, ignore=shutil.ignore_patterns("data"))
    shutil.copytree(piecewise / "data", root / "data", ignore=shutil.ignore_patterns("sample"))
    workspace = open_workspace(root)
    con = connect(workspace.database)
    try:
        before = dict(con.execute("SELECT point_of_sale, count(*) FROM log_leads GROUP BY ALL").fetchall())
    finally:
        con.close()
    pos = next(p for p in workspace.points_of_sale if p.mailboxes and before.get(p.id))
    config = (root / "emailtrack.toml").read_text()
    for address in pos.mailboxes:
        config = config.replace(f'"{address}"', '"moved@elsewhere.example"', 1)
    (root / "emailtrack.toml").write_text(config)
    workspace = open_workspace(root)
    con = connect(workspace.database)
    try:
        assert refresh_attribution(con, workspace).full
        after = dict(con.execute("SELECT point_of_sale, count(*) FROM log_leads GROUP BY ALL").fetchall())
    finally:
        con.close()
    assert pos.id not in after
    assert after == {p: n for p, n in before.items() if p != pos.id}
