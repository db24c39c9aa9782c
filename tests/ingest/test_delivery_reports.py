"""Delivery failure reports read as facts of the bytes (ingest/parsing/reports.py): real reports from
the shared corpus, Microsoft 365's 5.7.520 and qmail's text-only notice written from their layouts."""

from __future__ import annotations

import pytest

from emailtrack_analytics.ingest.parsing.message import parse_message
from tests.bounces import M365_5_7_520, m365_ndr, qmail_failure
from tests.builders import lead, outlook_forward

# file -> the failed recipients and statuses its message/delivery-status part gives (read by hand)
CORPUS_REPORTS = {
    "eml/flanker/bounce/office365.eml": [("noname@example.com", "5.1.10", "failed")],
    "eml/flanker/bounce/mailbox-full.eml": [("user@aol.com", "5.2.2", "failed")],
    "eml/flanker/bounce/no-mx.eml": [("user@example.com", "4.4.4", "delayed")],
    "eml/flanker/bounce/delayed.eml": [("foo@example.com", "4.0.0", "failed")],
    "eml/flanker/bounce/zed.eml": [
        ("asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com", "5.1.1", "failed")],
    "eml/ruby-mail/multipart_report_emails/report_422.eml": [("fraser@oooooooo.com.au", "4.2.2", "delayed")],
    "eml/ruby-mail/multipart_report_emails/report_530.eml": [("edwin@zzzzzzz.com", "5.3.0", "failed")],
    "eml/ruby-mail/multipart_report_emails/multipart_report_multiple_status.eml": [("u@ci.com", "5.3.0", "failed")],
    "eml/mail-parser/mail_malformed_2": [("abh@netpar.com.br", "4.2.2", "failed")],
    # "Status: 5.0.0 (recipient reached disk quota)": the code without its comment
    "eml/cpython/msg_16.txt": [("jangel1@cougar.noc.ucla.edu", "5.0.0", "failed")],
    # no Status field: the class of the diagnostic's SMTP reply ("500 (err.nosuchuser)")
    "eml/mimekit/messages/delivery-status.txt": [("newsletter-request@imusic.com", "5.0.0", "failed")],
}


def facts(raw: bytes, fast: bool = True) -> list[tuple[str, str, str]]:
    record = parse_message(raw, fast=fast)
    return list(zip(record.report_recipients, record.report_statuses, record.report_actions, strict=True))


@pytest.mark.corpus
@pytest.mark.parametrize("path", sorted(CORPUS_REPORTS))
def test_real_reports_give_their_failed_recipients_and_codes(corpus, path):
    raw = (corpus / path).read_bytes()
    assert facts(raw) == CORPUS_REPORTS[path]
    assert facts(raw, fast=False) == CORPUS_REPORTS[path]


@pytest.mark.corpus
def test_a_report_listing_five_recipients_gives_five(corpus):
    raw = (corpus / "eml/ruby-mail/multipart_report_emails/multi_address_bounce1.eml").read_bytes()
    found = facts(raw)
    assert len(found) == 5 and {status for _, status, _ in found} == {"5.1.1"}


@pytest.mark.corpus
def test_no_other_corpus_message_is_read_as_a_failure_report(corpus):
    """Every corpus message that is not a delivery report has none (no false positive); the count of
    reports found is the number a maintainer would check after a change."""
    found = {}
    for path in sorted(p for p in (corpus / "eml").rglob("*") if p.is_file()):
        try:
            record = parse_message(path.read_bytes())
        except Exception:  # noqa: BLE001 - unparseable files are the quarantine's business
            continue
        if record.report_recipients:
            found[str(path.relative_to(corpus))] = record
    reports = {p for p in found if b"delivery-status" in (corpus / p).read_bytes().lower()
               or found[p].copy_sender and found[p].copy_sender.startswith(("mailer-daemon@", "postmaster@"))}
    assert set(found) == reports
    assert set(CORPUS_REPORTS) <= set(found)
    assert len(found) == 19  # of the 325 corpus messages that parse


def test_microsoft_365_refusing_external_forwarding_is_5_7_520():
    raw = m365_ndr(lead(), failed="lyon2@track.example.net")
    record = parse_message(raw)
    assert facts(raw) == [("lyon2@track.example.net", "5.7.520", "failed")]
    assert record.report_diagnostics == [M365_5_7_520]  # the server's answer, without "smtp;"
    assert facts(raw, fast=False) == facts(raw)


def test_a_text_only_failure_notice_is_read_from_its_text():
    assert facts(qmail_failure(failed="lyon2@track.example.net")) == [("lyon2@track.example.net", "5.1.1", "")]


def test_leads_and_forwards_have_no_report():
    assert facts(lead()) == [] and facts(outlook_forward()) == []
    # a lead whose subject happens to say "undeliverable" is still no report without a status code
    assert facts(lead(subject="Undeliverable: your listing")) == []
