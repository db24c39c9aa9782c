"""Metamorphic: a workspace filled piece by piece (each ingest refreshing only what changed) holds
the results a full refresh computes from the same stored copies and log lines. The pieces come in
the order that makes incremental work hardest: the mail logs before the copies they must be
matched to, the months out of order, a mailbox export in the middle."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emailtrack_analytics.attribution.refresh import ATTRIBUTE_BATCH, refresh_attribution
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



def test_a_full_refresh_gives_the_same_whatever_its_batch_size(piecewise, tmp_path):
    """Copies are attributed a batch per transaction (ATTRIBUTE_BATCH): the size bounds memory
    and changes nothing stored, down to batches that split every month and lead."""
    root = tmp_path / "ws"
    shutil.copytree(piecewise, root, ignore=shutil.ignore_patterns("data"))
    shutil.copytree(piecewise / "data", root / "data", ignore=shutil.ignore_patterns("sample"))
    outcomes = []
    for batch in (ATTRIBUTE_BATCH, 37):
        workspace = open_workspace(root)
        con = connect(workspace.database)
        try:
            assert refresh_attribution(con, workspace, force=True, batch=batch).attributed > 10 * 37
        finally:
            con.close()
        outcomes.append(results(root))
    assert len(outcomes[0]["attribution"]) > 1000
    assert outcomes[0] == outcomes[1]

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


# --- lead keys and stored leads computed for the copies a new one can change (refresh._lead_scope)

def _forward(n: int, sent: str, *, date: str, body: str = "Jean Dupont s'intéresse à ce bien.\nRef. de l'annonce : A123\n") -> bytes:
    """An Outlook inline forward to lyon-2's tracked address: no Message-ID of the original, the
    time its header printed without a zone (a guess, tried two hours either way for its body)."""
    from tests.builders import outlook_forward
    return outlook_forward(sent=sent, date=date, body=body, message_id=f"<fwd-{n}@agence-exemple.fr>")


def _cc(message_id: str, date: str, body: str = "Jean Dupont s'intéresse à ce bien.\nRef. de l'annonce : A123\n") -> bytes:
    from tests.builders import lead
    return lead(message_id=message_id, cc="lyon2@track.example.net", date=date, body=body)


def _ingest_in_turn(cli, root: Path, tmp_path: Path, pieces: list[list[bytes]]) -> list[dict[str, list[tuple]]]:
    """Each piece ingested by itself (each ingest refreshing what changed); the results after each."""
    from tests.builders import mbox
    after = []
    for i, messages in enumerate(pieces):
        folder = tmp_path / f"piece-{i}"
        folder.mkdir(parents=True)
        (folder / "copies.mbox").write_bytes(mbox(*messages))
        result = cli("--workspace", root, "ingest", folder)
        assert result.code == 0, result.err
        after.append(results(root))
    return after


def _keys(root: Path) -> dict[str, str | None]:
    """Message-ID of each copy (the forward's own for an inline forward) -> its lead key."""
    workspace = open_workspace(root)
    con = connect(workspace.database)
    try:
        return dict(con.execute("SELECT m.message_id, a.lead_key FROM attribution a "
                                "JOIN stored_messages m USING (message_key)").fetchall())
    finally:
        con.close()


def _full_refresh_agrees(root: Path, incremental: dict[str, list[tuple]]) -> None:
    workspace = open_workspace(root)
    con = connect(workspace.database)
    try:
        assert refresh_attribution(con, workspace, force=True).full
    finally:
        con.close()
    full = results(root)
    for name in RESULTS:
        assert incremental[name] == full[name], name


def test_a_new_forward_that_links_two_leads_rekeys_one_of_them(workspace_dir, tmp_path, cli):
    """Two inline forwards of one lead whose printed times are five hours apart (an agent's
    clock in another zone) are two leads; a third printed in between shares a guessed minute
    with each and makes them one: the copies of one of the two take the other's key, and its
    stored lead goes. An incremental refresh that keyed only the new copy, or stored only its
    lead, would keep two leads."""
    after = _ingest_in_turn(cli, workspace_dir, tmp_path, [
        [_cc("<other@lead.seloger.com>", "Wed, 11 Mar 2026 09:00:00 +0100", body="Marie Curie demande une visite.\n")],
        [_forward(1, "jeudi 12 mars 2026 13:04", date="Thu, 12 Mar 2026 18:10:00 +0100")],
        [_forward(2, "jeudi 12 mars 2026 18:04", date="Thu, 12 Mar 2026 18:20:00 +0100")],
        [_forward(3, "jeudi 12 mars 2026 15:04", date="Thu, 12 Mar 2026 18:30:00 +0100")],
    ])
    assert len(after[2]["lead_rows"]) == 3  # the two forwards were two leads
    keys = _keys(workspace_dir)
    assert keys["fwd-1@agence-exemple.fr"] == keys["fwd-2@agence-exemple.fr"] == keys["fwd-3@agence-exemple.fr"]
    assert len(after[3]["lead_rows"]) == 2
    _full_refresh_agrees(workspace_dir, after[3])


def test_a_new_copy_of_another_lead_changes_no_key(workspace_dir, tmp_path, cli):
    """A new lead and a second copy of a stored one (the same Message-ID) leave every other
    copy's key as it was, and add one lead."""
    after = _ingest_in_turn(cli, workspace_dir, tmp_path, [
        [_cc("<a@lead.seloger.com>", "Thu, 12 Mar 2026 18:04:11 +0100"),
         _forward(1, "jeudi 12 mars 2026 18:04", date="Thu, 12 Mar 2026 18:10:00 +0100")],
        [_cc("<b@lead.seloger.com>", "Fri, 13 Mar 2026 10:00:00 +0100", body="Marie Curie demande une visite.\n"),
         _cc("<a@lead.seloger.com>", "Thu, 12 Mar 2026 18:04:11 +0100",
             body="Jean Dupont s'intéresse à ce bien.\nRef. de l'annonce : A123\n\n-- \nCopie\n")],
    ])
    before, now = ({r[0]: r[6] for r in piece["attribution"]} for piece in after)
    assert all(now[key] == lead_key for key, lead_key in before.items())
    assert len(after[1]["lead_rows"]) == len(after[0]["lead_rows"]) + 1 == 2
    _full_refresh_agrees(workspace_dir, after[1])


def test_a_forward_arriving_a_month_later_joins_its_lead(workspace_dir, tmp_path, cli):
    """An agent forwards in April a lead that arrived in March: the forward's header gives the
    March minute, so it joins the March lead (one more copy in its stored row), though the new
    copy arrived in April."""
    after = _ingest_in_turn(cli, workspace_dir, tmp_path, [
        [_cc("<a@lead.seloger.com>", "Thu, 12 Mar 2026 18:04:11 +0100")],
        [_forward(1, "jeudi 12 mars 2026 18:04", date="Tue, 14 Apr 2026 09:00:00 +0200")],
    ])
    keys = _keys(workspace_dir)
    assert keys["fwd-1@agence-exemple.fr"] == keys["a@lead.seloger.com"]
    (lead,) = after[1]["lead_rows"]
    assert lead != after[0]["lead_rows"][0]
    _full_refresh_agrees(workspace_dir, after[1])


def test_a_lead_that_moves_month_leaves_no_row_in_its_old_month(workspace_dir, tmp_path, cli):
    """A forward printed 00:10 on 1 April (its time a guess) is a lead of April until the original
    arrives, sent at 23:10 on 31 March: the forward joins it (its body an hour off), the lead takes
    the original's time, and so March. The April row must go."""
    after = _ingest_in_turn(cli, workspace_dir, tmp_path, [
        [_forward(1, "mercredi 1 avril 2026 00:10", date="Wed, 01 Apr 2026 08:00:00 +0200")],
        [_cc("<a@lead.seloger.com>", "Tue, 31 Mar 2026 23:10:00 +0200")],
    ])
    months = [[row[2] for row in piece["lead_rows"]] for piece in after]
    assert months == [["2026-04"], ["2026-03"]]
    _full_refresh_agrees(workspace_dir, after[1])


def test_a_reparsed_copy_leaves_the_lead_it_was_in(workspace_dir, tmp_path, cli):
    """A copy an older parser read with another date (April, where it linked to nothing) is parsed
    again by the next ingest (March, where it joins a stored lead): ingest deletes its attribution,
    and with it the key it had; its April lead must go all the same. (The older parser's reading
    is written into the store, as that parser would have left it.)"""
    from emailtrack_analytics.ingest.parsing.message import PARSER_VERSION
    after = _ingest_in_turn(cli, workspace_dir, tmp_path, [
        [_cc("<a@lead.seloger.com>", "Thu, 12 Mar 2026 18:04:11 +0100"),
         _forward(1, "jeudi 12 mars 2026 18:04", date="Thu, 12 Mar 2026 18:10:00 +0100")],
    ])
    workspace = open_workspace(workspace_dir)
    con = connect(workspace.database)
    try:
        con.execute("UPDATE stored_messages SET parser_version = ?, received_at = received_at + INTERVAL 30 DAY "
                    "WHERE message_id = 'fwd-1@agence-exemple.fr'", [PARSER_VERSION - 1])
        assert refresh_attribution(con, workspace, force=True).full
    finally:
        con.close()
    months = sorted(row[2] for row in results(workspace_dir)["lead_rows"])
    assert months == ["2026-03", "2026-04"]
    after = _ingest_in_turn(cli, workspace_dir, tmp_path / "later", [
        [_cc("<b@lead.seloger.com>", "Fri, 13 Mar 2026 10:00:00 +0100", body="Marie Curie demande une visite.\n")],
    ])
    assert sorted(row[2] for row in after[0]["lead_rows"]) == ["2026-03", "2026-03"]
    _full_refresh_agrees(workspace_dir, after[0])
