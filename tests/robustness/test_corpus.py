"""Robustness over the third-party corpus (../shared/corpus): nothing crashes, nothing is lost."""

from __future__ import annotations

import duckdb
import pytest

from emailtrack_analytics.ingest.pipeline import ingest
from emailtrack_analytics.ingest.sources import InputFile, detect, discover, read_messages

pytestmark = pytest.mark.corpus


def test_every_corpus_message_is_stored_or_quarantined(workspace, corpus):
    inputs = [corpus / "eml", corpus / "mbox"]
    read = sum(1 for f in discover(inputs, "auto", str) for _ in read_messages(f))
    summary = ingest(workspace, inputs, workers=2)
    assert summary.new + summary.already_stored + summary.quarantined == read
    assert summary.new + summary.already_stored > 0.9 * read  # most of a real corpus is storable

    con = duckdb.connect(str(workspace.database), read_only=True)
    try:
        sightings = {r[0] for r in con.execute("SELECT source FROM sightings").fetchall()}
        quarantined = con.execute("SELECT source, reason, detail FROM quarantine_items").fetchall()
        stored = con.execute("SELECT count(*) FROM stored_messages").fetchone()[0]
    finally:
        con.close()
    assert stored == summary.new
    # every position read is accounted for by a sighting or a quarantine entry with a reason
    assert len(sightings) + len(quarantined) == read
    assert all(reason and detail for _, reason, detail in quarantined)
    assert {reason for _, reason, _ in quarantined} <= {"no_date", "not_an_email", "parse_error", "empty"}


def test_corpus_reingest_adds_nothing(workspace, corpus):
    ingest(workspace, [corpus / "mbox"], workers=1)
    again = ingest(workspace, [corpus / "mbox"], workers=1)
    assert (again.new, again.quarantined, again.files_read) == (0, 0, 0)


def test_defective_messages_named_in_corpus_readme(workspace, corpus):
    """Python's parser reports defects for these; they must still be stored (they have dates)."""
    from emailtrack_analytics.ingest.parsing.message import Unparseable, parse_message
    stored = 0
    for name in ["flanker/mailformed-headers.eml", "flanker/missing-final-boundary.eml",
                 "mail-parser/mail_malformed_1", "mail-parser/mail_malformed_2", "mail-parser/mail_malformed_3",
                 "ruby-mail/error_emails/bad_encoded_subject.eml", "spamassassin/spam/badmime.txt",
                 "spamassassin/spam/utf16.eml", "mimekit/messages/empty-multipart.txt"]:
        path = corpus / "eml" / name
        if not path.exists():
            continue
        try:
            parse_message(path.read_bytes())
            stored += 1
        except Unparseable as exc:
            assert exc.reason in ("no_date", "not_an_email"), (name, exc)
    assert stored >= 5


def test_an_address_list_too_deep_for_the_address_parser_is_read_as_none_not_a_crash(corpus):
    # the To header of this message takes the standard library's address parser past the
    # recursion limit: the message is stored, without its To addresses (it was parse_error)
    path = corpus / "eml" / "mimekit" / "messages" / "stack-overflow.txt"
    from emailtrack_analytics.ingest.pipeline import _parse
    (raw,) = list(read_messages(InputFile(path, detect(path), "x")))
    record, _ = _parse((raw.data, None))
    assert (record.sender, record.subject, record.to_addrs) == ("test@test.com", "Message Subject", [])
