"""Coverage: leads a point of sale received (logs, its own mailbox) against those tracked."""

from __future__ import annotations

import csv
import io

from tests.builders import lead, mbox


def postfix_delivery(queue: str, message_id: str, sender: str, mailbox: str, day: int, extra: str = "") -> str:
    return (f"Mar {day:2d} 10:00:00 mx postfix/cleanup[1]: {queue}: message-id=<{message_id}>\n"
            f"Mar {day:2d} 10:00:00 mx postfix/qmgr[2]: {queue}: from=<{sender}>, size=4000, nrcpt=1 (queue active)\n"
            f"Mar {day:2d} 10:00:01 mx postfix/lmtp[3]: {queue}: to=<{mailbox}>, relay=mx[private/dovecot-lmtp], "
            f"delay=0.1, dsn=2.0.0, status=sent (250 2.0.0 Saved)\n" + extra)


def export(cli, ws, table, *args):
    result = cli("--workspace", ws, "export", table, *args)
    assert result.code == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


def test_coverage_from_a_postfix_log_and_tracked_copies(workspace_dir, tmp_path, cli):
    import os
    folder = tmp_path / "in"
    folder.mkdir()
    log = "".join(postfix_delivery(f"AAAA00{i}", f"lead-{i}@lead.seloger.com", "noreply@lead.seloger.com",
                                   "lyon2@agence-exemple.fr", 10 + i) for i in range(3))
    # a newsletter and a private message delivered too: not leads
    log += postfix_delivery("BBBB001", "news-1@news.seloger.com", "promo@news.seloger.com", "lyon2@agence-exemple.fr", 14)
    log += postfix_delivery("BBBB002", "x-1@example.org", "friend@example.org", "lyon2@agence-exemple.fr", 15)
    (folder / "mail.log").write_text(log)
    os.utime(folder / "mail.log", (1775000000, 1775000000))  # 2026-04: the log's year is 2026
    tracked = [lead(message_id=f"<lead-{i}@lead.seloger.com>", cc="lyon2@track.example.net",
                    date=f"Thu, {10 + i} Mar 2026 10:00:00 +0100", body=f"Prospect {i}\n") for i in range(2)]
    (folder / "tracking.mbox").write_bytes(mbox(*tracked))
    result = cli("--workspace", workspace_dir, "ingest", folder)
    assert result.code == 0, result.err
    rows = export(cli, workspace_dir, "coverage", "--month", "2026-03")
    assert [(r["point_of_sale"], r["expected"], r["tracked"], r["missing"], r["coverage"]) for r in rows] == \
        [("lyon-2", "3", "2", "1", str(2 / 3))]
    events = export(cli, workspace_dir, "forward-events", "--month", "2026-03")
    assert len(events) == 5 and {e["point_of_sale"] for e in events} == {"lyon-2"}


def test_coverage_from_a_mailbox_export(workspace_dir, tmp_path, cli):
    folder = tmp_path / "in"
    (folder / "mailbox").mkdir(parents=True)
    (folder / "tracking").mkdir()
    own = [lead(message_id=f"<m-{i}@lead.seloger.com>", to="paris11@agence-exemple.fr", body=f"Prospect {i}\n")
           for i in range(4)]
    (folder / "mailbox" / "inbox.mbox").write_bytes(mbox(*own))
    (folder / "tracking" / "t.mbox").write_bytes(mbox(*[
        lead(message_id=f"<m-{i}@lead.seloger.com>", to="paris11@agence-exemple.fr", body=f"Prospect {i}\n",
             top={"Delivered-To": "paris11@track.example.net", "X-Forwarded-To": "paris11@track.example.net"})
        for i in range(3)]))
    assert cli("--workspace", workspace_dir, "ingest", folder / "mailbox", "--role", "mailbox").code == 0
    assert cli("--workspace", workspace_dir, "ingest", folder / "tracking").code == 0
    rows = export(cli, workspace_dir, "coverage")
    assert [(r["point_of_sale"], r["expected"], r["tracked"], r["missing"]) for r in rows] == [("paris-11", "4", "3", "1")]
    leads = export(cli, workspace_dir, "leads")
    assert len(leads) == 3  # mailbox copies are evidence for coverage, not tracked volume


def test_no_evidence_means_empty_coverage(workspace_dir, tmp_path, cli):
    (tmp_path / "a.eml").write_bytes(lead(cc="lyon2@track.example.net"))
    assert cli("--workspace", workspace_dir, "ingest", tmp_path / "a.eml").code == 0
    rows = export(cli, workspace_dir, "coverage")
    assert [(r["point_of_sale"], r["expected"], r["tracked"], r["coverage"]) for r in rows] == [("lyon-2", "0", "0", "")]
