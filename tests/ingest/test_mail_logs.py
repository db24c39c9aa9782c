"""Mail logs as `forward-events` rows: one row per delivery line, each joined to its own message.

The Postfix fixtures follow Postfix's real line layouts (smtpd ``client=``, cleanup
``message-id=``, qmgr ``from=``/``removed``, delivery agents' ``to=, orig_to=, relay=, status=``);
the Microsoft 365 and Google Workspace ones the vendors' documented export columns."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import os
import re
import zlib
from collections import Counter
from pathlib import Path

import pytest

from emailtrack_analytics.ingest.sources import postfix
from emailtrack_analytics.ingest.sources.logs import BadLine, LogEvent
from emailtrack_analytics.ingest.sources.postfix import read_postfix

MODIFIED = dt.datetime(2026, 4, 1)


def write_log(folder: Path, text: str, name: str = "mail.log") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    os.utime(path, (MODIFIED.timestamp(), MODIFIED.timestamp()))
    return path


def deliveries(tmp_path, text: str) -> list[LogEvent]:
    path = write_log(tmp_path, text)
    found = list(read_postfix(path, "mail.log", "UTC"))
    assert not [e for e in found if isinstance(e, BadLine)]
    return sorted(found, key=lambda e: int(e.source.rsplit(":", 1)[1]))


def joined(events: list[LogEvent]) -> list[tuple]:
    return [(e.recipient, e.message_id, e.sender, e.original_recipient, e.status) for e in events]


def export(cli, workspace_dir) -> list[dict]:
    result = cli("-w", workspace_dir, "export", "forward-events", "--personal-data")
    assert result.code == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


def ingest(cli, workspace_dir, path: Path, kind: str) -> None:
    result = cli("-w", workspace_dir, "ingest", "--kind", kind, path)
    assert result.code == 0, result.err


DELIVERY_LINE = re.compile(r"postfix[\w.-]*(?:/[\w.-]+)*\[\d+\]: [0-9A-Za-z]+: to=<[^>]*>.*\bstatus=")


def delivery_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if DELIVERY_LINE.search(line))


# --------------------------------------------------------------------------- queue-id lifetimes

REUSED = """\
Mar  2 09:00:01 mx postfix/smtpd[201]: 3F2A1B4C5D: client=mail-out.seloger.com[203.0.113.53]
Mar  2 09:00:01 mx postfix/cleanup[202]: 3F2A1B4C5D: message-id=<lead-a@lead.seloger.com>
Mar  2 09:00:01 mx postfix/qmgr[203]: 3F2A1B4C5D: from=<noreply@lead.seloger.com>, size=4100, nrcpt=1 (queue active)
Mar  2 09:00:02 mx postfix/lmtp[204]: 3F2A1B4C5D: to=<lyon2@agence-exemple.fr>, relay=mx[private/dovecot-lmtp], delay=0.4, delays=0.1/0/0/0.3, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar  2 09:00:02 mx postfix/qmgr[203]: 3F2A1B4C5D: removed
Mar  9 14:30:10 mx postfix/smtpd[301]: 3F2A1B4C5D: client=mail.example.org[198.51.100.20]
Mar  9 14:30:10 mx postfix/cleanup[302]: 3F2A1B4C5D: message-id=<news-b@example.org>
Mar  9 14:30:11 mx postfix/lmtp[304]: 3F2A1B4C5D: to=<paris11@agence-exemple.fr>, relay=mx[private/dovecot-lmtp], delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar  9 14:30:11 mx postfix/qmgr[303]: 3F2A1B4C5D: from=<news@example.org>, size=9000, nrcpt=1 (queue active)
Mar  9 14:30:11 mx postfix/qmgr[303]: 3F2A1B4C5D: removed
"""


def test_reused_queue_id_days_later_gives_each_delivery_its_own_message_and_sender(tmp_path):
    # the second message's qmgr line is written after its delivery line (same second, two
    # processes): the delivery still takes that sender, not the first message's
    found = deliveries(tmp_path, REUSED)
    assert joined(found) == [
        ("lyon2@agence-exemple.fr", "lead-a@lead.seloger.com", "noreply@lead.seloger.com", None, "sent"),
        ("paris11@agence-exemple.fr", "news-b@example.org", "news@example.org", None, "sent")]
    assert [e.event_time for e in found] == [dt.datetime(2026, 3, 2, 9, 0, 2), dt.datetime(2026, 3, 9, 14, 30, 11)]


LOST_REMOVED = """\
Mar  2 09:00:01 mx postfix/cleanup[202]: 0A1B2C3D4E: message-id=<lead-a@lead.seloger.com>
Mar  2 09:00:01 mx postfix/qmgr[203]: 0A1B2C3D4E: from=<noreply@lead.seloger.com>, size=4100, nrcpt=1 (queue active)
Mar  2 09:00:02 mx postfix/smtp[204]: 0A1B2C3D4E: to=<lyon2@track.example.net>, orig_to=<lyon2@agence-exemple.fr>, relay=mx.track.example.net[198.51.100.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99AA)
Mar  6 11:00:00 mx postfix/pickup[305]: 0A1B2C3D4E: uid=0 from=<root>
Mar  6 11:00:00 mx postfix/cleanup[302]: 0A1B2C3D4E: message-id=<20260306110000.0A1B2C3D4E@mx.agence-exemple.fr>
Mar  6 11:00:01 mx postfix/local[306]: 0A1B2C3D4E: to=<root@mx.agence-exemple.fr>, relay=local, delay=0.1, delays=0.05/0/0/0.05, dsn=2.0.0, status=sent (delivered to mailbox)
"""


def test_a_message_whose_removed_line_is_missing_never_lends_its_sender_to_the_next_one(tmp_path):
    # the first message's "removed" is not in the log and the second one's qmgr line neither:
    # the second delivery has the sender pickup logged, never the first message's
    assert joined(deliveries(tmp_path, LOST_REMOVED)) == [
        ("lyon2@track.example.net", "lead-a@lead.seloger.com", "noreply@lead.seloger.com", "lyon2@agence-exemple.fr",
         "sent"),
        ("root@mx.agence-exemple.fr", "20260306110000.0A1B2C3D4E@mx.agence-exemple.fr", "root", None, "sent")]


INTERLEAVED = """\
Mar 12 18:04:11 mx1 postfix/smtpd[101]: 5C6D7E8F90: client=mail-out.seloger.com[203.0.113.53]
Mar 12 18:04:11 mx2 postfix/smtpd[501]: 5C6D7E8F90: client=mail.leboncoin.fr[203.0.113.80]
Mar 12 18:04:11 mx1 postfix/cleanup[102]: 5C6D7E8F90: message-id=<lead-1@lead.seloger.com>
Mar 12 18:04:11 mx2 postfix/cleanup[502]: 5C6D7E8F90: message-id=<lead-2@leboncoin.fr>
Mar 12 18:04:11 mx1 postfix/smtpd[103]: 6A7B8C9D01: client=mail.example.org[198.51.100.20]
Mar 12 18:04:11 mx1 postfix/cleanup[102]: 6A7B8C9D01: message-id=<news-3@example.org>
Mar 12 18:04:11 mx2 postfix/qmgr[503]: 5C6D7E8F90: from=<messagerie@leboncoin.fr>, size=3000, nrcpt=1 (queue active)
Mar 12 18:04:11 mx1 postfix/qmgr[104]: 5C6D7E8F90: from=<noreply@lead.seloger.com>, size=5120, nrcpt=2 (queue active)
Mar 12 18:04:12 mx1 postfix/qmgr[104]: 6A7B8C9D01: from=<news@example.org>, size=800, nrcpt=2 (queue active)
Mar 12 18:04:12 mx2 postfix/lmtp[504]: 5C6D7E8F90: to=<paris11@agence-exemple.fr>, relay=mx2[private/dovecot-lmtp], delay=0.9, delays=0.5/0/0/0.4, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar 12 18:04:12 mx1 postfix/lmtp[105]: 6A7B8C9D01: to=<direction@agence-exemple.fr>, relay=mx1[private/dovecot-lmtp], delay=0.5, delays=0.1/0/0/0.4, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar 12 18:04:12 mx1 postfix/lmtp[105]: 5C6D7E8F90: to=<lyon2@agence-exemple.fr>, relay=mx1[private/dovecot-lmtp], delay=1.1, delays=0.7/0/0/0.4, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar 12 18:04:12 mx2 postfix/qmgr[503]: 5C6D7E8F90: removed
Mar 12 18:04:13 mx1 postfix/smtp[106]: 5C6D7E8F90: to=<lyon2@track.example.net>, orig_to=<lyon2@agence-exemple.fr>, relay=mx.track.example.net[198.51.100.7]:25, delay=2, delays=0.7/0/0.6/0.7, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99AA)
Mar 12 18:04:13 mx1 postfix/smtp[107]: 6A7B8C9D01: to=<contact@example.net>, relay=mx.example.net[192.0.2.40]:25, delay=1, delays=0.5/0/0.3/0.2, dsn=4.2.2, status=deferred (host mx.example.net[192.0.2.40] said: 452 4.2.2 Mailbox full)
Mar 12 18:04:13 mx1 postfix/qmgr[104]: 5C6D7E8F90: removed
"""


def test_a_delivery_line_weeks_after_a_message_without_removed_is_not_joined_to_it(tmp_path):
    # no message stays queued a week (Postfix gives up after 5 days): the queue id was reused
    # by a message whose other lines are not in the log
    later = ("Mar 20 07:00:00 mx postfix/local[307]: 0A1B2C3D4E: to=<root@mx.agence-exemple.fr>, relay=local, "
             "delay=0.1, delays=0.05/0/0/0.05, dsn=2.0.0, status=sent (delivered to mailbox)\n")
    text = "".join(LOST_REMOVED.splitlines(True)[:3]) + later
    assert joined(deliveries(tmp_path, text))[1] == ("root@mx.agence-exemple.fr", None, None, None, "sent")


def test_interleaved_messages_on_two_hosts_with_the_same_queue_id_keep_their_own_sender(tmp_path):
    found = deliveries(tmp_path, INTERLEAVED)
    assert joined(found) == [
        ("paris11@agence-exemple.fr", "lead-2@leboncoin.fr", "messagerie@leboncoin.fr", None, "sent"),
        ("direction@agence-exemple.fr", "news-3@example.org", "news@example.org", None, "sent"),
        ("lyon2@agence-exemple.fr", "lead-1@lead.seloger.com", "noreply@lead.seloger.com", None, "sent"),
        ("lyon2@track.example.net", "lead-1@lead.seloger.com", "noreply@lead.seloger.com", "lyon2@agence-exemple.fr",
         "sent"),
        ("contact@example.net", "news-3@example.org", "news@example.org", None, "deferred")]
    # a message still queued when the log ends (6A7B8C9D01, deferred) is given out too
    assert len(found) == delivery_lines(INTERLEAVED)


def test_a_delivery_line_written_just_after_removed_still_joins_its_message(tmp_path):
    text = ("Mar 12 18:04:11 mx postfix/cleanup[1]: 7E7E7E7E7E: message-id=<a@x>\n"
            "Mar 12 18:04:11 mx postfix/qmgr[2]: 7E7E7E7E7E: from=<noreply@lead.seloger.com>, size=1, nrcpt=2 (queue active)\n"
            "Mar 12 18:04:12 mx postfix/lmtp[3]: 7E7E7E7E7E: to=<lyon2@agence-exemple.fr>, relay=mx[private/lmtp], "
            "status=sent (250 2.0.0 Saved)\n"
            "Mar 12 18:04:12 mx postfix/qmgr[2]: 7E7E7E7E7E: removed\n"
            "Mar 12 18:04:12 mx postfix/lmtp[4]: 7E7E7E7E7E: to=<paris11@agence-exemple.fr>, relay=mx[private/lmtp], "
            "status=sent (250 2.0.0 Saved)\n")
    assert {(e.recipient, e.sender, e.message_id) for e in deliveries(tmp_path, text)} == {
        ("lyon2@agence-exemple.fr", "noreply@lead.seloger.com", "a@x"),
        ("paris11@agence-exemple.fr", "noreply@lead.seloger.com", "a@x")}


def test_a_log_without_removed_lines_gives_every_delivery_out_with_its_sender(tmp_path, monkeypatch):
    # more deliveries held than the limit: the oldest messages are given out early, joined
    monkeypatch.setattr(postfix, "HELD_DELIVERIES", 10)
    lines = []
    for i in range(50):
        queue = f"{0xA00000 + i:X}"
        lines += [f"Mar 12 18:{i:02d}:00 mx postfix/cleanup[1]: {queue}: message-id=<m-{i}@x>",
                  f"Mar 12 18:{i:02d}:00 mx postfix/qmgr[2]: {queue}: from=<s-{i}@x>, size=1, nrcpt=1 (queue active)",
                  f"Mar 12 18:{i:02d}:01 mx postfix/smtp[3]: {queue}: to=<r-{i}@y>, relay=y[192.0.2.1]:25, "
                  f"status=sent (250 ok)"]
    found = deliveries(tmp_path, "\n".join(lines) + "\n")
    assert [(e.recipient, e.sender, e.message_id) for e in found] == [
        (f"r-{i}@y", f"s-{i}@x", f"m-{i}@x") for i in range(50)]


# --------------------------------------------------------------------------- every delivery line a row

OUTSIDE = """\
Mar 12 08:00:01 mx postfix/pickup[10]: 1A2B3C4D5E: uid=0 from=<root>
Mar 12 08:00:01 mx postfix/cleanup[11]: 1A2B3C4D5E: message-id=<20260312080001.1A2B3C4D5E@mx.agence-exemple.fr>
Mar 12 08:00:01 mx postfix/qmgr[12]: 1A2B3C4D5E: from=<root@mx.agence-exemple.fr>, size=700, nrcpt=2 (queue active)
Mar 12 08:00:01 mx postfix/local[13]: 1A2B3C4D5E: to=<root@mx.agence-exemple.fr>, orig_to=<postmaster>, relay=local, delay=0.1, delays=0.05/0/0/0.05, dsn=2.0.0, status=sent (delivered to mailbox)
Mar 12 08:00:01 mx postfix/local[13]: 1A2B3C4D5E: to=<root@mx.agence-exemple.fr>, orig_to=<abuse>, relay=local, delay=0.1, delays=0.05/0/0/0.05, dsn=2.0.0, status=sent (delivered to mailbox)
Mar 12 08:00:02 mx postfix/qmgr[12]: 1A2B3C4D5E: removed
Mar 12 09:15:00 mx postfix/smtpd[20]: 2B3C4D5E6F: client=mail-out.seloger.com[203.0.113.53]
Mar 12 09:15:00 mx postfix/cleanup[11]: 2B3C4D5E6F: message-id=<lead-9@lead.seloger.com>
Mar 12 09:15:00 mx postfix/qmgr[12]: 2B3C4D5E6F: from=<noreply@lead.seloger.com>, size=5120, nrcpt=3 (queue active)
Mar 12 09:15:01 mx postfix/lmtp[21]: 2B3C4D5E6F: to=<lyon2@agence-exemple.fr>, relay=mx[private/dovecot-lmtp], delay=0.4, delays=0.1/0/0/0.3, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar 12 09:15:01 mx postfix/lmtp[21]: 2B3C4D5E6F: to=<direction@agence-exemple.fr>, relay=mx[private/dovecot-lmtp], delay=0.4, delays=0.1/0/0/0.3, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar 12 09:15:02 mx postfix/smtp[22]: 2B3C4D5E6F: to=<lyon2@track.example.net>, orig_to=<lyon2@agence-exemple.fr>, relay=mx.track.example.net[198.51.100.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99AA)
Mar 12 09:15:02 mx postfix/qmgr[12]: 2B3C4D5E6F: removed
Mar 12 09:20:00 mx postfix/cleanup[11]: 3C4D5E6F70: message-id=<20260312092000.3C4D5E6F70@mx.agence-exemple.fr>
Mar 12 09:20:00 mx postfix/bounce[30]: 4D5E6F7081: sender non-delivery notification: 3C4D5E6F70
Mar 12 09:20:00 mx postfix/qmgr[12]: 3C4D5E6F70: from=<>, size=2400, nrcpt=1 (queue active)
Mar 12 09:20:01 mx postfix/smtp[31]: 3C4D5E6F70: to=<bounces+123@mailer.example.com>, relay=mailer.example.com[192.0.2.9]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Mar 12 09:20:01 mx postfix/qmgr[12]: 3C4D5E6F70: removed
"""


def test_deliveries_outside_the_configuration_are_rows_with_an_empty_point_of_sale(cli, workspace_dir, tmp_path):
    ingest(cli, workspace_dir, write_log(tmp_path / "in", OUTSIDE), "postfix")
    rows = export(cli, workspace_dir)
    assert len(rows) == delivery_lines(OUTSIDE) == 6
    by_recipient = Counter((r["recipient"], r["original_recipient"], r["point_of_sale"]) for r in rows)
    assert by_recipient == Counter({
        # the same mailbox reached through two aliases in one second: two lines, two rows
        ("root@mx.agence-exemple.fr", "postmaster", ""): 1, ("root@mx.agence-exemple.fr", "abuse", ""): 1,
        ("lyon2@agence-exemple.fr", "", "lyon-2"): 1, ("direction@agence-exemple.fr", "", ""): 1,
        ("lyon2@track.example.net", "lyon2@agence-exemple.fr", "lyon-2"): 1,
        ("bounces+123@mailer.example.com", "", ""): 1})
    senders = {r["recipient"]: r["sender"] for r in rows}
    assert senders["root@mx.agence-exemple.fr"] == "root@mx.agence-exemple.fr"  # qmgr's, not pickup's
    assert senders["direction@agence-exemple.fr"] == "noreply@lead.seloger.com"
    assert senders["bounces+123@mailer.example.com"] == ""  # a bounce's null sender (from=<>)


def test_two_alike_delivery_lines_are_two_rows_and_reading_the_grown_or_rotated_log_adds_only_new_lines(
        cli, workspace_dir, tmp_path):
    first = ("Jan  1 00:00:00 mx postfix/lmtp[1]: 123456789AB: to=<user@example.com>, relay=example.com[path], "
             "status=sent (250 2.0.0 Ok: queued as A1)\n"
             "Jan  1 00:00:00 mx postfix/smtp[2]: 123456789AB: to=<user@example.com>, relay=example.com[path], "
             "status=sent (250 2.0.0 Ok: queued as A1)\n")
    path = write_log(tmp_path / "in", first)
    ingest(cli, workspace_dir, path, "postfix")
    assert len(export(cli, workspace_dir)) == 2
    grown = first + ("Jan  1 00:00:05 mx postfix/smtp[2]: 123456789AB: to=<other@example.com>, relay=x[192.0.2.1]:25, "
                     "status=bounced (550 no such user)\n")
    path.write_text(grown)
    ingest(cli, workspace_dir, path, "postfix")
    assert len(export(cli, workspace_dir)) == 3
    rotated = tmp_path / "in" / "mail.log.1.gz"
    rotated.write_bytes(gzip.compress(grown.encode()))
    os.utime(rotated, (MODIFIED.timestamp(), MODIFIED.timestamp()))
    ingest(cli, workspace_dir, rotated, "postfix")
    assert len(export(cli, workspace_dir)) == 3


# --------------------------------------------------------------------------- content filters, probes, rejects

FILTERED = """\
Mar 12 18:04:11 mx postfix/smtpd[1]: AB12CD34EF: client=mail-out.seloger.com[203.0.113.53]
Mar 12 18:04:11 mx postfix/cleanup[2]: AB12CD34EF: message-id=<lead-5@lead.seloger.com>
Mar 12 18:04:11 mx postfix/qmgr[3]: AB12CD34EF: from=<noreply@lead.seloger.com>, size=5120, nrcpt=1 (queue active)
Mar 12 18:04:13 mx postfix/smtpd[4]: CD34EF56AB: client=filter.lan[192.0.2.10]
Mar 12 18:04:13 mx postfix/cleanup[2]: CD34EF56AB: message-id=<lead-5@lead.seloger.com>
Mar 12 18:04:13 mx postfix/qmgr[3]: CD34EF56AB: from=<noreply@lead.seloger.com>, size=5600, nrcpt=1 (queue active)
Mar 12 18:04:13 mx postfix/smtp[5]: AB12CD34EF: to=<lyon2@agence-exemple.fr>, relay=filter.lan[192.0.2.10]:10024, delay=2, delays=0.1/0/0/1.9, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[192.0.2.10]:10025): 250 2.0.0 Ok: queued as CD34EF56AB)
Mar 12 18:04:13 mx postfix/qmgr[3]: AB12CD34EF: removed
Mar 12 18:04:14 mx postfix/lmtp[6]: CD34EF56AB: to=<lyon2@agence-exemple.fr>, relay=mx[private/dovecot-lmtp], delay=0.2, delays=0/0/0/0.2, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar 12 18:04:14 mx postfix/qmgr[3]: CD34EF56AB: removed
Mar 12 18:10:00 mx postfix/cleanup[2]: EF56AB78CD: message-id=<out-6@agence-exemple.fr>
Mar 12 18:10:00 mx postfix/qmgr[3]: EF56AB78CD: from=<lyon2@agence-exemple.fr>, size=900, nrcpt=1 (queue active)
Mar 12 18:10:01 mx postfix/smtp[7]: EF56AB78CD: to=<client@example.net>, relay=mx.example.net[192.0.2.40]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4F00D1E)
Mar 12 18:10:01 mx postfix/qmgr[3]: EF56AB78CD: removed
"""


def test_content_filter_reinjection_on_another_host_is_counted_once(tmp_path):
    # the filter is not on the loopback: the hop is known by its "queued as" id, logged with the
    # same Message-ID; a remote server's "queued as" (not in this log) is a real delivery
    found = deliveries(tmp_path, FILTERED)
    assert [(e.queue_id, e.recipient, e.status) for e in found] == [
        ("AB12CD34EF", "lyon2@agence-exemple.fr", "other"), ("CD34EF56AB", "lyon2@agence-exemple.fr", "sent"),
        ("EF56AB78CD", "client@example.net", "sent")]
    assert found[0].detail.startswith("content filter hop")
    assert Counter((e.message_id, e.recipient) for e in found if e.status == "sent")[
        ("lead-5@lead.seloger.com", "lyon2@agence-exemple.fr")] == 1


def test_address_verification_probes_rejects_and_milter_rejects(tmp_path):
    text = ("Mar 12 11:03:12 mx postfix/cleanup[1]: 2847EE008E: message-id=<20260312110312.2847EE008E@mx>\n"
            "Mar 12 11:03:12 mx postfix/qmgr[2]: 2847EE008E: from=<double-bounce@mx>, size=230, nrcpt=1 (queue active)\n"
            "Mar 12 11:03:18 mx postfix/smtp[3]: 2847EE008E: to=<lyon2@agence-exemple.fr>, relay=mx2[192.0.2.3]:25, "
            "delay=6, delays=0/0/6/0.2, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)\n"
            "Mar 12 11:03:18 mx postfix/qmgr[2]: 2847EE008E: removed\n"
            "Mar 12 11:04:00 mx postfix/postscreen[4]: NOQUEUE: reject: RCPT from [192.0.2.66]:4242: 550 5.7.1 Service "
            "unavailable; client [192.0.2.66] blocked using zen.spamhaus.org; from=<spam@example.org>, "
            "to=<lyon2@agence-exemple.fr>, proto=ESMTP, helo=<x>\n"
            "Mar 12 11:05:00 mx postfix/smtpd[5]: 5D5D5D5D5D: client=unknown[192.0.2.67]\n"
            "Mar 12 11:05:01 mx postfix/cleanup[1]: 5D5D5D5D5D: message-id=<phish@example.org>\n"
            "Mar 12 11:05:01 mx postfix/cleanup[1]: 5D5D5D5D5D: milter-reject: END-OF-MESSAGE from unknown[192.0.2.67]: "
            "5.7.1 Rejected by DKIM policy; from=<ceo@example.org> to=<paris11@agence-exemple.fr> proto=ESMTP helo=<x>\n")
    assert [(e.recipient, e.status, e.message_id) for e in deliveries(tmp_path, text)] == [
        ("lyon2@agence-exemple.fr", "other", "20260312110312.2847EE008E@mx"),  # a probe delivers nothing
        ("lyon2@agence-exemple.fr", "rejected", None),
        ("paris11@agence-exemple.fr", "rejected", "phish@example.org")]


# --------------------------------------------------------------------------- Microsoft 365, Google Workspace

M365 = '''"Received","SenderAddress","RecipientAddress","Subject","Status","Size"
"3/12/2026 5:04:11 PM","noreply@lead.seloger.com","lyon2@agence-exemple.fr","Offre","Delivered","100"
"3/12/2026 5:04:11 PM","messagerie@leboncoin.fr","lyon2@agence-exemple.fr","Annonce","Delivered","100"
"3/12/2026 5:04:12 PM","a@b.fr","paris11@agence-exemple.fr","x","Failed","100"
"3/12/2026 5:04:13 PM","a@b.fr","paris11@agence-exemple.fr","x","Pending","100"
"3/12/2026 5:04:14 PM","a@b.fr","equipe@agence-exemple.fr","x","Expanded","100"
"3/12/2026 5:04:15 PM","a@b.fr","direction@agence-exemple.fr","x","FilteredAsSpam","100"
"3/12/2026 5:04:16 PM","a@b.fr","direction@agence-exemple.fr","x","Quarantined","100"
"3/12/2026 5:04:17 PM","a@b.fr","direction@agence-exemple.fr","x","Getting Status","100"
"3/12/2026 5:04:18 PM","a@b.fr","direction@agence-exemple.fr","x","None","100"
"3/12/2026 5:04:19 PM","a@b.fr","direction@agence-exemple.fr","x","Resolved","100"
"3/12/2026 5:04:20 PM","a@b.fr","direction@agence-exemple.fr","x","SomethingNew","100"
'''


def test_every_m365_trace_row_is_a_row_with_its_status_even_alike_rows_without_message_id(
        cli, workspace_dir, tmp_path):
    # an export without a MessageId column: two messages from two portals to one mailbox in the
    # same second were one row (their keys were the same)
    path = tmp_path / "in" / "trace.csv"
    path.parent.mkdir()
    path.write_text(M365, encoding="utf-8")
    ingest(cli, workspace_dir, path, "m365")
    rows = export(cli, workspace_dir)
    assert len(rows) == M365.count("\n") - 1
    assert [r["status"] for r in rows] == ["sent", "sent", "bounced", "deferred", "expanded", "rejected", "other",
                                           "other", "other", "sent", "other"]
    assert {r["sender"] for r in rows if r["recipient"] == "lyon2@agence-exemple.fr"} == {
        "noreply@lead.seloger.com", "messagerie@leboncoin.fr"}
    assert [r["point_of_sale"] for r in rows][:4] == ["lyon-2", "lyon-2", "paris-11", "paris-11"]


def test_every_google_workspace_row_is_a_row_even_alike_ones(cli, workspace_dir, tmp_path):
    header = ("Message ID,Start date,End date,Sender,Message size,Subject,Direction,Attachments,Recipient address,"
              "Event target,Event date,Event status,Event target IP address,Has encryption,Event SMTP reply code,"
              "Event description\n")
    row = ("<g-1@x>,2026/03/12 18:04:11,2026/03/12 18:04:12,{sender},4000,Offre,Received,0,lyon2@agence-exemple.fr,"
           "GMAIL_INBOX,2026/03/12 18:04:12,{status},,TRUE,250,\n")
    text = header + "".join(row.format(sender=s, status=st) for s, st in (
        ("noreply@lead.seloger.com", "DELIVERED"), ("noreply@lead.seloger.com", "DELIVERED"),
        ("noreply@lead.seloger.com", "DEFERRED"), ("noreply@lead.seloger.com", "BOUNCED")))
    path = tmp_path / "in" / "gws.csv"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    ingest(cli, workspace_dir, path, "gws")
    assert sorted(r["status"] for r in export(cli, workspace_dir)) == ["bounced", "deferred", "sent", "sent"]


# --------------------------------------------------------------------------- the corpus's real logs

RECIPIENT_REJECT = re.compile(r"postfix[\w.-]*(?:/[\w.-]+)*\[\d+\]: (?:NOQUEUE|[0-9A-Za-z]+): "
                              r"(?:milter-)?reject: .*; from=<[^>]*>,? to=<[^>]*>")


def corpus_text(path: Path) -> str:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode("utf-8", "replace").replace("%(day)s", "Mar 12")  # modoboa's placeholder


@pytest.mark.corpus
def test_corpus_postfix_logs_give_one_row_per_delivery_line_and_per_rejected_recipient(corpus, tmp_path):
    for path in sorted(p for p in (corpus / "logs/postfix").rglob("*") if p.is_file()):
        text = corpus_text(path)
        copy = tmp_path / path.relative_to(corpus).as_posix().replace("/", "_").removesuffix(".gz")
        copy.write_text(text)
        found = [e for e in read_postfix(copy, copy.name, "UTC") if isinstance(e, LogEvent)]
        expected = delivery_lines(text) + sum(1 for line in text.splitlines() if RECIPIENT_REJECT.search(line))
        assert len(found) == expected, path.name
        assert len({e.row_key for e in found}) == len(found), path.name


@pytest.mark.corpus
def test_corpus_pixelpark_every_delivery_has_its_qmgr_sender_and_reinjected_mail_is_counted_once(corpus):
    path = corpus / "logs/postfix/pixelpark-postfix-logsums/mail.log.gz"
    text = corpus_text(path)
    # pixelpark's long queue ids are never reused: a plain map is the truth here
    senders = dict(re.findall(r"postfix/qmgr\[\d+\]: (\w+): from=<([^>]*)>", text))
    found = [e for e in read_postfix(path, "x", "Europe/Berlin") if isinstance(e, LogEvent) and e.queue_id]
    assert found and all((e.sender or "") == senders[e.queue_id].lower() for e in found)
    sent = Counter((e.message_id, e.recipient) for e in found if e.status == "sent")
    assert max(sent.values()) == 1
    # a hop whose "queued as" id is logged here again (amavis re-injecting) is not a delivery,
    # even when the message had no Message-ID (cleanup adds one to the re-injected copy)
    requeued = set(re.findall(r"postfix/cleanup\[\d+\]: (\w+): message-id=", text))
    hop_lines = [line for line in text.splitlines() if DELIVERY_LINE.search(line) and "status=sent" in line
                 and (m := re.search(r"queued as (\w+)", line)) and m.group(1) in requeued]
    hops = [e for e in found if e.detail and e.detail.startswith("content filter hop")]
    assert len(hops) == len(hop_lines) > 150 and all(e.status == "other" for e in hops)


def test_a_cut_gzip_log_still_gives_the_deliveries_held_before_the_break(tmp_path):
    packed = gzip.compress((INTERLEAVED * 40).encode(), mtime=0)
    cut = packed[:len(packed) * 2 // 3]
    readable = zlib.decompressobj(wbits=31).decompress(cut).decode()
    complete = readable[:readable.rfind("\n") + 1]
    path = tmp_path / "mail.log.2.gz"
    path.write_bytes(cut)
    found = list(read_postfix(path, "x", "UTC"))
    assert [e.reason for e in found if isinstance(e, BadLine)] in (["truncated"], ["unreadable"])
    assert len([e for e in found if isinstance(e, LogEvent)]) >= delivery_lines(complete) > 0


DEFERRED_FOR_WEEKS = """\
Mar 01 09:00:00 mx postfix/smtpd[201]: 7E8F9A0B1C: client=portal.example[198.51.100.7]
Mar 01 09:00:00 mx postfix/cleanup[202]: 7E8F9A0B1C: message-id=<lead-42@portal.example>
Mar 01 09:00:00 mx postfix/qmgr[203]: 7E8F9A0B1C: from=<leads@portal.example>, size=4210, nrcpt=1 (queue active)
Mar 01 09:00:05 mx postfix/smtp[204]: 7E8F9A0B1C: to=<lyon2@agence-exemple.fr>, relay=mx.agence-exemple.fr[192.0.2.9]:25, delay=5, delays=0/0/5/0, dsn=4.4.1, status=deferred (connect to mx.agence-exemple.fr[192.0.2.9]:25: Connection timed out)
Mar 05 10:00:00 mx postfix/qmgr[203]: 7E8F9A0B1C: from=<leads@portal.example>, size=4210, nrcpt=1 (queue active)
Mar 09 11:00:00 mx postfix/qmgr[203]: 7E8F9A0B1C: from=<leads@portal.example>, size=4210, nrcpt=1 (queue active)
Mar 09 11:00:02 mx postfix/smtp[205]: 7E8F9A0B1C: to=<lyon2@agence-exemple.fr>, relay=mx.agence-exemple.fr[192.0.2.9]:25, delay=698402, delays=698400/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Mar 09 11:00:02 mx postfix/qmgr[203]: 7E8F9A0B1C: removed
"""


def test_a_message_deferred_longer_than_a_week_keeps_its_message_id(tmp_path):
    """maximal_queue_lifetime may be set up to 100 days; qmgr logs every retry: a message whose
    lines keep coming is the same message, whenever its first line was (review of issue 11)."""
    found = deliveries(tmp_path, DEFERRED_FOR_WEEKS)
    assert [(e.status, e.message_id, e.sender) for e in found] == [
        ("deferred", "lead-42@portal.example", "leads@portal.example"),
        ("sent", "lead-42@portal.example", "leads@portal.example")]


def test_a_hostile_reject_line_is_read_in_linear_time(tmp_path):
    import time
    line = ("Mar 12 18:04:13 mx postfix/cleanup[202]: 4F5A6B7C8D: reject: x" + "; from=<" * 20_000 + "\n")
    text = "Mar 12 18:04:13 mx postfix/smtpd[201]: 4F5A6B7C8D: client=a[192.0.2.1]\n" + line * 2
    started = time.process_time()
    deliveries(tmp_path, text)
    assert time.process_time() - started < 5  # 2 lines of 160 KB took 24 s (quadratic)
