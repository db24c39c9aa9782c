"""Privacy (GDPR): pseudonyms by default in exports, `forget` erases one person everywhere (the
whole database, its file and the report folder are searched afterwards), `purge` enforces
retention, and the counts survive both."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import zlib

import duckdb
import pytest

from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.ops.privacy import purge
from tests.builders import lead
from tests.conftest import SAMPLE_END_MONTH, run_cli


def export(ws, *args) -> list[dict]:
    result = run_cli("--workspace", ws, "export", *map(str, args))
    assert result.code == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


@pytest.fixture
def sample_copy(sample_workspace, tmp_path):
    """A private copy of the ingested sample: these tests change it."""
    root = tmp_path / "ws"
    shutil.copytree(sample_workspace, root, ignore=shutil.ignore_patterns("reports"))
    return root


def repeat_prospect(root) -> tuple[str, str, str]:
    """A prospect (not a portal relay address) whose lead arrived as several copies."""
    con = duckdb.connect(str(root / "data" / "emailtrack.duckdb"), read_only=True)
    try:
        return con.execute("SELECT email, phone, any_value(name) FROM lead_contacts WHERE NOT email_is_relay "
                           "GROUP BY email, phone HAVING count(*) >= 2 ORDER BY email LIMIT 1").fetchone()
    finally:
        con.close()


def occurrences(root, needle: str) -> dict[str, int]:
    """Where ``needle`` still appears: every text and list column of every table, every stored
    blob decompressed, the bytes of the database files, and every file under reports/."""
    needle = needle.lower()
    found: dict[str, int] = {}
    database = root / "data" / "emailtrack.duckdb"
    con = duckdb.connect(str(database), read_only=True)
    try:
        columns = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                              "WHERE table_schema = 'main' AND table_name IN "
                              "(SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')"
                              ).fetchall()
        for table, column, kind in columns:
            if kind == "VARCHAR":
                n = con.execute(f'SELECT count(*) FROM {table} WHERE contains(lower("{column}"), ?)', [needle]).fetchone()[0]
            elif kind == "VARCHAR[]":
                n = con.execute(f'SELECT count(*) FROM {table} WHERE contains(lower(array_to_string("{column}", \' \')), ?)',
                                [needle]).fetchone()[0]
            elif kind == "BLOB":
                n = sum(needle.encode() in zlib.decompress(blob).lower()
                        for (blob,) in con.execute(f'SELECT "{column}" FROM {table} WHERE "{column}" IS NOT NULL').fetchall())
            else:
                continue
            if n:
                found[f"{table}.{column}"] = n
    finally:
        con.close()
    for path in [database, database.with_name(database.name + ".wal"), *(root / "reports").rglob("*")]:
        if path.is_file() and needle.encode() in path.read_bytes().lower():
            found[str(path.relative_to(root))] = 1
    return found


def test_exports_show_pseudonyms_by_default(sample_workspace):
    email, phone, name = repeat_prospect(sample_workspace)
    contacts = export(sample_workspace, "contacts")
    plain = export(sample_workspace, "contacts", "--personal-data")
    assert len(contacts) == len(plain) > 100
    rows = [c for c, p in zip(contacts, plain, strict=True) if p["email"] == email]
    assert len(rows) >= 2
    # the same prospect gets the same pseudonym: repeat prospects can still be counted
    assert len({(r["email"], r["phone"], r["name"]) for r in rows}) == 1
    pseudonym = rows[0]
    assert pseudonym["email"].startswith("p-") and pseudonym["email"].endswith("@" + email.split("@")[1])
    assert pseudonym["phone"].startswith("p-") and pseudonym["name"].startswith("p-")
    assert len({c["email"] for c in contacts}) == len({p["email"] for p in plain})
    everything = "".join(run_cli("--workspace", sample_workspace, "export", t).out
                         for t in ("messages", "contacts", "forward-events", "leads", "coverage", "quarantine"))
    for value in (email, phone, name):
        assert value not in everything
    assert email in run_cli("--workspace", sample_workspace, "export", "contacts", "--personal-data").out


def test_portal_and_workspace_addresses_stay_readable(sample_workspace):
    senders = {row["sender"] for row in export(sample_workspace, "messages")}
    assert "contact@lead.seloger.com" in senders  # a role address
    # a portal's address the catalogue names exactly, whatever its local part
    assert "nouveau.contact@myselogerpro.nmp1.com" in senders
    assert not any(s.startswith("p-") for s in senders if s.endswith(("@lead.seloger.com", "nmp1.com")))
    # a portal's relay address, one per prospect, is personal: its local part is a pseudonym
    relays = [s for s in senders if s.endswith("@messagerie.leboncoin.fr")]
    assert relays and all(s.startswith("p-") for s in relays)


def test_pseudonyms_are_keyed_per_workspace(sample_workspace, sample_copy, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(sample_workspace, other, ignore=shutil.ignore_patterns("data"))
    shutil.copytree(sample_workspace / "data" / "sample", other / "data" / "sample")
    assert run_cli("--workspace", other, "ingest", other / "data" / "sample").code == 0
    mine = {r["message_key"]: r["email"] for r in export(sample_copy, "contacts")}
    theirs = {r["message_key"]: r["email"] for r in export(other, "contacts")}
    common = {k for k in mine.keys() & theirs.keys() if mine[k]}
    assert len(common) > 100
    assert all(mine[k] != theirs[k] for k in common)


def test_forget_email_erases_the_person_everywhere_and_keeps_the_counts(sample_copy):
    email, phone, name = repeat_prospect(sample_copy)
    run_cli("--workspace", sample_copy, "report", "monthly", "--month", SAMPLE_END_MONTH)
    leads_before = export(sample_copy, "leads")
    before = occurrences(sample_copy, email)
    assert "lead_details.email" in before and "raw_messages.raw_zlib" in before  # the search can find it

    dry = run_cli("--workspace", sample_copy, "forget", "--email", email.upper(), "--dry-run")
    assert dry.code == 0 and "would erase" in dry.out
    assert occurrences(sample_copy, email) == before

    result = run_cli("--workspace", sample_copy, "forget", "--email", email.upper())
    assert result.code == 0, result.err
    assert email not in result.out + result.err  # the output names the pseudonym, not the person
    copies = before["lead_details.email"]
    assert f"erased {copies} messages, {copies} raw copies, {copies} lead details" in result.out
    assert occurrences(sample_copy, email) == {}
    assert occurrences(sample_copy, phone) == {}
    assert export(sample_copy, "leads") == leads_before  # the lead is still counted


def test_forget_phone_in_any_usual_form(sample_copy):
    email, phone, _ = repeat_prospect(sample_copy)
    national = "0" + phone[3:4] + " " + " ".join(phone[i:i + 2] for i in range(4, 12, 2))
    result = run_cli("--workspace", sample_copy, "forget", "--phone", national)
    assert result.code == 0, result.err
    assert "erased nothing" not in result.out
    assert occurrences(sample_copy, phone) == {}
    assert occurrences(sample_copy, email) == {}  # the same lead copies carried the address


def test_a_forgotten_person_ingested_again_is_erased_again(sample_copy, tmp_path):
    email = "revenant.prospect@example.org"
    message = lead(message_id="<revenant-1@lead.seloger.com>", cc="lyon2@track.example.net",
                   body=f"Nom : Jean Revenant\nEmail : {email}\nTéléphone : 06 11 22 33 44\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "first.eml").write_bytes(message)
    assert run_cli("--workspace", sample_copy, "ingest", tmp_path / "in").code == 0
    assert occurrences(sample_copy, email)
    assert run_cli("--workspace", sample_copy, "forget", "--email", email).code == 0
    assert occurrences(sample_copy, email) == {}
    # the same lead again, in a new export (another copy: another key)
    (tmp_path / "in2").mkdir()
    (tmp_path / "in2" / "again.eml").write_bytes(message.replace(b"<revenant-1@", b"<revenant-2@"))
    result = run_cli("--workspace", sample_copy, "ingest", tmp_path / "in2")
    assert result.out.startswith("1 new")
    found = occurrences(sample_copy, email)
    assert "lead_details.email" not in found and "stored_messages.body_text" not in found
    assert "raw_messages.raw_zlib" not in found


def test_purge_before_a_month_erases_older_personal_data_and_keeps_the_counts(sample_copy):
    before_month = "2026-05"
    leads_before = export(sample_copy, "leads")
    coverage_before = export(sample_copy, "coverage")
    old_contacts = [r for r in export(sample_copy, "contacts", "--personal-data") if r["month"] < before_month]
    kept_contacts = [r for r in export(sample_copy, "contacts", "--personal-data") if r["month"] >= before_month]
    assert old_contacts and kept_contacts

    dry = run_cli("--workspace", sample_copy, "purge", "--before", before_month, "--dry-run")
    assert dry.code == 0 and "would erase" in dry.out
    assert len(export(sample_copy, "contacts")) == len(old_contacts) + len(kept_contacts)

    con = duckdb.connect(str(sample_copy / "data" / "emailtrack.duckdb"), read_only=True)
    details_old = con.execute("SELECT count(*) FROM lead_details JOIN attribution USING (message_key) "
                              "WHERE month < ?", [before_month]).fetchone()[0]
    con.close()
    assert details_old >= len(old_contacts)  # leads, and the other copies that quote a prospect

    result = run_cli("--workspace", sample_copy, "purge", "--before", before_month)
    assert result.code == 0, result.err
    assert f"{details_old} lead details" in result.out
    contacts = export(sample_copy, "contacts", "--personal-data")
    assert sorted(r["message_key"] for r in contacts) == sorted(r["message_key"] for r in kept_contacts)
    assert export(sample_copy, "leads") == leads_before
    assert export(sample_copy, "coverage") == coverage_before
    con = duckdb.connect(str(sample_copy / "data" / "emailtrack.duckdb"), read_only=True)
    try:
        left = con.execute("SELECT count(*) FROM stored_messages JOIN attribution USING (message_key) "
                           "WHERE month < ? AND (body_text IS NOT NULL OR message_key IN "
                           "(SELECT message_key FROM raw_messages))", [before_month]).fetchone()[0]
        kept = con.execute("SELECT count(*) FROM stored_messages JOIN attribution USING (message_key) "
                           "WHERE month >= ? AND body_text IS NOT NULL", [before_month]).fetchone()[0]
    finally:
        con.close()
    assert left == 0 and kept > 0
    # a prospect who wrote again after the month keeps the details of the later lead (the sample
    # has such repeat prospects: which ones come first depends on the lead keys' order)
    still_kept = {r["email"] for r in kept_contacts}
    checked = [row for row in old_contacts if row["email"] not in still_kept][:20]
    assert len(checked) == 20
    for row in checked:
        assert occurrences(sample_copy, row["email"]) == {} or row["email_is_relay"] == "True"


def test_purge_follows_retention_months(sample_copy):
    config = sample_copy / "emailtrack.toml"
    result = run_cli("--workspace", sample_copy, "purge")
    assert result.code == 2 and "retention_months" in result.err
    config.write_text(config.read_text().replace("[workspace]\n", "[workspace]\nretention_months = 0\n", 1))
    line = config.read_text().splitlines().index("retention_months = 0") + 1
    result = run_cli("--workspace", sample_copy, "purge")
    assert result.code == 2 and f"emailtrack.toml:{line}: workspace.retention_months" in result.err
    config.write_text(config.read_text().replace("retention_months = 0", "retention_months = 6"))
    outcome = purge(open_workspace(sample_copy), today=dt.date(2026, 11, 15))
    assert outcome.scope == "before 2026-05"


def test_forget_needs_one_identifier(sample_copy):
    assert run_cli("--workspace", sample_copy, "forget").code == 2
    result = run_cli("--workspace", sample_copy, "forget", "--phone", "12")
    assert result.code == 2 and "not a phone number" in result.err
    result = run_cli("--workspace", sample_copy, "forget", "--email", "nobody")
    assert result.code == 2 and "not an email address" in result.err
