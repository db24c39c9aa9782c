"""Ingest into a real DuckDB file: once-only storage, the ledger, quarantine, config changes."""

from __future__ import annotations

import csv
import io
import os
import shutil

import duckdb
import pytest

from emailtrack_analytics.attribution.refresh import lead_month_batches, store_leads
from emailtrack_analytics.config.workspace import load_config
from emailtrack_analytics.ingest.pipeline import ingest
from emailtrack_analytics.store.db import connect
from emailtrack_analytics.store.migrations import MIGRATIONS
from tests.builders import lead, mbox, outlook_forward


def rows(workspace, query):
    con = duckdb.connect(str(workspace.database), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def export_csv(cli, ws_dir, table, *args) -> list[dict]:
    result = cli("--workspace", ws_dir, "export", table, *args)
    assert result.code == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


def sample_inputs(folder):
    folder.mkdir()
    tracked = {"Delivered-To": "lyon2@track.example.net"}
    (folder / "march.mbox").write_bytes(mbox(
        lead(cc="lyon2@track.example.net", top=tracked),
        lead(message_id="<lead-2@lead.seloger.com>", cc="paris11@track.example.net",
             top={"Delivered-To": "paris11@track.example.net"}),
    ))
    (folder / "eml").mkdir()
    # the first message of the mbox again, exported alone with CRLF line endings
    (folder / "eml" / "copy.eml").write_bytes(lead(cc="lyon2@track.example.net", top=tracked).replace(b"\n", b"\r\n"))
    (folder / "eml" / "forward.eml").write_bytes(outlook_forward(body="Autre prospect.\n", sent="jeudi 12 mars 2026 20:00"))
    (folder / "eml" / "broken.eml").write_bytes(b"\x00\x01\x02 not an email at all")
    (folder / "eml" / "empty.eml").write_bytes(b"")


def test_ingest_counts_and_once_only(workspace, tmp_path):
    sample_inputs(tmp_path / "in")
    first = ingest(workspace, [tmp_path / "in"], workers=1)
    assert (first.new, first.already_stored, first.quarantined) == (3, 1, 2)
    assert first.files_read == 5
    again = ingest(workspace, [tmp_path / "in"], workers=1)
    assert (again.new, again.already_stored, again.quarantined, again.files_skipped) == (0, 0, 0, 5)
    assert rows(workspace, "SELECT count(*) FROM stored_messages") == [(3,)]
    assert rows(workspace, "SELECT count(*) FROM quarantine_items") == [(2,)]


def test_unchanged_files_are_skipped_without_being_opened(workspace, tmp_path, monkeypatch):
    """The ledger is checked before a file's kind is detected: re-ingesting a folder of many
    small files does not read them (nor a symlink to one, known by its real path)."""
    import emailtrack_analytics.ingest.sources as sources

    sample_inputs(tmp_path / "in")
    (tmp_path / "in" / "link.eml").symlink_to(tmp_path / "in" / "eml" / "forward.eml")
    first = ingest(workspace, [tmp_path / "in"], workers=1)
    assert (first.files_read, first.already_stored) == (6, 2)

    def opened(path):
        raise AssertionError(f"{path} was opened to detect its kind")

    monkeypatch.setattr(sources, "detect", opened)
    again = ingest(workspace, [tmp_path / "in"], workers=1)
    assert (again.files_read, again.files_skipped, again.new) == (0, 6, 0)
    (tmp_path / "in" / "eml" / "empty.eml").write_bytes(b"\n")  # changed: detected and read again
    with pytest.raises(AssertionError, match="empty.eml was opened"):
        ingest(workspace, [tmp_path / "in"], workers=1)


def test_changed_file_is_read_again_without_duplicates(workspace, tmp_path):
    sample_inputs(tmp_path / "in")
    ingest(workspace, [tmp_path / "in"], workers=1)
    box = tmp_path / "in" / "march.mbox"
    box.write_bytes(box.read_bytes() + mbox(lead(message_id="<lead-3@lead.seloger.com>")))
    (tmp_path / "in" / "eml" / "broken.eml").write_bytes(b"\x00 still broken")
    os.utime(box, ns=(1, 1))
    result = ingest(workspace, [tmp_path / "in"], workers=1)
    assert (result.new, result.already_stored, result.files_read, result.files_skipped) == (1, 2, 2, 3)
    # the changed broken file's old quarantine entry is replaced, not added to
    assert rows(workspace, "SELECT count(*) FROM quarantine_items") == [(2,)]


def eml_folder(folder, count: int) -> dict[str, tuple[int, int, int]]:
    """``count`` single-message files (every 50th a copy of the one before, every 70th broken)
    in 4 sub-folders, and the ledger entry each must get: (items, new, quarantined)."""
    expected = {}
    for n in range(count):
        path = folder / f"box{n % 4}" / f"{n:04d}.eml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if n % 70 == 69:
            path.write_bytes(b"\x00\x01 not a message")
            expected[path.name] = (1, 0, 1)
        elif n % 50 == 49:
            path.write_bytes(lead(message_id=f"<lead-{n - 1}@lead.seloger.com>", subject=f"Lead {n - 1}"))
            expected[path.name] = (1, 0, 0)  # already stored: the file before holds the same bytes
        else:
            path.write_bytes(lead(message_id=f"<lead-{n}@lead.seloger.com>", subject=f"Lead {n}"))
            expected[path.name] = (1, 1, 0)
    return expected


def test_a_folder_of_single_message_files_is_read_in_groups_with_each_file_in_the_ledger(
        workspace, tmp_path, monkeypatch):
    """Files are read, keyed and parsed together (in the workers, a shard at a time) and stored
    in one batch per shard, and each still gets its own ledger entry and quarantine entries; a
    changed file alone is read again."""
    import emailtrack_analytics.ingest.pipeline as ingest_module

    monkeypatch.setattr(ingest_module, "SHARD_FILES", 300)  # shards of 300, 300 and 100 files
    expected = eml_folder(tmp_path / "in", 700)
    batches = []
    real_append = ingest_module.append_batch
    monkeypatch.setattr(ingest_module, "append_batch",
                        lambda con, *args, **kwargs: batches.append(kwargs["paths"]) or real_append(con, *args, **kwargs))
    result = ingest(workspace, [tmp_path / "in"], workers=2)
    assert (result.files_read, result.new, result.already_stored, result.quarantined) == (700, 678, 12, 10)
    assert [len(paths) for paths in batches] == [300, 300, 100]
    ledger = {os.path.basename(path): (items, new, quarantined) for path, items, new, quarantined in
              rows(workspace, "SELECT path, items, new_items, quarantined FROM ingested_files")}
    assert ledger == expected
    quarantined = rows(workspace, "SELECT file_path, source, reason FROM quarantine_items")
    assert sorted((os.path.basename(path), reason) for path, _, reason in quarantined) == \
        [(f"{n:04d}.eml", "not_an_email") for n in range(69, 700, 70)]
    assert all(source.endswith(os.path.basename(path)) for path, source, _ in quarantined)
    assert rows(workspace, "SELECT count(*) FROM stored_messages") == [(678,)]

    changed = tmp_path / "in" / "box1" / "0069.eml"
    changed.write_bytes(lead(message_id="<lead-69@lead.seloger.com>", subject="Lead 69"))
    again = ingest(workspace, [tmp_path / "in"], workers=2)
    assert (again.files_read, again.files_skipped, again.new, again.quarantined) == (1, 699, 1, 0)
    assert rows(workspace, "SELECT count(*) FROM quarantine_items") == [(9,)]  # its entry went


@pytest.mark.parametrize("workers", [1, 2])
def test_identical_broken_messages_are_each_quarantined(workspace, tmp_path, workers):
    """The second copy of a message that cannot be stored was counted "already stored" while
    the first was still being parsed, and was then neither stored nor quarantined."""
    broken = b"this line is no header\nnor is this one\n"
    leads = [lead(message_id=f"<lead-{n}@lead.seloger.com>", subject=f"Lead {n}") for n in range(600)]
    # copies 3 apart in the first chunk, and 597 apart: across chunks in flight together
    (tmp_path / "box.mbox").write_bytes(mbox(leads[0], broken, leads[1], leads[2], broken, *leads[3:600], broken))
    result = ingest(workspace, [tmp_path / "box.mbox"], workers=workers)
    assert (result.new, result.already_stored, result.quarantined) == (600, 0, 3)
    assert [(os.path.basename(source), reason) for source, reason in
            rows(workspace, "SELECT source, reason FROM quarantine_items ORDER BY source")] == [
        ("box.mbox:2", "not_an_email"), ("box.mbox:5", "not_an_email"), ("box.mbox:603", "not_an_email")]
    assert rows(workspace, "SELECT count(*) FROM sightings WHERE message_key NOT IN "
                           "(SELECT message_key FROM stored_messages)") == [(0,)]


def test_quarantine_keeps_source_position_reason_and_bytes(workspace, tmp_path, cli):
    sample_inputs(tmp_path / "in")
    ingest(workspace, [tmp_path / "in"], workers=1)
    exported = export_csv(cli, workspace.root, "quarantine")
    by_reason = {r["reason"]: r["source"] for r in exported}
    assert by_reason["not_an_email"].endswith("in/eml/broken.eml")
    assert by_reason["empty"].endswith("in/eml/empty.eml")
    kept = rows(workspace, "SELECT size, raw_zlib IS NOT NULL FROM quarantine_items WHERE reason = 'not_an_email'")
    assert kept == [(len(b"\x00\x01\x02 not an email at all"), True)]


def test_mbox_positions_in_source(workspace, tmp_path, cli):
    sample_inputs(tmp_path / "in")
    ingest(workspace, [tmp_path / "in" / "march.mbox"], workers=1)
    sources = sorted(r["source"] for r in export_csv(cli, workspace.root, "messages"))
    assert sources == [f"{(tmp_path / 'in' / 'march.mbox').as_posix()}:{n}" for n in (1, 2)]


def test_messages_export_columns_and_values(workspace, tmp_path, cli):
    sample_inputs(tmp_path / "in")
    ingest(workspace, [tmp_path / "in"], workers=1)
    result = cli("--workspace", workspace.root, "export", "messages")
    header = result.out.splitlines()[0]
    assert header == ("message_key,message_id,received_at,month,sender,subject,point_of_sale,portal,"
                      "channel,category,lead_key,role,source")
    exported = {r["message_id"]: r for r in csv.DictReader(io.StringIO(result.out))}
    first = exported["lead-1@lead.seloger.com"]
    assert first["received_at"] == "2026-03-12T17:04:11Z"
    assert first["month"] == "2026-03"
    assert (first["point_of_sale"], first["portal"], first["channel"], first["category"], first["role"]) == \
        ("lyon-2", "seloger", "cc", "lead", "tracking")
    forward = exported["fwd-1@agence-exemple.fr"]
    assert (forward["sender"], forward["channel"], forward["portal"]) == \
        ("noreply@lead.seloger.com", "forward", "seloger")


def test_leads_export_counts_each_lead_once_per_point_of_sale(workspace, tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    tracked = {"Delivered-To": "lyon2@track.example.net"}
    # the same lead through CC and through a Gmail filter forward: two copies, one lead
    (folder / "cc.eml").write_bytes(lead(cc="lyon2@track.example.net", top=tracked))
    (folder / "gmail.eml").write_bytes(lead(top={**tracked, "X-Forwarded-To": "lyon2@track.example.net"}))
    ingest(workspace, [folder], workers=1)
    leads = export_csv(cli, workspace.root, "leads")
    assert len(leads) == 1
    assert (leads[0]["point_of_sale"], leads[0]["portal"], leads[0]["copies"]) == ("lyon-2", "seloger", "2")
    assert list(leads[0]) == ["lead_key", "received_at", "month", "portal", "point_of_sale", "channel", "copies"]


def test_config_change_applies_without_reingest(workspace_dir, tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.eml").write_bytes(lead(sender="leads@new-portal.example", subject="Nouveau contact", to="lyon3@agence-lyon3.fr",
                                        cc="lyon3@track.example.net", message_id="<n-1@new-portal.example>",
                                        body="Nom : Lou Bernard\nTéléphone : 06 12 34 56 78\n",
                                        top={"Delivered-To": "lyon3@track.example.net"}))
    assert cli("--workspace", workspace_dir, "ingest", folder).code == 0
    before = export_csv(cli, workspace_dir, "messages")[0]
    assert (before["point_of_sale"], before["portal"]) == ("", "")
    config = workspace_dir / "emailtrack.toml"
    config.write_text(config.read_text() + """
[[points_of_sale]]
id = "lyon-3"
tracked_addresses = ["lyon3@track.example.net"]

[[portals]]
id = "new-portal"
senders = ["@new-portal.example"]
""")
    after = export_csv(cli, workspace_dir, "messages")[0]
    assert (after["point_of_sale"], after["portal"], after["category"]) == ("lyon-3", "new-portal", "lead")


def test_migrations_are_recorded_once(workspace):
    connect(workspace.database).close()
    connect(workspace.database).close()
    names = rows(workspace, "SELECT name FROM schema_migrations ORDER BY name")
    assert names == [(name,) for name, _ in MIGRATIONS]


def test_database_is_private(workspace):
    connect(workspace.database).close()
    assert os.stat(workspace.database).st_mode & 0o077 == 0


def test_parallel_workers_store_the_same_rows(workspace_dir, tmp_path):
    many = [lead(message_id=f"<m{i}@lead.seloger.com>", cc="lyon2@track.example.net",
                 body=f"Prospect {i} s'intéresse à ce bien.\n") for i in range(450)]
    (tmp_path / "big.mbox").write_bytes(mbox(*many))
    results = {}
    for workers in (1, 2):
        ws_dir = tmp_path / f"ws{workers}"
        ws_dir.mkdir()
        (ws_dir / "emailtrack.toml").write_text((workspace_dir / "emailtrack.toml").read_text())
        ws = load_config(ws_dir / "emailtrack.toml")
        summary = ingest(ws, [tmp_path / "big.mbox"], workers=workers)
        assert summary.new == 450
        results[workers] = rows(ws, "SELECT m.message_key, a.point_of_sale, a.category, a.lead_key "
                                    "FROM stored_messages m JOIN attribution a USING (message_key) ORDER BY 1")
    assert results[1] == results[2]


def test_copies_stored_by_an_older_parser_are_parsed_again(workspace, tmp_path):
    sample_inputs(tmp_path / "in")
    ingest(workspace, [tmp_path / "in"], workers=1)
    con = duckdb.connect(str(workspace.database))
    con.execute("UPDATE stored_messages SET parser_version = 0, sender = 'stale@example.net'")
    con.close()
    result = ingest(workspace, [tmp_path / "in"], workers=1)
    assert (result.reparsed, result.new, result.files_skipped) == (3, 0, 5)
    assert rows(workspace, "SELECT count(*) FROM stored_messages WHERE sender = 'stale@example.net'") == [(0,)]
    # where each copy was first seen is kept
    assert sorted(r[0].rsplit("/", 1)[-1] for r in rows(workspace, "SELECT first_source FROM stored_messages")) == \
        ["forward.eml", "march.mbox:1", "march.mbox:2"]
    assert rows(workspace, "SELECT count(*) FROM attribution") == [(3,)]


def test_reply_referencing_a_stored_lead_is_a_follow_up(workspace, tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "lead.eml").write_bytes(lead(cc="lyon2@track.example.net"))
    (folder / "reply.eml").write_bytes(lead(
        sender="jeanne.martin@example.fr", subject="Re: votre réponse", message_id="<reply-1@example.fr>",
        cc="lyon2@track.example.net", headers={"In-Reply-To": "<lead-1@lead.seloger.com>"}))
    ingest(workspace, [folder], workers=1)
    categories = {r["message_id"]: r["category"] for r in export_csv(cli, workspace.root, "messages")}
    assert categories == {"lead-1@lead.seloger.com": "lead", "reply-1@example.fr": "follow_up"}


def test_two_prospects_same_listing_same_minute_stay_two_leads(workspace, tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    for number, name in enumerate(["Jeanne Martin", "Paul Durand"]):
        # forwarded inline: no Message-ID to tell them apart, same sender, minute and subject
        (folder / f"{number}.eml").write_bytes(outlook_forward(
            body=f"{name} s'intéresse à ce bien.\nRef. de l'annonce : A123\n", message_id=f"<fwd-{number}@x>"))
    ingest(workspace, [folder], workers=1)
    leads = export_csv(cli, workspace.root, "leads")
    assert len(leads) == 2 and len({r["lead_key"] for r in leads}) == 2


def test_forward_and_cc_copies_of_one_lead_are_one_lead(workspace, tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "cc.eml").write_bytes(lead(cc="lyon2@track.example.net", date="Thu, 12 Mar 2026 18:04:11 +0100"))
    (folder / "fwd.eml").write_bytes(outlook_forward(sent="jeudi 12 mars 2026 18:04"))
    ingest(workspace, [folder], workers=1)
    leads = export_csv(cli, workspace.root, "leads")
    assert [(r["point_of_sale"], r["copies"], r["channel"]) for r in leads] == [("lyon-2", "2", "cc")]


def test_distribution_log_dispatches_one_copy_to_several_points_of_sale(workspace, tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "copy.eml").write_bytes(lead(sender="formulaire@agence-exemple.fr",
                                           subject="Demande de contact - T3 (LYO2-1)",
                                           message_id="<web-1@agence-exemple.fr>", to="reseau@track.example.net",
                                           top={"Delivered-To": "reseau@track.example.net"}))
    (folder / "dispatch.csv").write_text(
        "received_at,message_id,sender,subject,delivered_to\n"
        "2026-03-12T18:04:20+01:00,<web-1@agence-exemple.fr>,formulaire@agence-exemple.fr,Demande,lyon2@agence-exemple.fr\n"
        "2026-03-12T18:04:22+01:00,<web-1@agence-exemple.fr>,formulaire@agence-exemple.fr,Demande,paris11@agence-exemple.fr\n"
        "2026-03-12T18:04:24+01:00,<web-1@agence-exemple.fr>,formulaire@agence-exemple.fr,Demande,reseau@track.example.net\n"
        "2026-03-12T19:00:00,<never-tracked@x>,a@b.fr,Other,paris11@agence-exemple.fr\n"
        "not a date,<x>,a@b.fr,Broken,paris11@agence-exemple.fr\n")
    summary = ingest(workspace, [folder], workers=1)
    assert (summary.new, summary.log_rows, summary.quarantined) == (1, 4, 1)
    messages = export_csv(cli, workspace.root, "messages")
    assert [(m["channel"], m["point_of_sale"], m["portal"]) for m in messages] == [("distribution", "", "site-agence")]
    leads = export_csv(cli, workspace.root, "leads")
    assert sorted(r["point_of_sale"] for r in leads) == ["lyon-2", "paris-11"]
    assert len({r["lead_key"] for r in leads}) == 1
    assert rows(workspace, "SELECT count(*) FROM distribution_log WHERE message_id = 'never-tracked@x'") == [(1,)]
    quarantined = export_csv(cli, workspace.root, "quarantine")
    assert [(q["source"].rsplit("/", 1)[-1], q["reason"]) for q in quarantined] == [("dispatch.csv:6", "bad_log_row")]


def test_redirect_and_cc_copies_of_one_lead_are_one_lead(workspace, tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "cc.eml").write_bytes(lead(cc="lyon2@track.example.net", top={"Delivered-To": "lyon2@track.example.net"}))
    (folder / "redirect.eml").write_bytes(lead(top={"Delivered-To": "lyon2@track.example.net",
                                                    "Resent-To": "lyon2@track.example.net",
                                                    "Resent-From": "lyon2@agence-exemple.fr"}))
    ingest(workspace, [folder], workers=1)
    channels = sorted(r["channel"] for r in export_csv(cli, workspace.root, "messages"))
    assert channels == ["cc", "redirect"]
    leads = export_csv(cli, workspace.root, "leads")
    assert [(r["point_of_sale"], r["copies"]) for r in leads] == [("lyon-2", "2")]


def test_stored_leads_are_the_computed_leads_after_every_refresh(workspace_dir, tmp_path, cli):
    copies = [lead(message_id=f"<s{i}@lead.seloger.com>", cc="lyon2@track.example.net",
                   body=f"Prospect {i} s'intéresse à ce bien.\n") for i in range(5)]
    for step, chunk in enumerate((copies[:3], copies[3:])):
        folder = tmp_path / f"in{step}"
        folder.mkdir()
        for i, raw in enumerate(chunk):
            (folder / f"{i}.eml").write_bytes(raw)
        assert cli("--workspace", workspace_dir, "ingest", folder).code == 0
        con = duckdb.connect(str(workspace_dir / "data" / "emailtrack.duckdb"), read_only=True)
        try:
            stored = con.execute("SELECT * FROM lead_rows ORDER BY ALL").fetchall()
            computed = con.execute("SELECT * FROM leads_computed ORDER BY ALL").fetchall()
        finally:
            con.close()
        assert stored == computed and len(stored) == 3 + 2 * step


def test_leads_stored_a_few_months_at_a_time_are_the_leads_grouped_at_once(sample_workspace, tmp_path):
    """A large workspace groups its leads in batches of months (bounded memory); a lead whose
    copies span two batches is still one row, in the batch of its month."""
    database = tmp_path / "copy.duckdb"
    shutil.copy(sample_workspace / "data" / "emailtrack.duckdb", database)
    con = connect(database)
    try:
        # leads with a later copy filed a month later (as a copy received on the 1st would be)
        con.execute("""
            CREATE TEMP TABLE later AS
            SELECT max(message_key) AS message_key FROM lead_copies
            GROUP BY lead_key HAVING count(DISTINCT message_key) > 1 ORDER BY lead_key LIMIT 50""")
        con.execute("UPDATE stored_messages SET received_at = received_at + INTERVAL 1 SECOND "
                    "WHERE message_key IN (SELECT message_key FROM later)")
        con.execute("""
            UPDATE attribution SET month = strftime(CAST(month || '-01' AS DATE) + INTERVAL 1 MONTH, '%Y-%m')
            WHERE message_key IN (SELECT message_key FROM later)""")
        whole = con.execute("SELECT * FROM leads_computed ORDER BY ALL").fetchall()
        batches = lead_month_batches(con, 1)
        assert len(batches) == con.execute("SELECT count(DISTINCT month) FROM attribution "
                                           "WHERE category = 'lead' AND role = 'tracking'").fetchone()[0] >= 12
        spanning = con.execute("SELECT count(*) FROM (SELECT lead_key FROM lead_copies GROUP BY lead_key "
                               "HAVING count(DISTINCT month) > 1)").fetchone()[0]
        assert spanning == 50
        assert store_leads(con, batch_copies=1) == len(whole)
        assert con.execute("SELECT * FROM lead_rows ORDER BY ALL").fetchall() == whole
    finally:
        con.close()


def test_log_rows_handed_to_the_writer_in_batches_are_all_stored_with_their_ledger_counts(
        workspace, tmp_path, monkeypatch):
    """Distribution rows and mail log events take one path: batches of LOG_BATCH rows, bad rows
    and lines quarantined, and each file's ledger entry counts what it held."""
    import emailtrack_analytics.ingest.pipeline as ingest_module
    from tests.ingest.test_postfix import LEAD

    monkeypatch.setattr(ingest_module, "LOG_BATCH", 2)  # 5 rows: batches of 2, 2 and 1
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "dispatch.csv").write_text(
        "received_at,message_id,sender,subject,delivered_to\n"
        + "".join(f"2026-03-12T18:0{n}:00+01:00,<web-{n}@agence-exemple.fr>,formulaire@agence-exemple.fr,"
                  f"Demande {n},lyon2@agence-exemple.fr\n" for n in range(5))
        + "not a date,<x>,a@b.fr,Broken,paris11@agence-exemple.fr\n")
    cut = "Mar 12 18:05:02 mx postfix/smtp[105]: 4A1B2C3D4E: to=<lyon2@tra"
    (folder / "mail.log").write_text(LEAD + cut)
    summary = ingest(workspace, [folder], workers=1)
    assert (summary.log_rows, summary.quarantined, summary.files_read) == (5 + 2, 1 + 1, 2)
    ledger = {os.path.basename(path): (kind, items, new, quarantined) for path, kind, items, new, quarantined in
              rows(workspace, "SELECT path, kind, items, new_items, quarantined FROM ingested_files")}
    assert ledger == {"dispatch.csv": ("distribution", 6, 5, 1), "mail.log": ("postfix", 3, 2, 1)}
    assert rows(workspace, "SELECT count(*) FROM distribution_log") == [(5,)]
    assert rows(workspace, "SELECT count(*) FROM log_events") == [(2,)]
    assert sorted((source.rsplit("/", 1)[-1], reason) for source, reason in
                  rows(workspace, "SELECT source, reason FROM quarantine_items")) == \
        [("dispatch.csv:7", "bad_log_row"), ("mail.log:7", "truncated_log_line")]
