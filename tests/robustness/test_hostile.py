"""Hostile input, ingested for real: every item is stored or quarantined with its source
(``PATH`` or ``PATH:N``), a reason and a detail; a bad file never stops the others; memory and
time stay bounded.

Most cases share one ingest of one folder (``hostile``), the way a cron run meets them; the
costly ones (a 50 MB message, a line of hundreds of megabytes, bodies built to make regular
expressions backtrack) have their own. The long runs (a 2 GB line, thousands of fuzz examples)
are in ``benchmarks/fuzz.py`` (``make fuzz``).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.ingest.pipeline import ingest
from emailtrack_analytics.ingest.sources.base import MAX_LOG_LINE
from tests.builders import lead, mbox
from tests.conftest import BASIC_CONFIG, ROOT, write_config

LONG_LINE = 2 * 1024 * 1024  # a log line over MAX_LOG_LINE (1 MB)


def query(ws, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(ws.database), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def message(name: str, *, headers: bytes = b"", body: bytes = b"Bonjour.\n",
            content_type: bytes = b"text/plain; charset=utf-8") -> bytes:
    """A small message with a Date (so that only its defect can keep it from being stored)."""
    return (b"From: Jean Dupont <jean.dupont@example.fr>\nTo: lyon2@agence-exemple.fr\n"
            b"Subject: Demande " + name.encode() + b"\nDate: Thu, 12 Mar 2026 18:04:11 +0100\n"
            b"Message-ID: <" + name.encode() + b"@hostile.example>\nMIME-Version: 1.0\n"
            + headers + b"Content-Type: " + content_type + b"\n\n" + body)


@dataclass
class Run:
    """One ingest: its summary, and what the database says about each source."""

    ws: object
    summary: object
    quarantine: dict[str, tuple[str, str, int]]   # source -> (reason, detail, size of the kept bytes)
    sightings: set[str]

    def stored(self, source: str) -> dict:
        found = query(self.ws, "SELECT m.subject, m.body_text, m.defects, m.date_source, m.size "
                               "FROM sightings s JOIN stored_messages m USING (message_key) WHERE s.source = ?",
                      [source])
        assert len(found) == 1, (source, found, self.quarantine.get(source))
        subject, body, defects, date_source, size = found[0]
        return {"subject": subject, "body": body, "defects": defects, "date_source": date_source, "size": size}

    def log_sources(self, table: str, prefix: str) -> list[str]:
        rows = query(self.ws, f"SELECT source FROM {table} WHERE source LIKE ? ", [prefix + ":%"])
        return sorted((r[0] for r in rows), key=lambda s: int(s.rsplit(":", 1)[1]))


def run_ingest(ws, paths, **kwargs) -> Run:
    return stored_run(ws, ingest(ws, paths, workers=1, **kwargs))


def stored_run(ws, summary=None) -> Run:
    quarantine = {}
    for source, reason, detail, size in query(ws, "SELECT source, reason, detail, size FROM quarantine_items"):
        assert source not in quarantine, f"{source} quarantined twice"
        quarantine[source] = (reason, detail, size)
    sightings = {r[0] for r in query(ws, "SELECT source FROM sightings")}
    assert not sightings & set(quarantine), "an item both stored and quarantined"
    return Run(ws, summary, quarantine, sightings)


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail with TimeoutError instead of hanging the test run (a FIFO opened for reading blocks
    until a writer comes)."""
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def new_workspace(folder: Path):
    write_config(folder, BASIC_CONFIG)
    return open_workspace(folder)


# --------------------------------------------------------------------------- the hostile folder

def _random_hex_body(rng: random.Random, lines: int) -> bytes:
    return b"".join(rng.randbytes(36).hex().encode() + b"\n" for _ in range(lines))


def _cut_gzip_mbox(folder: Path, rng: random.Random) -> dict:
    """Three messages, gzipped, the compressed stream cut inside the third message's body."""
    messages = [lead(message_id=f"<gz-{i}@lead.seloger.com>", body="Ref : A1\n" + _random_hex_body(rng, 120).decode())
                for i in range(3)]
    full = mbox(*messages)
    starts = [i for i in range(len(full)) if full.startswith(b"From MAILER-DAEMON", i)]
    packed = gzip.compress(full, mtime=0)
    cut = packed[:len(packed) * 9 // 10]
    readable = zlib.decompressobj(31).decompress(cut)  # what any reader can get out of the cut file
    assert starts[2] + 1000 < len(readable) < len(full), "the cut must fall inside the third message"
    (folder / "cut.mbox.gz").write_bytes(cut)
    first_line = full[starts[2]:full.index(b"\n", starts[2]) + 1]
    return {"third_offset": starts[2], "third_kept": len(readable) - starts[2] - len(first_line)}


def _nested(depth: int) -> bytes:
    inner = b"Content-Type: text/plain; charset=utf-8\n\nJean Dupont, au fond de 100 niveaux.\n"
    for level in reversed(range(depth)):
        inner = (b'Content-Type: multipart/mixed; boundary="level-%d"\n\n--level-%d\n' % (level, level)
                 + inner + b"\n--level-%d--\n" % level)
    head, _, rest = inner.partition(b"\n\n")
    return message("nested", content_type=head[len(b"Content-Type: "):], body=rest)


def _logs(folder: Path) -> dict[str, tuple[int, int]]:
    """A Postfix log, a Microsoft 365 and a Google Workspace export and a distribution log,
    each with one line of LONG_LINE bytes in the middle. Returns name -> (its line number,
    its length with its newline)."""
    folder.mkdir()
    long_text = "x" * LONG_LINE
    postfix = [
        "Mar 12 18:04:11 mx postfix/smtpd[101]: 4A1B2C3D4E: client=mail-out.seloger.com[203.0.113.53]",
        "Mar 12 18:04:11 mx postfix/cleanup[102]: 4A1B2C3D4E: message-id=<lead-1@lead.seloger.com>",
        f"Mar 12 18:04:11 mx postfix/smtp[105]: 0BADBAD0: to=<{long_text}@x.fr>, status=sent",
        "Mar 12 18:04:11 mx postfix/qmgr[103]: 4A1B2C3D4E: from=<noreply@lead.seloger.com>, size=5120, nrcpt=2",
        "Mar 12 18:04:12 mx postfix/lmtp[104]: 4A1B2C3D4E: to=<lyon2@agence-exemple.fr>, relay=mx[private/dovecot-lmtp],"
        " delay=0.3, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
        "Mar 12 18:04:13 mx postfix/smtp[105]: 4A1B2C3D4E: to=<lyon2@track.example.net>, relay=mx.track.example.net"
        "[198.51.100.7]:25, delay=1.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99AA)",
    ]
    m365 = [
        '"Received","SenderAddress","RecipientAddress","Subject","Status","MessageId"',
        '"3/12/2026 5:04:11 PM","noreply@lead.seloger.com","lyon2@agence-exemple.fr","Offre","Delivered","<m-1@x>"',
        f'"3/12/2026 5:04:12 PM","noreply@lead.seloger.com","{long_text}","Offre","Delivered","<m-2@x>"',
        '"3/12/2026 5:04:13 PM","noreply@lead.seloger.com","paris11@agence-exemple.fr","Offre","Failed","<m-3@x>"',
    ]
    gws = [
        "Message ID,Start date,Sender,Subject,Direction,Recipient address,Event target,Event date,Event status",
        "<g-1@x>,2026/03/12 18:04:11,noreply@lead.seloger.com,Offre,Received,lyon2@agence-exemple.fr,GMAIL_INBOX,"
        "2026/03/12 18:04:12,DELIVERED",
        f"<g-2@x>,2026/03/12 18:04:11,noreply@lead.seloger.com,{long_text},Received,lyon2@agence-exemple.fr,"
        "GMAIL_INBOX,2026/03/12 18:04:12,DELIVERED",
        "<g-3@x>,2026/03/12 18:04:11,noreply@lead.seloger.com,Offre,Sent,lyon2@track.example.net,SMTP_OUT,"
        "2026/03/12 18:04:13,BOUNCED",
    ]
    distribution = [
        "received_at,message_id,sender,subject,delivered_to",
        "2026-03-12T18:04:20+01:00,<web-1@agence-exemple.fr>,formulaire@agence-exemple.fr,Demande,lyon2@agence-exemple.fr",
        f"2026-03-12T18:04:21+01:00,<web-2@agence-exemple.fr>,formulaire@agence-exemple.fr,{long_text},lyon2@agence-exemple.fr",
        "2026-03-12T18:04:22+01:00,<web-3@agence-exemple.fr>,formulaire@agence-exemple.fr,Demande,paris11@agence-exemple.fr",
    ]
    found = {}
    for name, lines in (("mail.log", postfix), ("trace.csv", m365), ("gws.csv", gws), ("distribution.csv", distribution)):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (number,) = [i for i, line in enumerate(lines, start=1) if long_text in line]
        found[name] = (number, len(lines[number - 1]) + 1)
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """One ingest of a folder of hostile files next to good ones."""
    ws = new_workspace(tmp_path_factory.mktemp("hostile") / "ws")
    folder = ws.root / "in"
    folder.mkdir()
    rng = random.Random(7)
    facts = {}

    (folder / "good.mbox").write_bytes(mbox(lead(message_id="<good-1@lead.seloger.com>"),
                                            lead(message_id="<good-2@lead.seloger.com>")))
    (folder / "random.bin").write_bytes(rng.randbytes(64 * 1024))
    (folder / "random-inside.mbox").write_bytes(
        b"From MAILER-DAEMON Thu Mar 12 18:00:11 2026\n" + rng.randbytes(16 * 1024).replace(b"\nFrom ", b"\nFrum ")
        + b"\n\n" + mbox(lead(message_id="<after-random@lead.seloger.com>")))
    cut = mbox(*(lead(message_id=f"<cut-{i}@lead.seloger.com>") for i in range(3)))
    (folder / "cut.mbox").write_bytes(cut[:cut.rindex(b"Message-ID: <cut-2@") + len(b"Message-ID: <cut-2@")])
    facts["gz"] = _cut_gzip_mbox(folder, rng)
    (folder / "boundaries.eml").write_bytes(message(
        "boundaries", content_type=b'multipart/alternative; boundary="AAA"',
        body=b"--BBB\nContent-Type: text/plain\n\nnot a part of AAA\n--AAA\nContent-Type: text/plain\n\n"
             b"Texte sous la bonne limite\n--AA\n--AAA-\n"))
    (folder / "nested-100.eml").write_bytes(_nested(100))
    (folder / "headers-10000.eml").write_bytes(message(
        "headers", headers=b"".join(b"X-Header-%d: value %d\n" % (i, i) for i in range(10_000))))
    (folder / "nul.eml").write_bytes(message("nul").replace(b"Subject: Demande nul", b"Subject: Demande\x00nul")
                                     + b"corps\x00avec\x00des NUL\n\x00\x00\x00\n")
    (folder / "bad-utf8.eml").write_bytes(message(
        "utf8", headers=b"X-Junk: \xff\xfe\xc3\x28\n",
        body=b"Corps \xff\xfe invalide \xc3\x28 fin\n").replace(b"Subject: Demande utf8",
                                                                 b"Subject: Demande \xc3\x28 =?utf-8?Q?=FF?="))
    (folder / "8bit-and-encoded-word.eml").write_bytes(message("mixed").replace(
        b"Subject: Demande mixed", b"Subject: Demande \xc3\xa0 Lyon =?utf-8?Q?caf=C3=A9?="))
    (folder / "long-s-script.eml").write_bytes(message(
        "script", content_type=b"text/html; charset=utf-8",
        body="<ſcript>alert(1)</ſcript><p>Texte visible</p>\n".encode()))
    (folder / "empty.eml").write_bytes(b"")
    os.mkfifo(folder / "pipe")
    locked = folder / "locked"
    locked.mkdir()
    (locked / "inside.eml").write_bytes(lead(message_id="<locked@lead.seloger.com>"))
    facts["logs"] = _logs(folder / "logs")

    with pytest.MonkeyPatch.context() as patch:
        if os.geteuid() == 0:  # root reads a mode-000 folder: make listing it fail as it does for others
            real = os.scandir

            def scandir(path="."):
                if Path(path) == locked:
                    raise PermissionError(13, "Permission denied", str(path))
                return real(path)

            patch.setattr(os, "scandir", scandir)
        locked.chmod(0)
        try:
            with deadline(120):
                run = run_ingest(ws, [folder])
        finally:
            locked.chmod(0o700)
    return run, facts


def test_every_item_of_the_hostile_folder_is_stored_or_quarantined_and_the_run_finishes(hostile):
    run, _ = hostile
    assert run.quarantine.keys() == {
        "in/random.bin", "in/random-inside.mbox:1", "in/cut.mbox.gz:3", "in/empty.eml", "in/pipe", "in/locked",
        "in/logs/mail.log:3", "in/logs/trace.csv:3", "in/logs/gws.csv:3", "in/logs/distribution.csv:3"}
    assert run.sightings == {
        "in/good.mbox:1", "in/good.mbox:2", "in/random-inside.mbox:2", "in/cut.mbox:1", "in/cut.mbox:2",
        "in/cut.mbox:3", "in/cut.mbox.gz:1", "in/cut.mbox.gz:2", "in/boundaries.eml", "in/nested-100.eml",
        "in/headers-10000.eml", "in/nul.eml", "in/bad-utf8.eml", "in/8bit-and-encoded-word.eml", "in/long-s-script.eml"}
    assert (run.summary.new, run.summary.already_stored, run.summary.quarantined) == (15, 0, 10)
    assert run.summary.log_rows == 2 + 2 + 2 + 2
    assert all(reason and detail for reason, detail, _ in run.quarantine.values())


def test_random_bytes_are_quarantined_not_an_email(hostile):
    run, _ = hostile
    assert run.quarantine["in/random.bin"] == ("not_an_email", "no RFC 5322 header block at the start", 64 * 1024)
    assert run.quarantine["in/random-inside.mbox:1"][0] == "not_an_email"
    assert run.stored("in/random-inside.mbox:2")["subject"] == "Un acquéreur est intéressé par un de vos biens"


def test_mbox_cut_mid_message_keeps_every_message_read(hostile):
    run, _ = hostile
    assert run.stored("in/cut.mbox:2")["date_source"] == "date"
    last = run.stored("in/cut.mbox:3")  # cut inside its Message-ID, before its Date: the From line dates it
    assert (last["subject"], last["date_source"]) == ("Un acquéreur est intéressé par un de vos biens", "mbox_from")


def test_truncated_gzip_mbox_stores_the_whole_messages_and_marks_the_cut_one(hostile):
    run, facts = hostile
    assert run.stored("in/cut.mbox.gz:1")["subject"] == "Un acquéreur est intéressé par un de vos biens"
    assert "in/cut.mbox.gz:2" in run.sightings
    reason, detail, size = run.quarantine["in/cut.mbox.gz:3"]
    assert reason == "truncated"
    assert detail.endswith(f"(message starting at byte {facts['gz']['third_offset']})")
    assert size == facts["gz"]["third_kept"]  # the bytes read before the cut are kept for inspection


def test_corrupt_boundaries_nesting_headers_nul_and_bad_utf8_are_stored(hostile):
    run, _ = hostile
    boundaries = run.stored("in/boundaries.eml")
    assert "Texte sous la bonne limite" in boundaries["body"]
    assert "CloseBoundaryNotFoundDefect" in boundaries["defects"]
    assert run.stored("in/nested-100.eml")["body"] == "Jean Dupont, au fond de 100 niveaux.\n"
    assert run.stored("in/headers-10000.eml")["subject"] == "Demande headers"
    nul = run.stored("in/nul.eml")
    assert nul["subject"] == "Demandenul"
    assert nul["body"] == "Bonjour.\ncorpsavecdes NUL\n\n"  # NUL bytes dropped, the text around them kept
    bad = run.stored("in/bad-utf8.eml")
    assert bad["subject"] == "Demande Ã("  # 8-bit bytes read as Windows-1252, not lost; "=FF" is no UTF-8
    assert bad["body"] == "Corps ÿþ invalide Ã( fin\n"


def test_8bit_subject_text_next_to_an_encoded_word_is_kept(hostile):
    """mail-parser's decoder, given the whole value, dropped the "à" outside the encoded-word."""
    run, _ = hostile
    assert run.stored("in/8bit-and-encoded-word.eml")["subject"] == "Demande à Lyon café"


def test_script_tag_with_a_long_s_is_dropped_not_a_parse_error(hostile):
    """"<ſcript>" opens a script for the case-insensitive expression; the linear replacement
    looked its closing tag up by the text written and raised KeyError: quarantined parse_error."""
    run, _ = hostile
    assert run.stored("in/long-s-script.eml")["body"] == "Texte visible"


def test_fifo_empty_file_and_unlistable_folder_are_quarantined_without_hanging(hostile):
    run, _ = hostile
    assert run.quarantine["in/pipe"][:2] == ("unreadable", "not a regular file: pipe")
    assert run.quarantine["in/empty.eml"][:2] == ("empty", "no bytes, or only white space")
    assert run.quarantine["in/locked"][:2] == ("unreadable", "a folder that cannot be listed: locked")


@pytest.mark.parametrize("name, table", [("mail.log", "log_events"), ("trace.csv", "log_events"),
                                         ("gws.csv", "log_events"), ("distribution.csv", "distribution_log")])
def test_over_long_log_line_is_quarantined_with_its_line_number_and_the_rest_is_stored(hostile, name, table):
    run, facts = hostile
    number, length = facts["logs"][name]
    reason, detail, _ = run.quarantine[f"in/logs/{name}:{number}"]
    assert reason == "too_large"
    assert f"line of {length} " in detail and str(MAX_LOG_LINE) in detail
    expected = {"mail.log": ["in/logs/mail.log:5", "in/logs/mail.log:6"]}.get(
        name, [f"in/logs/{name}:2", f"in/logs/{name}:4"])
    assert run.log_sources(table, f"in/logs/{name}") == expected
    if name == "mail.log":  # the sender, on a line after the long one, still joins its deliveries
        senders = query(run.ws, "SELECT DISTINCT sender, message_id FROM log_events WHERE source LIKE 'in/logs/mail.log:%'")
        assert senders == [("noreply@lead.seloger.com", "lead-1@lead.seloger.com")]


# --------------------------------------------------------------------------- size limits

def _big_attachment_message(path: Path, size: int) -> None:
    """A lead with a base64 attachment, ``size`` bytes in all (random content: incompressible)."""
    head = message("attachment", content_type=b'multipart/mixed; boundary="SEP"', body=(
        b"--SEP\nContent-Type: text/plain; charset=utf-8\n\nVoici les plans du bien.\n--SEP\n"
        b'Content-Type: application/pdf; name="plans.pdf"\nContent-Disposition: attachment; filename="plans.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\n"))
    tail = b"--SEP--\n"
    rng = random.Random(50)
    with open(path, "wb") as out:
        out.write(head)
        left = size - len(head) - len(tail)
        while left > 0:
            block = base64.encodebytes(rng.randbytes(57 * 16 * 1024))[:left]  # 76-character lines
            out.write(block)
            left -= len(block)
        out.write(tail)


def test_50_mb_message_under_the_default_limit_is_stored(tmp_path):
    ws = new_workspace(tmp_path / "ws")
    folder = ws.root / "in"
    folder.mkdir()
    size = 50 * 1024 * 1024
    _big_attachment_message(folder / "attachment.eml", size)
    (folder / "next.eml").write_bytes(lead())
    summary, peak_kb = ingest_in_subprocess(ws.root, folder, timeout=300)
    assert summary.startswith("2 new, 0 already stored, 0 quarantined"), summary
    # bounded: most of it is DuckDB storing the 38 MB compressed copy (parsing holds ~1 MB of
    # the attachment, see test_a_large_message_is_parsed_without_its_attachment_bytes)
    assert peak_kb < 600 * 1024, f"peak RSS {peak_kb // 1024} MB for a 50 MB message"
    run = stored_run(ws)
    assert run.quarantine == {}
    big = run.stored("in/attachment.eml")
    assert (big["size"], big["body"]) == (size, "Voici les plans du bien.")
    assert "in/next.eml" in run.sightings


def test_message_over_the_maximum_size_is_quarantined_with_its_offset_and_the_next_is_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("EMAILTRACK_MAX_MESSAGE_MB", "1")
    ws = new_workspace(tmp_path / "ws")
    folder = ws.root / "in"
    folder.mkdir()
    _big_attachment_message(tmp_path / "big.eml", 2 * 1024 * 1024)
    big = (tmp_path / "big.eml").read_bytes()
    data = mbox(lead(message_id="<before@x>"), big, lead(message_id="<after@x>"))
    (folder / "three.mbox").write_bytes(data)
    (folder / "big.eml").write_bytes(big)
    offset = data.index(b"From MAILER-DAEMON Thu Mar 12 18:01:11 2026")
    run = run_ingest(ws, [folder])
    assert run.quarantine == {
        "in/three.mbox:2": ("too_large", f"message larger than the maximum message size (1 MB), starting at byte {offset}", 0),
        "in/big.eml": ("too_large", "file larger than the maximum message size (1 MB), starting at byte 0", 0)}
    assert run.sightings == {"in/three.mbox:1", "in/three.mbox:3"}
    assert run.stored("in/three.mbox:3")["subject"] == "Un acquéreur est intéressé par un de vos biens"


_PEAK = """\
import sys
from emailtrack_analytics.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:  # VmHWM: this process's own peak (ru_maxrss can include its parent's)
    print("PEAK_KB", next(line.split()[1] for line in status if line.startswith("VmHWM")))
sys.exit(code)
"""


def write_long_line_mbox(path: Path, line_bytes: int) -> int:
    """An mbox whose first message has one line of ``line_bytes`` NUL bytes (a sparse file:
    nothing is held in memory or written to disk), followed by an ordinary message. Returns the
    offset of the second message."""
    with open(path, "wb") as out:
        out.write(b"From MAILER-DAEMON Thu Mar 12 18:00:11 2026\n" + lead(message_id="<long@x>") + b"X")
        out.seek(line_bytes, os.SEEK_CUR)
        out.write(b"\n\n")
        offset = out.tell()
        out.write(b"From MAILER-DAEMON Thu Mar 12 18:01:11 2026\n" + lead(message_id="<after-long@x>") + b"\n")
    return offset


def write_long_line_log(path: Path, line_bytes: int) -> None:
    """A Postfix log with one delivery line, one line of ``line_bytes`` (sparse), and another."""
    delivery = (b"Mar 12 18:04:12 mx postfix/lmtp[104]: 4A1B2C3D4E: to=<lyon2@agence-exemple.fr>, "
                b"relay=mx[private/dovecot-lmtp], dsn=2.0.0, status=sent (250 2.0.0 Saved)\n")
    with open(path, "wb") as out:
        out.write(delivery + b"Mar 12 18:04:12 mx postfix/smtp[1]: ")
        out.seek(line_bytes, os.SEEK_CUR)
        out.write(b"\n" + delivery.replace(b"18:04:12", b"18:05:12"))


def ingest_in_subprocess(ws_root: Path, folder: Path, timeout: int) -> tuple[str, int]:
    """``emailtrack ingest`` in a child process: its summary line and peak resident memory (kB)."""
    done = subprocess.run([sys.executable, "-c", _PEAK, "--workspace", str(ws_root), "ingest", str(folder),
                           "--workers", "1"], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    summary, peak = done.stdout.split("PEAK_KB")
    return summary.strip(), int(peak)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read a process's peak memory")
def test_line_of_640_mb_is_skipped_in_bounded_memory(tmp_path):
    """A single line far larger than the memory bound: held whole, it alone would break it."""
    line = 640 * 1024 * 1024
    ws = new_workspace(tmp_path / "ws")
    folder = ws.root / "in"
    folder.mkdir()
    offset = write_long_line_mbox(folder / "long-line.mbox", line)
    write_long_line_log(folder / "long-line.log", line)
    summary, peak_kb = ingest_in_subprocess(ws.root, folder, timeout=120)
    assert peak_kb < 600 * 1024, f"peak RSS {peak_kb // 1024} MB"
    assert summary.startswith("1 new, 0 already stored, 2 quarantined"), summary
    run = stored_run(ws)
    assert run.quarantine["in/long-line.mbox:1"][:2] == (
        "too_large", "message larger than the maximum message size (64 MB), starting at byte 0")
    assert run.quarantine["in/long-line.log:2"][:2] == (
        "too_large", f"line of {line + len(b'Mar 12 18:04:12 mx postfix/smtp[1]: ') + 1} bytes, longer than {MAX_LOG_LINE}")
    assert run.sightings == {"in/long-line.mbox:2"}
    assert run.log_sources("log_events", "in/long-line.log") == ["in/long-line.log:1", "in/long-line.log:3"]
    assert query(ws, "SELECT first_source FROM stored_messages") == [("in/long-line.mbox:2",)]
    assert offset == query(ws, "SELECT size FROM ingested_files WHERE path LIKE '%long-line.mbox'")[0][0] - len(
        b"From MAILER-DAEMON Thu Mar 12 18:01:11 2026\n" + lead(message_id="<after-long@x>") + b"\n")


# --------------------------------------------------------------------------- regex bombs

# Bodies and headers built to make a backtracking expression take minutes or hours (quadratic or
# worse in their length): the extraction of details (labels, names, addresses, « » quotes),
# HTML rendering, forward detection, address headers and the mbox From line.
BOMBS = {
    "spaces": b" " * 50_000,                                     # a label line: ^\s*[*•-]?\s*
    "blank-lines": b"\n" * 100_000 + b"Jean s'int\xc3\xa9resse \xc3\xa0 ce bien",  # ^\s* across lines
    "lines-of-spaces": b" \n" * 50_000,
    "from-spaces": b"from" + b" " * 50_000 + b"x (",              # "from NAME (address)"
    "guillemets": "«".encode() * 30_000,                         # « quoted » without »
    "guillemets-spaced": "« ".encode() * 30_000,
    "address": b"Email : " + b"a." * 50_000 + b"@",              # a labelled address
    "quote-prefix": b"> " * 50_000 + b"-",                       # a forward separator's quote prefix
    "dashes": b"-- " * 30_000,
}
HTML_BOMBS = {
    "html-less-than": b"<" * 100_000,
    "html-comments": b"<!--" * 25_000,
    "html-scripts": b"<script>" * 12_000,
    "html-tags": b"<p" * 50_000,
}
HEADER_BOMBS = {
    "to-spaces": b"Cc: a@b.fr, " + b" " * 50_000 + b"x\n",       # cubic in the simple address parser
    "reply-to-spaces": b"Reply-To: " + b" " * 50_000 + b"<\n",
    "from-quotes": b"Sender: " + b'"' * 20_001 + b" <a@b.fr>\n",
    "references": b"References: " + b"<" * 100_000 + b"\n",
    "encoded-words": b"Precedence: " + b"=?a?q?x " * 30_000 + b"\n",  # quadratic in email.header's expression
}

_TIMED_PARSE = """\
import json, sys, time
from pathlib import Path
from emailtrack_analytics.ingest.pipeline import _parse
from emailtrack_analytics.ingest.sources import InputFile, detect, read_messages
out = {}
for path in sorted(Path(sys.argv[1]).iterdir()):
    started, outcomes = time.perf_counter(), []
    for raw in read_messages(InputFile(path, detect(path), path.name)):
        result = _parse((raw.data, raw.from_line))
        outcomes.append(result[0] if isinstance(result[0], str) else "stored")
    out[path.name] = [outcomes, time.perf_counter() - started]
print(json.dumps(out))
"""


def test_input_built_to_make_regular_expressions_backtrack_is_read_in_seconds(tmp_path):
    ws = new_workspace(tmp_path / "ws")
    folder = ws.root / "in"
    folder.mkdir()
    for name, body in BOMBS.items():
        (folder / f"{name}.eml").write_bytes(message(name, body=body + b"\n"))
    for name, body in HTML_BOMBS.items():
        (folder / f"{name}.eml").write_bytes(message(name, body=body + b"\n", content_type=b"text/html; charset=utf-8"))
    for name, header in HEADER_BOMBS.items():
        (folder / f"{name}.eml").write_bytes(message(name, headers=header))
    (folder / "from-line.mbox").write_bytes(mbox(lead(message_id="<a@x>")) + b"From " + b"x" * 100_000 + b"\n"
                                            + mbox(lead(message_id="<b@x>")))
    # each would take minutes with a backtracking expression: a hang fails here, not the test run
    done = subprocess.run([sys.executable, "-c", _TIMED_PARSE, str(folder)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    timings = json.loads(done.stdout)
    expected = {f"{name}.eml": ["stored"] for name in [*BOMBS, *HTML_BOMBS, *HEADER_BOMBS]}
    expected["from-line.mbox"] = ["stored", "stored"]
    assert {name: outcomes for name, (outcomes, _) in timings.items()} == expected
    slow = {name: round(seconds, 1) for name, (_, seconds) in timings.items() if seconds > 5}
    assert not slow, slow
    run = run_ingest(ws, [folder])
    assert (run.summary.new, run.summary.quarantined) == (len(BOMBS) + len(HTML_BOMBS) + len(HEADER_BOMBS) + 2, 0)
    # what the expressions look for is still found behind the bombs
    assert query(ws, "SELECT d.name FROM lead_details d JOIN sightings s USING (message_key) "
                     "WHERE s.source = 'in/blank-lines.eml'") == [("Jean",)]
    assert "\nFrom xxxxxxxxxx" in run.stored("in/from-line.mbox:1")["body"]  # a body line, not a separator


def test_a_large_message_is_parsed_without_its_attachment_bytes(tmp_path, monkeypatch):
    """Above SLIM_ABOVE the parser reads each base64 run up to KEEP_BASE64 bytes only: the
    record is the one the whole message gives (same key, size, body, details)."""
    from emailtrack_analytics.ingest.parsing import message as parsing

    path = tmp_path / "big.eml"
    _big_attachment_message(path, 6 * 1024 * 1024)
    raw = path.read_bytes()
    slimmed = parsing.slim(raw)
    assert len(raw) - len(slimmed) > 4 * 1024 * 1024
    assert slimmed.startswith(raw[:raw.index(b"base64")]) and slimmed.endswith(b"--SEP--\n")
    assert parsing.slim(lead()) == lead()  # nothing to cut: the same bytes
    record = parsing.parse_message(raw)
    monkeypatch.setattr(parsing, "SLIM_ABOVE", len(raw) + 1)
    assert record == parsing.parse_message(raw)
    assert record.size == len(raw) and record.message_key == parsing.message_key(raw)


def test_a_sender_nested_in_thousands_of_comments_is_stored_without_a_sender():
    # the standard library's address parser recurses once per "(": a RecursionError made the
    # whole message a parse_error
    from emailtrack_analytics.ingest.parsing.worker import parse_item
    raw = (b"From: " + b"(" * 20_000 + b"x@y.fr\nTo: lyon2@agence-exemple.fr\nSubject: Offre\n"
           b"Date: Thu, 12 Mar 2026 18:04:11 +0100\n\nJean Dupont\n")
    record, _ = parse_item((raw, None))
    assert (record.sender, record.subject, record.to_addrs) == (None, "Offre", ["lyon2@agence-exemple.fr"])


def test_a_folder_that_could_not_be_listed_is_read_once_it_can_be(tmp_path, monkeypatch):
    # its ledger entry (size and modification time, which chmod does not change) made every
    # later ingest skip it: the files in it were never read
    ws = new_workspace(tmp_path / "ws")
    locked = ws.root / "in" / "locked"
    locked.mkdir(parents=True)
    (locked / "inside.eml").write_bytes(lead(message_id="<locked@lead.seloger.com>"))
    real = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    with monkeypatch.context() as patch:
        patch.setattr(os, "scandir", scandir)
        first = run_ingest(ws, [ws.root / "in"])
        again = run_ingest(ws, [ws.root / "in"])
    assert first.quarantine["in/locked"][0] == again.quarantine["in/locked"][0] == "unreadable"
    assert (again.summary.files_skipped, again.summary.quarantined) == (0, 1)
    mended = run_ingest(ws, [ws.root / "in"])
    assert (mended.summary.new, mended.sightings, mended.quarantine) == (1, {"in/locked/inside.eml"}, {})
