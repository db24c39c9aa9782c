"""``emailtrack ingest imap://…`` against a real Dovecot (Debian ``dovecot-imapd``) on loopback.

The server is started once for the module (``tests/ingest/dovecot.py``); each test has an account
of its own, its messages appended over IMAP as any mail client would. Skipped when Dovecot is
not installed.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import secrets
import shlex
import sys
import urllib.parse
from dataclasses import dataclass

import duckdb
import pytest

from emailtrack_analytics.ingest.imap_read import BATCH_MESSAGES
from emailtrack_analytics.ingest.sources.imap import MailboxUrl, parse_url, utf7_folder
from tests.builders import lead, mbox
from tests.ingest.dovecot import DOVECOT, OPENSSL, CuttingProxy, DovecotServer, TokenIntrospection
from tests.layouts import bienici_html, leboncoin_relay, seloger_nmp1

needs_dovecot = pytest.mark.skipif(DOVECOT is None or OPENSSL is None,
                                   reason="Dovecot not installed (apt-get install dovecot-imapd)")
TRACKED = {"Delivered-To": "lyon2@track.example.net"}
_accounts = itertools.count(1)


@pytest.fixture(scope="module")
def introspection():
    endpoint = TokenIntrospection()
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def dovecot(introspection):
    if DOVECOT is None or OPENSSL is None:
        pytest.skip("Dovecot not installed (apt-get install dovecot-imapd)")
    server = DovecotServer(introspection)
    yield server
    server.stop()


@dataclass
class Account:
    server: DovecotServer
    user: str
    password: str

    def url(self, folder: str = "INBOX", *, port: int | None = None, scheme: str = "imap") -> str:
        user = urllib.parse.quote(self.user, safe="")
        return f"{scheme}://{user}@127.0.0.1:{port or self.server.port}/{urllib.parse.quote(folder)}"

    def append(self, folder: str, *messages: bytes) -> None:
        imap = self.server.client(self.user, self.password)
        try:
            if folder != "INBOX":
                imap.create(f'"{utf7_folder(folder)}"')
            for message in messages:
                typ, _ = imap.append(f'"{utf7_folder(folder)}"', None, None, message)
                assert typ == "OK"
        finally:
            imap.logout()

    def append_more(self, folder: str, *messages: bytes) -> None:
        """Append to a folder that exists."""
        imap = self.server.client(self.user, self.password)
        try:
            for message in messages:
                assert imap.append(f'"{utf7_folder(folder)}"', None, None, message)[0] == "OK"
        finally:
            imap.logout()

    def recreate(self, folder: str, *messages: bytes) -> None:
        imap = self.server.client(self.user, self.password)
        try:
            assert imap.delete(f'"{utf7_folder(folder)}"')[0] == "OK"
        finally:
            imap.logout()
        self.append(folder, *messages)

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """Each message's flags, as another client sees them (EXAMINE: looking changes nothing)."""
        imap = self.server.client(self.user, self.password)
        try:
            imap.select(f'"{utf7_folder(folder)}"', readonly=True)
            _, data = imap.uid("FETCH", "1:*", "(UID FLAGS)")
        finally:
            imap.logout()
        found = {}
        for line in data:
            match = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line)
            if match:
                found[int(match.group(1))] = set(match.group(2).decode().split())
        return found


@pytest.fixture
def account(dovecot, monkeypatch) -> Account:
    user = f"leads{next(_accounts)}@trk.example.net"
    password = "pw-" + secrets.token_hex(12)
    dovecot.add_user(user, password)
    monkeypatch.setenv("EMAILTRACK_IMAP_PASSWORD", password)
    monkeypatch.delenv("EMAILTRACK_IMAP_TOKEN_COMMAND", raising=False)
    # the server offers STARTTLS with its self-signed certificate: imap:// uses it
    monkeypatch.setenv("EMAILTRACK_IMAP_CA_FILE", str(dovecot.ca_file))
    return Account(dovecot, user, password)


def leads(count: int, start: int = 0, *, words: int = 0) -> list[bytes]:
    """``count`` different portal leads as the tracked address receives them (``words`` more
    words of the prospect's message make them larger)."""
    return [lead(message_id=f"<lead-{n}@lead.seloger.com>", subject=f"Un acquéreur pour le bien A{n}",
                 body=f"Client {n} s'intéresse à ce bien.\nRef. de l'annonce : A{n}\n"
                      + "Bonjour, je souhaite visiter.\n" * words, top=TRACKED)
            for n in range(start, start + count)]


def cut_in_the_second_batch(account: Account) -> int:
    """250 leads appended, the last 50 large: a first batch of 200 (BATCH_MESSAGES) is fetched
    whole, and a link cut after the returned byte count breaks during the second fetch."""
    small, large = leads(200), leads(50, start=200, words=1000)
    account.append("INBOX", *small, *large)
    assert BATCH_MESSAGES == 200
    # the first fetch with its framing and the listing (with TLS records) are well below this;
    # the second batch's 1.5 MB well above
    return 2 * sum(map(len, small)) + 50_000


def query(ws, sql: str) -> list[tuple]:
    con = duckdb.connect(str(ws / "data" / "emailtrack.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def counts(out: str) -> tuple[int, int, int]:
    match = re.search(r"(\d+) new, (\d+) already stored, (\d+) quarantined", out)
    assert match, out
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


@needs_dovecot
def test_a_mailbox_is_read_once_then_only_what_arrived_since(account, workspace_dir, cli):
    portal_mails = [seloger_nmp1(to="lyon2@track.example.net"), bienici_html(to="lyon2@track.example.net"),
                    leboncoin_relay(to="lyon2@track.example.net")]
    account.append("INBOX", *portal_mails, *leads(7))
    url = account.url()

    first = cli("--workspace", workspace_dir, "ingest", url)
    assert first.code == 0, first.err
    assert counts(first.out) == (10, 0, 0)
    assert "1 mailboxes read" in first.out
    again = cli("--workspace", workspace_dir, "ingest", url)
    assert again.code == 0, again.err
    assert counts(again.out) == (0, 0, 0)   # nothing fetched: the UIDs above the last one stored only

    account.append("INBOX", *leads(4, start=100))
    third = cli("--workspace", workspace_dir, "ingest", url)
    assert third.code == 0, third.err
    assert counts(third.out) == (4, 0, 0)

    ws = workspace_dir
    assert query(ws, "SELECT count(*) FROM stored_messages")[0][0] == 14
    canonical = f"imap://{urllib.parse.quote(account.user, safe='')}@127.0.0.1:{account.server.port}/INBOX"
    validity, last_uid = query(ws, f"SELECT uidvalidity, last_uid FROM imap_mailboxes WHERE mailbox = '{canonical}'")[0]
    assert last_uid == 14
    sources = sorted(row[0] for row in query(ws, "SELECT source FROM messages"))
    assert sources == sorted(f"{canonical};UIDVALIDITY={validity}/;UID={uid}" for uid in range(1, 15))
    assert set(row[0] for row in query(ws, "SELECT role_hint FROM stored_messages")) == {"tracking"}
    # the ledger counts the mailbox as a source, of kind imap
    assert query(ws, "SELECT path, kind, items, new_items FROM ingested_files") == [(canonical, "imap", 14, 14)]
    status = cli("--workspace", ws, "status")
    assert "1 imap" in status.out


@needs_dovecot
def test_an_empty_folder_is_read_and_what_arrives_later_is_read_next_time(account, workspace_dir, cli):
    account.append("Leads")
    url = account.url("Leads")
    empty = cli("--workspace", workspace_dir, "ingest", url)
    assert empty.code == 0, empty.err
    assert counts(empty.out) == (0, 0, 0)
    assert query(workspace_dir, "SELECT last_uid FROM imap_mailboxes") == [(0,)]
    account.append_more("Leads", *leads(2))
    later = cli("--workspace", workspace_dir, "ingest", url)
    assert counts(later.out) == (2, 0, 0)


@needs_dovecot
def test_a_folder_that_does_not_exist_is_refused_naming_it(account, workspace_dir, cli):
    result = cli("--workspace", workspace_dir, "ingest", account.url("Nowhere"))
    assert result.code == 2
    assert "the folder 'Nowhere' cannot be opened" in result.err
    assert str(parse_url(account.url("Nowhere"))) in result.err


@needs_dovecot
def test_reading_leaves_the_server_as_it_was(account, workspace_dir, cli):
    account.append("INBOX", *leads(5))
    before = account.flags()
    result = cli("--workspace", workspace_dir, "ingest", account.url())
    assert counts(result.out) == (5, 0, 0)
    after = account.flags()
    assert after == before
    assert len(after) == 5
    assert not any("\\Seen" in flags for flags in after.values())


@needs_dovecot
def test_a_recreated_folder_is_read_again_without_counting_a_copy_twice(account, workspace_dir, cli):
    folder = "Leads reçus"
    messages = leads(6)
    account.append(folder, *messages)
    url = account.url(folder)
    assert "/Leads%20re%C3%A7us" in url
    first = cli("--workspace", workspace_dir, "ingest", url)
    assert first.code == 0, first.err
    assert counts(first.out) == (6, 0, 0)
    (old_validity,) = query(workspace_dir, "SELECT uidvalidity FROM imap_mailboxes")[0]

    account.recreate(folder, *messages, *leads(1, start=50))   # new UIDVALIDITY, UIDs from 1 again
    again = cli("--workspace", workspace_dir, "ingest", url)
    assert again.code == 0, again.err
    assert counts(again.out) == (1, 6, 0)
    assert "UIDVALIDITY changed" in again.out and "read again" in again.out
    (validity, last_uid), = query(workspace_dir, "SELECT uidvalidity, last_uid FROM imap_mailboxes")
    assert validity != old_validity and last_uid == 7
    assert query(workspace_dir, "SELECT count(*) FROM stored_messages")[0][0] == 7
    assert query(workspace_dir, "SELECT count(*) FROM leads")[0][0] == 7


@needs_dovecot
def test_the_folder_name_goes_to_the_server_in_modified_utf7(account):
    # what Dovecot lists is the wire name; the test's client created it from the same function,
    # so the expected value is written out here (RFC 3501 5.1.3's own kind of example)
    assert utf7_folder("Leads reçus") == "Leads re&AOc-us"
    assert utf7_folder("A&B") == "A&-B"
    assert utf7_folder("日本語") == "&ZeVnLIqe-"
    account.append("Leads reçus", *leads(1))
    imap = account.server.client(account.user, account.password)
    try:
        _, listed = imap.list()
    finally:
        imap.logout()
    assert any(b'"Leads re&AOc-us"' in line or b"Leads re&AOc-us" in line for line in listed)


@needs_dovecot
def test_a_connection_dropped_mid_fetch_is_resumed_and_nothing_is_counted_twice(account, workspace_dir, cli):
    # 250 messages: a first batch of 200 is stored, the link drops during the second fetch
    proxy = CuttingProxy(account.server.port, after=cut_in_the_second_batch(account))
    try:
        result = cli("--workspace", workspace_dir, "ingest", account.url(port=proxy.port))
    finally:
        proxy.close()
    assert result.code == 0, result.err
    assert counts(result.out) == (250, 0, 0)   # the 200 stored before the drop are not fetched again
    assert "connection lost 1 time(s), resumed" in result.out
    assert proxy.connections == 2
    assert query(workspace_dir, "SELECT count(*) FROM stored_messages")[0][0] == 250
    assert query(workspace_dir, "SELECT count(*) FROM sightings")[0][0] == 250
    assert query(workspace_dir, "SELECT last_uid FROM imap_mailboxes")[0][0] == 250


@needs_dovecot
def test_a_link_that_keeps_dropping_fails_clearly_and_the_next_run_finishes(account, workspace_dir, cli):
    proxy = CuttingProxy(account.server.port, after=cut_in_the_second_batch(account), cuts=100)
    try:
        url = account.url(port=proxy.port)
        failed = cli("--workspace", workspace_dir, "ingest", url)
        assert failed.code == 1
        assert url.split("@")[-1] in failed.err and "connection lost" in failed.err
        assert "200 new copies stored this run, the next run resumes after UID 200" in failed.err
        assert query(workspace_dir, "SELECT count(*) FROM stored_messages")[0][0] == 200
        proxy.cuts = 0
        finished = cli("--workspace", workspace_dir, "ingest", url)
    finally:
        proxy.close()
    assert finished.code == 0, finished.err
    assert counts(finished.out) == (50, 0, 0)
    assert query(workspace_dir, "SELECT count(*) FROM stored_messages")[0][0] == 250


@needs_dovecot
def test_a_lead_in_a_mailbox_and_in_an_mbox_is_one_lead(account, workspace_dir, tmp_path, cli):
    cc_copy = lead(cc="lyon2@track.example.net", top=TRACKED)
    gmail_forward = lead(top={**TRACKED, "X-Forwarded-To": "lyon2@track.example.net"})
    (tmp_path / "export.mbox").write_bytes(mbox(cc_copy))
    account.append("INBOX", cc_copy, gmail_forward)

    result = cli("--workspace", workspace_dir, "ingest", tmp_path / "export.mbox", account.url())
    assert result.code == 0, result.err
    assert counts(result.out) == (2, 1, 0)    # the CC copy is read twice, stored once
    assert "1 files read" in result.out and "1 mailboxes read" in result.out
    exported = cli("--workspace", workspace_dir, "export", "leads")
    rows = list(csv.DictReader(io.StringIO(exported.out)))
    assert [(row["point_of_sale"], row["portal"], row["copies"]) for row in rows] == [("lyon-2", "seloger", "2")]


@needs_dovecot
def test_a_message_that_cannot_be_parsed_is_quarantined_with_its_url(account, workspace_dir, cli, monkeypatch):
    big = lead(message_id="<big@lead.seloger.com>", body="x" * 3_000_000)
    account.append("INBOX", *leads(2), big)
    monkeypatch.setenv("EMAILTRACK_MAX_MESSAGE_MB", "1")
    result = cli("--workspace", workspace_dir, "ingest", account.url())
    assert result.code == 0, result.err
    assert counts(result.out) == (2, 0, 1)
    (source, reason, detail, file_path), = query(
        workspace_dir, "SELECT source, reason, detail, file_path FROM quarantine_items")
    assert reason == "too_large" and source.endswith("/;UID=3") and "not fetched" in detail
    assert file_path == str(parse_url(account.url()))
    again = cli("--workspace", workspace_dir, "ingest", account.url())
    assert counts(again.out) == (0, 0, 0)
    assert query(workspace_dir, "SELECT count(*) FROM quarantine_items")[0][0] == 1


@needs_dovecot
def test_xoauth2_token_from_the_command_is_checked_by_dovecots_oauth2_passdb(
        account, introspection, workspace_dir, cli, monkeypatch):
    token = "ya29." + secrets.token_urlsafe(24)
    introspection.tokens[token] = account.user
    monkeypatch.delenv("EMAILTRACK_IMAP_PASSWORD")
    monkeypatch.setenv("EMAILTRACK_IMAP_TOKEN_COMMAND", shlex.join([sys.executable, "-c", f"print({token!r})"]))
    account.append("INBOX", *leads(3))
    result = cli("--workspace", workspace_dir, "ingest", account.url().replace("@", ";AUTH=XOAUTH2@", 1))
    assert result.code == 0, result.err
    assert counts(result.out) == (3, 0, 0)
    assert token in introspection.asked     # Dovecot asked the introspection endpoint about it
    assert token not in result.out + result.err
    assert token.encode() not in (workspace_dir / "data" / "emailtrack.duckdb").read_bytes()


@needs_dovecot
def test_a_token_the_server_refuses_and_a_failing_token_command_are_clear_errors(
        account, introspection, workspace_dir, cli, monkeypatch):
    monkeypatch.delenv("EMAILTRACK_IMAP_PASSWORD")
    monkeypatch.setenv("EMAILTRACK_IMAP_TOKEN_COMMAND", shlex.join([sys.executable, "-c", "print('expired-token')"]))
    refused = cli("--workspace", workspace_dir, "ingest", account.url())
    assert refused.code == 2
    assert "expired-token" in introspection.asked
    assert "expired-token" not in refused.err + refused.out
    assert "refused while logging in with XOAUTH2" in refused.err

    monkeypatch.setenv("EMAILTRACK_IMAP_TOKEN_COMMAND", shlex.join([sys.executable, "-c", "raise SystemExit(3)"]))
    failed = cli("--workspace", workspace_dir, "ingest", account.url())
    assert failed.code == 2
    assert "EMAILTRACK_IMAP_TOKEN_COMMAND failed (exit status 3)" in failed.err


@needs_dovecot
def test_a_wrong_password_names_the_mailbox_and_never_the_secret(account, workspace_dir, cli, monkeypatch, tmp_path):
    account.append("INBOX", *leads(1))
    wrong = "wrong-" + secrets.token_hex(8)
    monkeypatch.setenv("EMAILTRACK_IMAP_PASSWORD", wrong)
    result = cli("--workspace", workspace_dir, "ingest", account.url())
    assert result.code == 2
    assert str(parse_url(account.url())) in result.err
    assert "refused while logging in" in result.err and "AUTHENTICATIONFAILED" in result.err
    assert wrong not in result.out + result.err

    monkeypatch.setenv("EMAILTRACK_IMAP_PASSWORD", account.password)
    ok = cli("--workspace", workspace_dir, "ingest", account.url())
    assert ok.code == 0, ok.err
    for path in workspace_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert account.password.encode() not in content and wrong.encode() not in content, path
    assert account.password not in ok.out + ok.err


@needs_dovecot
def test_tls_imaps_and_starttls_with_a_trusted_self_signed_certificate(account, workspace_dir, cli, monkeypatch):
    account.append("INBOX", *leads(2))
    monkeypatch.delenv("EMAILTRACK_IMAP_CA_FILE")
    imaps = account.url(port=account.server.tls_port, scheme="imaps")
    untrusted = cli("--workspace", workspace_dir, "ingest", imaps)
    assert untrusted.code == 2
    assert "certificate is not trusted" in untrusted.err and "EMAILTRACK_IMAP_CA_FILE" in untrusted.err
    untrusted_starttls = cli("--workspace", workspace_dir, "ingest", account.url(), "--starttls", "require")
    assert untrusted_starttls.code == 2 and "certificate is not trusted" in untrusted_starttls.err

    monkeypatch.setenv("EMAILTRACK_IMAP_CA_FILE", str(account.server.ca_file))
    over_tls = cli("--workspace", workspace_dir, "ingest", imaps)
    assert over_tls.code == 0, over_tls.err
    assert counts(over_tls.out) == (2, 0, 0)
    assert query(workspace_dir, "SELECT mailbox FROM imap_mailboxes")[0][0].startswith("imaps://")
    starttls = cli("--workspace", workspace_dir, "ingest", account.url(), "--starttls", "require")
    assert starttls.code == 0, starttls.err
    assert counts(starttls.out) == (0, 2, 0)   # the same messages through another URL: stored once


def test_urls_are_read_as_rfc_5092_says():
    url = parse_url("imap://leads%40trk.example.net;AUTH=XOAUTH2@IMAP.Example.NET/Leads%20re%C3%A7us")
    assert url == MailboxUrl("imap", "leads@trk.example.net", "imap.example.net", 143, "Leads reçus", "XOAUTH2")
    assert str(url) == "imap://leads%40trk.example.net@imap.example.net:143/Leads%20re%C3%A7us"
    assert url.message(385759045, 20) == \
        "imap://leads%40trk.example.net@imap.example.net:143/Leads%20re%C3%A7us;UIDVALIDITY=385759045/;UID=20"
    assert parse_url("imaps://u@h/").port == 993 and parse_url("imaps://u@h/").folder == "INBOX"
    assert parse_url("imap://u@h:1143/INBOX/Sub").folder == "INBOX/Sub"


@pytest.mark.parametrize("given, says", [
    ("imap://h/INBOX", "no user name"),
    ("imap://u:hunter2@h/INBOX", "no password in the URL"),
    ("imap://u@h/INBOX?SUBJECT%20x", "whole folder"),
    ("imap://u@h/INBOX;UIDVALIDITY=3/;UID=2", "ends with the folder"),
    ("imap://u;X=1@h/INBOX", ";AUTH=MECHANISM"),
])
def test_an_unusable_url_is_refused_before_any_work(workspace_dir, cli, monkeypatch, given, says):
    monkeypatch.setenv("EMAILTRACK_IMAP_PASSWORD", "unused")
    result = cli("--workspace", workspace_dir, "ingest", given)
    assert result.code == 2
    assert says in result.err
    assert "hunter2" not in result.err
    assert not (workspace_dir / "data" / "emailtrack.duckdb").exists()


def test_no_credentials_is_refused_before_any_work(workspace_dir, cli, monkeypatch):
    monkeypatch.delenv("EMAILTRACK_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("EMAILTRACK_IMAP_TOKEN_COMMAND", raising=False)
    result = cli("--workspace", workspace_dir, "ingest", "imap://u@127.0.0.1/INBOX")
    assert result.code == 2
    assert "EMAILTRACK_IMAP_PASSWORD" in result.err


@needs_dovecot
def test_a_month_of_the_sample_network_read_over_imap_gives_the_leads_its_mbox_gives(account, tmp_path, cli):
    """The sample network's tracked copies of a month, held by Dovecot (which serves them with
    CRLF line ends), give the same messages and leads as the mbox they came from, and the mbox
    read after them is all "already stored"."""
    from pathlib import Path

    from emailtrack_analytics.ingest.sources.mbox import read_mbox
    over_imap, from_file = tmp_path / "imap", tmp_path / "file"
    for ws in (over_imap, from_file):
        result = cli("init", ws, "--sample", "--end-month", "2026-10", "--scale", "0.15")
        assert result.code == 0, result.err
    month = over_imap / "data" / "sample" / "tracking" / "2026-10.mbox"
    messages = [raw.data for raw in read_mbox(Path(month), "m")]
    assert len(messages) > 100
    account.append("INBOX", *messages)

    read = cli("--workspace", over_imap, "ingest", account.url())
    assert read.code == 0, read.err
    assert counts(read.out) == (len(messages), 0, 0)
    result = cli("--workspace", from_file, "ingest", from_file / "data" / "sample" / "tracking" / "2026-10.mbox")
    assert result.code == 0, result.err

    def export(ws, table):
        out = cli("--workspace", ws, "export", table, "--personal-data")
        assert out.code == 0, out.err
        return sorted(tuple(v for k, v in row.items() if k != "source") for row in csv.DictReader(io.StringIO(out.out)))

    for table in ("leads", "messages"):
        assert export(over_imap, table) == export(from_file, table), table
    assert len(export(over_imap, "leads")) > 50
    again = cli("--workspace", over_imap, "ingest", month)
    assert counts(again.out) == (0, len(messages), 0)


@needs_dovecot
def test_a_message_without_date_or_received_is_dated_by_its_arrival_on_the_server(account, workspace_dir, cli):
    """Found in the sample network read over IMAP: a website form's copy with no Date and no
    Received header was quarantined no_date, when its mbox From line dates it in a file."""
    import datetime as dt
    import imaplib

    undated = lead(message_id="<undated@agence-exemple.fr>", date=None, top=TRACKED)
    arrived = dt.datetime(2026, 3, 12, 18, 4, 11, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    imap = account.server.client(account.user, account.password)
    try:
        assert imap.append("INBOX", None, imaplib.Time2Internaldate(arrived), undated)[0] == "OK"
    finally:
        imap.logout()
    result = cli("--workspace", workspace_dir, "ingest", account.url())
    assert counts(result.out) == (1, 0, 0)
    assert query(workspace_dir, "SELECT received_at, date_source FROM stored_messages") == [
        (dt.datetime(2026, 3, 12, 17, 4, 11), "mbox_from")]
