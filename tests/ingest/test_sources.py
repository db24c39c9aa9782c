"""Readers: mbox quirks, .eml, Maildir, detection by content."""

from __future__ import annotations

import gzip
import mailbox
import tracemalloc
from pathlib import Path

import pytest

from emailtrack_analytics.ingest.sources import InputFile, detect, discover, read_messages
from emailtrack_analytics.ingest.sources.mbox import is_separator, read_mbox
from tests.builders import lead, mbox


def read_all(path: Path) -> list:
    return list(read_messages(InputFile(path, detect(path), str(path))))


def test_mboxrd_escaping_is_undone(tmp_path):
    body = "Bonjour,\nFrom the listing I would like a visit.\n>From quoted text\n"
    original = lead(body=body)
    path = tmp_path / "a.mbox"
    path.write_bytes(mbox(original, lead(message_id="<lead-2@x>")))
    items = read_all(path)
    assert [i.source for i in items] == [f"{path}:1", f"{path}:2"]
    assert b"\nFrom the listing I would like a visit.\n>From quoted text\n" in items[0].data
    assert items[0].from_line.startswith("From MAILER-DAEMON Thu Mar 12")


def test_mboxo_escaping_is_undone(tmp_path):
    path = tmp_path / "a.mbox"
    path.write_bytes(mbox(lead(body="From the start\n"), escape="mboxo"))
    (item,) = read_all(path)
    assert b"\nFrom the start\n" in item.data


def test_unescaped_from_sentence_is_not_a_separator(tmp_path):
    # a writer that did not escape: "From time to time" after a blank line stays in the body
    raw = lead(body="Hello\n\nFrom time to time I look at your listings.\n")
    path = tmp_path / "a.mbox"
    path.write_bytes(b"From MAILER-DAEMON Thu Mar 12 18:04:11 2026\n" + raw + b"\n")
    (item,) = read_all(path)
    assert b"From time to time I look" in item.data


def test_file_that_does_not_start_with_from_line(tmp_path):
    path = tmp_path / "export.txt"
    first, second = lead(message_id="<one@x>"), lead(message_id="<two@x>")
    path.write_bytes(first + b"\n" + mbox(second))
    assert detect(path) == "mbox"
    items = read_all(path)
    assert len(items) == 2
    assert items[0].from_line is None
    assert b"<one@x>" in items[0].data and b"<two@x>" in items[1].data


def test_single_message_file_is_eml(tmp_path):
    path = tmp_path / "message"  # no extension: decided by content
    path.write_bytes(lead())
    assert detect(path) == "eml"
    (item,) = read_all(path)
    assert item.source == str(path)
    assert item.data == lead()


def test_gzipped_mbox(tmp_path):
    path = tmp_path / "a.mbox.gz"
    path.write_bytes(gzip.compress(mbox(lead(), lead(message_id="<b@x>"))))
    assert detect(path) == "mbox"
    assert len(read_all(path)) == 2


def test_maildir_numbered_in_a_stable_order(tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for i in range(3):
        box.add(lead(message_id=f"<m{i}@x>"))
    files = list(discover([tmp_path / "Maildir"], "auto", lambda p: "md"))
    assert {f.kind for f in files} == {"maildir"}
    assert [f.position for f in files] == [1, 2, 3]
    sources = [m.source for f in files for m in read_messages(f)]
    assert sources == ["md:1", "md:2", "md:3"]


def test_discover_recurses_and_skips_hidden(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "one.eml").write_bytes(lead())
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\0\0")
    (tmp_path / "two.mbox").write_bytes(mbox(lead()))
    found = sorted((f.path.name, f.kind) for f in discover([tmp_path], "auto", str))
    assert found == [("one.eml", "eml"), ("two.mbox", "mbox")]


def test_distribution_log_is_detected(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("received_at,message_id,sender,subject,delivered_to\n")
    assert detect(path) == "distribution"


def test_a_message_quoting_a_mail_log_is_a_message_and_logs_are_still_logs(tmp_path):
    # a bounce notice quotes the log line of its delivery: it was read as a Postfix log
    notice = lead().replace(b"\n\n", b"\n\nMar 12 10:00:01 mx postfix/smtp[4321]: 3F2A1: to=<a@b.fr>, "
                            b"status=bounced (host said: 550 5.7.520 Access denied)\n\n", 1)
    (tmp_path / "notice.eml").write_bytes(notice)
    (tmp_path / "mail.log").write_bytes(b"Mar 12 10:00:01 mx postfix/smtp[4321]: 3F2A1: to=<a@b.fr>, "
                                        b"relay=none, delay=1, status=bounced (550 5.7.520)\n")
    (tmp_path / "trace.csv").write_bytes(b"Received,SenderAddress,RecipientAddress,Subject,Status\n"
                                         b"2026-03-12T10:00:01Z,a@b.fr,c@d.fr,Lead,Delivered\n")
    (tmp_path / "fields.csv").write_bytes(b"#Fields: Received,SenderAddress,RecipientAddress,Status\n"
                                          b"Received,SenderAddress,RecipientAddress,Subject,Status\n"
                                          b"2026-03-12T10:00:01Z,a@b.fr,c@d.fr,Lead,Delivered\n")
    # Postfix with RFC 3339 stamps (smtp_syslog / maillog_file): its first "field" would be the date
    (tmp_path / "rfc3339.log").write_bytes(b"2026-03-12T18:04:12+01:00 mx postfix/smtp[2]: AAA111: "
                                           b"to=<a@b.fr>, relay=none, delay=1, status=bounced (550 5.1.1)\n")
    names = ("notice.eml", "mail.log", "trace.csv", "fields.csv", "rfc3339.log")
    kinds = {name: detect(tmp_path / name) for name in names}
    assert kinds == {"notice.eml": "eml", "mail.log": "postfix", "trace.csv": "m365", "fields.csv": "m365",
                     "rfc3339.log": "postfix"}


def test_missing_input_is_a_usage_error(tmp_path):
    from emailtrack_analytics.errors import UsageError
    with pytest.raises(UsageError, match="not found"):
        list(discover([tmp_path / "nope"], "auto", str))


def test_mbox_reading_streams(tmp_path):
    """Memory while reading does not grow with the file: 20x the messages, same peak."""
    one = lead(body="x" * 20_000)

    def peak(count: int) -> int:
        path = tmp_path / f"{count}.mbox"
        path.write_bytes(mbox(*([one] * count)))
        tracemalloc.start()
        total = sum(len(m.data) for m in read_mbox(path, "x"))
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert total > count * 20_000
        return high

    small, large = peak(50), peak(1000)
    assert large < small * 2, (small, large)


@pytest.mark.corpus
def test_corpus_mbox_counts(corpus):
    """Messages per corpus mbox, as intended by each file's origin (not as a naive splitter sees them)."""
    intended = {
        "cpython/mailbox_01.mbox": 1,              # "From time to time" body line
        "mimekit/unmunged.mbox.txt": 2,            # BOM, "From -", unescaped "From Russia with love"
        "mimekit/content-length.mbox.txt": 29,     # Netscape: no blank line before "From - "
        "mimekit/issue1189.mbox.txt": 4,           # Gmail Takeout "From <id>@xxx" lines
        "mimekit/simple.mbox.txt": 3,
        "bigbang/2001-November.txt": 164,
        "spamassassin/nice.mbox": 3,
    }
    for name, count in intended.items():
        path = corpus / "mbox" / name
        assert detect(path) == "mbox", name
        assert len(read_all(path)) == count, name


def _reference_mbox(path):
    """The simple line-by-line reading the block reader must agree with: (data, from_line) pairs."""
    from emailtrack_analytics.ingest.sources.mbox import _ESCAPED, _lines
    messages, lines, from_line, started, previous_blank = [], [], None, False, True
    with open(path, "rb") as handle:
        for index, (line, at_start, following) in enumerate(_lines(handle)):
            if index == 0 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if at_start and is_separator(line, following, previous_blank):
                if started:
                    messages.append((b"".join(lines), from_line))
                started, lines, previous_blank = True, [], False
                from_line = line.decode("latin-1").rstrip("\r\n")
                continue
            if not started:
                if not line.strip():
                    continue
                started, from_line = True, None
            previous_blank = at_start and not line.strip()
            lines.append(line[1:] if at_start and _ESCAPED.match(line) else line)
    if started:
        messages.append((b"".join(lines), from_line))
    out = []
    for data, line in messages:
        if data.endswith(b"\r\n\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n\n"):
            data = data[:-1]
        out.append((data, line))
    return out


@pytest.mark.parametrize("block", [7, 64, 1000])
def test_block_reader_agrees_with_line_reading_at_every_block_boundary(tmp_path, monkeypatch, block):
    import random

    from emailtrack_analytics.ingest.sources import mbox as mbox_module
    monkeypatch.setattr(mbox_module, "_BLOCK", block)
    rng = random.Random(block)
    bodies = ["From time to time\n", ">From quoted\n", "\n\nFrom x@y Thu Mar 12 18:04:11 2026\n",
              "From -\n", "plain\r\n", "x" * 300 + "\n", "\n"]
    for case in range(25):
        raw = b"" if rng.random() < 0.3 else b"\xef\xbb\xbf"
        for i in range(rng.randrange(1, 5)):
            if i or rng.random() < 0.7:
                raw += rng.choice([b"From a@b Thu Mar 12 18:04:11 2026\n", b"From -\n", b"From 123@xxx\r\n"])
            raw += f"Subject: m{i}\nFrom: a@b\n\n".encode() + "".join(rng.choice(bodies) for _ in range(6)).encode()
            raw += b"\n" if rng.random() < 0.8 else b""
        path = tmp_path / f"{case}.mbox"
        path.write_bytes(raw)
        got = [(m.data, m.from_line) for m in read_mbox(path, "x")]
        assert got == _reference_mbox(path), case


def test_a_huge_line_is_read_in_bounded_memory(tmp_path, monkeypatch):
    from emailtrack_analytics.ingest.sources import mbox as mbox_module
    monkeypatch.setattr(mbox_module, "_BLOCK", 1024)
    monkeypatch.setattr(mbox_module, "MAX_MESSAGE_BYTES", 50_000)
    path = tmp_path / "long.mbox"
    path.write_bytes(b"From a@b Thu Mar 12 18:04:11 2026\nSubject: x\n\n" + b"y" * 200_000
                     + b"\n\nFrom a@b Thu Mar 12 18:05:11 2026\nSubject: z\n\nok\n")
    found = list(read_mbox(path, "x"))
    assert [(m.problem, m.source) for m in found] == [("too_large", "x:1"), (None, "x:2")]
    assert found[1].data == b"Subject: z\n\nok\n"
