"""Postfix logs: delivery events joined by queue id, each edge case named after itself."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from collections import Counter

import pytest

from emailtrack_analytics.ingest.sources import detect
from emailtrack_analytics.ingest.sources.logs import BadLine, LogEvent
from emailtrack_analytics.ingest.sources.postfix import read_postfix


def events(tmp_path, text: str, *, modified: dt.datetime | None = None, name="mail.log", zone="UTC"):
    path = tmp_path / name
    path.write_text(text)
    if modified:
        stamp = modified.timestamp()
        os.utime(path, (stamp, stamp))
    return in_line_order(read_postfix(path, name, zone))


def in_line_order(entries) -> list:
    """Events come out when their message leaves the queue: put them back in line order."""
    return sorted(entries, key=lambda e: int(e.source.rsplit(":", 1)[1]))


LEAD = """\
Mar 12 18:04:11 mx postfix/smtpd[101]: 4A1B2C3D4E: client=mail-out.seloger.com[203.0.113.53]
Mar 12 18:04:11 mx postfix/cleanup[102]: 4A1B2C3D4E: message-id=<lead-1@lead.seloger.com>
Mar 12 18:04:11 mx postfix/qmgr[103]: 4A1B2C3D4E: from=<noreply@lead.seloger.com>, size=5120, nrcpt=2 (queue active)
Mar 12 18:04:12 mx postfix/lmtp[104]: 4A1B2C3D4E: to=<lyon2@agence-exemple.fr>, relay=mx[private/dovecot-lmtp], delay=0.3, delays=0.1/0/0/0.2, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Mar 12 18:04:13 mx postfix/smtp[105]: 4A1B2C3D4E: to=<lyon2@track.example.net>, orig_to=<lyon2@agence-exemple.fr>, relay=mx.track.example.net[198.51.100.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99AA)
Mar 12 18:04:13 mx postfix/qmgr[103]: 4A1B2C3D4E: removed
"""


def test_lines_are_joined_by_queue_id_and_multi_recipient(tmp_path):
    found = [e for e in events(tmp_path, LEAD, modified=dt.datetime(2026, 4, 1)) if isinstance(e, LogEvent)]
    assert [(e.recipient, e.original_recipient, e.status) for e in found] == [
        ("lyon2@agence-exemple.fr", None, "sent"), ("lyon2@track.example.net", "lyon2@agence-exemple.fr", "sent")]
    assert {(e.message_id, e.sender, e.queue_id) for e in found} == {
        ("lead-1@lead.seloger.com", "noreply@lead.seloger.com", "4A1B2C3D4E")}
    assert found[0].event_time == dt.datetime(2026, 3, 12, 18, 4, 12)
    assert found[0].source == "mail.log:4"


def test_year_rollover(tmp_path):
    text = ("Dec 31 23:59:58 mx postfix/cleanup[1]: AAAAAA1: message-id=<a@x>\n"
            "Dec 31 23:59:59 mx postfix/smtp[2]: AAAAAA1: to=<a@b.fr>, relay=r[1.2.3.4]:25, status=sent (250 ok)\n"
            "Jan  1 00:00:01 mx postfix/cleanup[1]: BBBBBB2: message-id=<b@x>\n"
            "Jan  1 00:00:02 mx postfix/smtp[2]: BBBBBB2: to=<a@b.fr>, relay=r[1.2.3.4]:25, status=sent (250 ok)\n")
    found = events(tmp_path, text, modified=dt.datetime(2026, 1, 2))
    assert [e.event_time for e in found] == [dt.datetime(2025, 12, 31, 23, 59, 59), dt.datetime(2026, 1, 1, 0, 0, 2)]


def test_classic_stamps_are_read_in_the_workspace_zone(tmp_path):
    found = events(tmp_path, LEAD, modified=dt.datetime(2026, 4, 1), zone="Europe/Paris")
    assert found[0].event_time == dt.datetime(2026, 3, 12, 17, 4, 12)  # 18:04 CET is 17:04 UTC


def test_rfc3339_stamps(tmp_path):
    text = ("2026-03-12T18:04:11.123456+01:00 mx postfix/cleanup[1]: 4PbC4x469Jz3tBr: message-id=<a@x>\n"
            "2026-03-12T18:04:12.5+01:00 mx postfix/10025/smtp[2]: 4PbC4x469Jz3tBr: to=<a@b.fr>, relay=r[1.2.3.4]:25, "
            "status=sent (250 ok)\n")
    (event,) = events(tmp_path, text)
    assert (event.event_time, event.message_id, event.queue_id) == (dt.datetime(2026, 3, 12, 17, 4, 12), "a@x",
                                                                    "4PbC4x469Jz3tBr")


def test_deferred_then_sent(tmp_path):
    text = ("Mar 12 18:04:11 mx postfix/cleanup[1]: C0FFEE1: message-id=<a@x>\n"
            "Mar 12 18:04:12 mx postfix/smtp[2]: C0FFEE1: to=<lyon2@track.example.net>, relay=none, delay=1, "
            "status=deferred (connect to mx.track.example.net[198.51.100.7]:25: Connection timed out)\n"
            "Mar 12 18:34:12 mx postfix/smtp[2]: C0FFEE1: to=<lyon2@track.example.net>, relay=mx[198.51.100.7]:25, "
            "status=sent (250 ok)\n")
    found = events(tmp_path, text, modified=dt.datetime(2026, 4, 1))
    assert [e.status for e in found] == ["deferred", "sent"]
    assert "Connection timed out" in found[0].detail


def test_content_filter_reinjection_is_not_a_second_delivery(tmp_path):
    text = ("Mar 12 18:04:11 mx postfix/cleanup[1]: AAAA111: message-id=<a@x>\n"
            "Mar 12 18:04:12 mx postfix/smtp[2]: AAAA111: to=<lyon2@agence-exemple.fr>, relay=127.0.0.1[127.0.0.1]:10024, "
            "status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as BBBB222)\n"
            "Mar 12 18:04:13 mx postfix/cleanup[1]: BBBB222: message-id=<a@x>\n"
            "Mar 12 18:04:13 mx postfix/lmtp[3]: BBBB222: to=<lyon2@agence-exemple.fr>, relay=127.0.0.1[127.0.0.1]:24, "
            "status=sent (250 2.0.0 Saved)\n")
    found = events(tmp_path, text, modified=dt.datetime(2026, 4, 1))
    assert [(e.queue_id, e.status) for e in found] == [("AAAA111", "other"), ("BBBB222", "sent")]
    assert sum(1 for e in found if e.status == "sent" and e.message_id == "a@x") == 1


def test_unknown_status_is_kept_as_other_and_rejects_as_rejected(tmp_path):
    text = ("Mar 12 18:04:11 mx postfix/smtp[2]: AAAA111: to=<a@b.fr>, relay=r[1.2.3.4]:25, status=weird (?)\n"
            "Mar 12 18:04:12 mx postfix/smtpd[3]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 "
            "<x@agence-exemple.fr>: Relay access denied; from=<spam@example.org> to=<x@agence-exemple.fr> proto=ESMTP helo=<a>\n")
    found = events(tmp_path, text, modified=dt.datetime(2026, 4, 1))
    assert [(e.status, e.recipient) for e in found] == [("other", "a@b.fr"), ("rejected", "x@agence-exemple.fr")]


def test_truncated_last_line_is_quarantined_not_a_crash(tmp_path):
    cut = "Mar 12 18:05:02 mx postfix/smtp[105]: 4A1B2C3D4E: to=<lyon2@tra"
    found = events(tmp_path, LEAD + cut, modified=dt.datetime(2026, 4, 1))
    bad = [e for e in found if isinstance(e, BadLine)]
    assert len([e for e in found if isinstance(e, LogEvent)]) == 2
    assert [(b.source, b.reason, b.data.decode()) for b in bad] == [("mail.log:7", "truncated_log_line", cut)]


def test_detection_and_gzip(tmp_path):
    path = tmp_path / "mail.log.1.gz"
    path.write_bytes(gzip.compress(LEAD.encode()))
    assert detect(path) == "postfix"
    assert len([e for e in read_postfix(path, "x", "UTC") if isinstance(e, LogEvent)]) == 2


@pytest.mark.corpus
def test_corpus_logs(corpus, tmp_path):
    pixelpark = Counter(e.status for e in read_postfix(
        corpus / "logs/postfix/pixelpark-postfix-logsums/mail.log.gz", "x", "Europe/Berlin"))
    # amavis hops are "other"; each re-injected copy is delivered once
    assert pixelpark["sent"] > 150 and pixelpark["other"] > 150
    youyo = [e for e in read_postfix(corpus / "logs/postfix/youyo-postfix-log-parser/test-iso8601.log", "x", "UTC")]
    assert [(e.recipient, e.status) for e in youyo][:2] == [("test@example.to", "sent"), ("test2@example.to", "sent")]
    assert youyo[0].message_id == "f93388828093534f92d85ffe21b2a719@example.info"
    # modoboa's test log has a placeholder for the day: filled in, every delivery line is read
    text = (corpus / "logs/postfix/modoboa/mail.log").read_text().replace("%(day)s", "Mar 12")
    modoboa = events(tmp_path, text, modified=dt.datetime(2026, 4, 1))
    assert not [e for e in modoboa if isinstance(e, BadLine)]
    assert sum(1 for e in modoboa if e.original_recipient == "noreply@modoboa.org") >= 3
    malformed = list(read_postfix(corpus / "logs/postfix/sergeymakinen-postfix_exporter/mail.log", "x", "UTC"))
    assert sum(isinstance(e, BadLine) for e in malformed) >= 1 and sum(isinstance(e, LogEvent) for e in malformed) >= 5
