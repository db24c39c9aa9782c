"""The fast path (parsing/fastpath.py) and the full parser give the same record.

Every message is parsed twice, ``parse_message(raw)`` and ``parse_message(raw, fast=False)``
(the standard library's parser only), and the two records must be equal in every field, the
details included; a message that cannot be stored must be refused for the same reason. Where
the fast path reads a message, its tree must also be the standard library's. Run over the
shared corpus, the generated sample and the fuzz generators of tests/robustness/test_fuzz.py;
each run prints how many messages took the fast path (``pytest -s`` shows it).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from email import policy
from email.message import Message
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from emailtrack_analytics.demo.sample import write_sample
from emailtrack_analytics.ingest.parsing import fastmime, fastpath
from emailtrack_analytics.ingest.parsing import headers as h
from emailtrack_analytics.ingest.parsing.message import (
    MessageRecord,
    Unparseable,
    _message_bytes,
    parse_message,
    takes_fast_path,
)
from emailtrack_analytics.ingest.sources import discover, read_messages
from tests.builders import attached_forward, lead, outlook_forward
from tests.conftest import CORPUS, SAMPLE_END_MONTH
from tests.robustness.test_fuzz import SEEDS, examples, mbox_bytes, mutated

_FULL = fastmime.BytesParser(policy=policy.compat32)


def _tree(message: Message) -> list[object]:
    """What the record reads of a parsed tree, part by part."""
    return [(p.get_content_type(), p.get_default_type(), list(p.raw_items()), p.get_content_charset(),
             p.get_boundary(), vars(p)["_payload"] if not p.is_multipart() else len(p.get_payload()),
             p.preamble, p.epilogue, [type(d).__name__ for d in p.defects]) for p in message.walk()]


def _outcome(raw: bytes, from_line: str | None, fast: bool) -> MessageRecord | tuple[str, str]:
    try:
        return parse_message(raw, from_line=from_line, fast=fast)
    except Unparseable as exc:
        return exc.reason, exc.detail


def check_same(raw: bytes, from_line: str | None = None) -> str:
    """Asserts both paths give the same record (or refusal); says which parser read the message:
    "fast", "full", or "refused" (not an email: neither parser was asked)."""
    fast, full = _outcome(raw, from_line, True), _outcome(raw, from_line, False)
    if isinstance(fast, MessageRecord) and isinstance(full, MessageRecord):
        differing = {name: (getattr(fast, name), getattr(full, name)) for name in vars(full)
                     if getattr(fast, name) != getattr(full, name)}
        assert not differing, f"fields read differently: {differing}"
    assert fast == full
    try:
        stripped, _ = _message_bytes(raw, from_line)
    except Unparseable:
        return "refused"
    if not takes_fast_path(raw, from_line):
        return "full"
    tree = fastpath.split(stripped)
    assert tree is not None and _tree(tree) == _tree(_FULL.parsebytes(stripped))
    return "fast"


def report(name: str, paths: Counter[str]) -> None:
    print(f"\n{name}: {sum(paths.values())} messages, {paths['fast']} fast path, {paths['full']} full parser, "
          f"{paths['refused']} refused before parsing")


def check_all(name: str, messages: list[tuple[bytes, str | None]]) -> Counter[str]:
    paths = Counter(check_same(raw, from_line) for raw, from_line in messages)
    report(name, paths)
    return paths


def _read(paths: list[Path]) -> list[tuple[bytes, str | None]]:
    found = []
    for item in discover(paths, "auto", str):
        found += [(m.data, m.from_line) for m in read_messages(item) if m.problem is None]
    return found


# --------------------------------------------------------------------------- the input sets

@pytest.mark.corpus
def test_the_corpus_gives_the_same_records_on_both_paths():
    messages = _read([CORPUS / "eml", CORPUS / "mbox", CORPUS / "forwards"])
    paths = check_all("corpus", messages)
    assert len(messages) > 900 and paths["fast"] > paths["full"]


def test_the_sample_gives_the_same_records_on_both_paths(tmp_path):
    write_sample(tmp_path, end_month=SAMPLE_END_MONTH, scale=0.15)
    messages = _read([tmp_path / "data" / "sample"])
    paths = check_all("sample", messages)
    # the generated mail is what portals and clients send: all of it is the common case
    assert len(messages) > 500 and paths["full"] == 0 and paths["fast"] > 0.9 * len(messages)


_fuzz_paths: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _print_fuzz_counts():
    """What the fuzz tests below counted, printed once they have run (``pytest -s`` shows it)."""
    yield
    if _fuzz_paths:
        report("fuzz", _fuzz_paths)


@examples(300)
@given(mutated(SEEDS + [lead(body="x" * 90 + "\n"), outlook_forward(), attached_forward(outlook_forward())]))
@example(lead().replace(b"\n", b"\r\n"))
@example(attached_forward(lead()).replace(b"\n", b"\r\n"))
@example(attached_forward(lead()).replace(b"\n", b"\r\n", 3))  # mixed line endings: the full parser
def test_mutated_messages_give_the_same_records_on_both_paths(data):
    _fuzz_paths[check_same(data)] += 1


@examples(200)
@given(st.one_of(st.binary(max_size=2000), mbox_bytes))
def test_any_bytes_give_the_same_records_on_both_paths(data):
    _fuzz_paths[check_same(data)] += 1


# --------------------------------------------------------------------------- the pieces

MULTIPART = (b"From: a@b.fr\nSubject: s\nDate: Thu, 12 Mar 2026 18:04:11 +0100\nMIME-Version: 1.0\n"
             b'Content-Type: multipart/alternative; boundary="B"\n\npreamble\n--B\nContent-Type: text/plain; charset=utf-8\n\n'
             b"Nom : Jean\n\n--B\nContent-Type: text/html\n\n<p>x</p>\n--B--\nepilogue\n")


@pytest.mark.parametrize("raw", [
    MULTIPART, MULTIPART.replace(b"\n", b"\r\n"), attached_forward(lead()), outlook_forward(), lead(),
    MULTIPART.replace(b"preamble\n", b""), MULTIPART.replace(b"\nepilogue\n", b""),
    MULTIPART.replace(b"--B--\n", b"--B--  \n"), MULTIPART.replace(b"--B\nContent-Type: text/html\n", b"--B\n"),
    MULTIPART.replace(b'boundary="B"', b"boundary*=utf-8''B"),  # the standard library reads the parameter
], ids=["multipart", "crlf", "attached", "inline", "plain", "no-preamble", "no-epilogue", "spaced-close", "no-headers",
        "rfc2231"])
def test_the_common_forms_take_the_fast_path(raw):
    assert check_same(raw) == "fast"


@pytest.mark.parametrize("raw", [
    MULTIPART.replace(b"--B--\n", b""),                          # no close boundary: a defect
    MULTIPART.replace(b'boundary="B"', b'boundary="Z"'),         # no start boundary
    MULTIPART.replace(b"Subject: s\n", b"Subject s\n"),          # a line the parser takes for the body
    MULTIPART.replace(b"alternative", b"digest"),                # parts of another default type
    MULTIPART.replace(b"\n", b"\r\n", 4),                        # mixed line endings
], ids=["unclosed", "no-start", "bad-header", "digest", "mixed-endings"])
def test_what_the_fast_path_does_not_read_alike_goes_to_the_full_parser(raw):
    assert check_same(raw) == "full"


def test_multiparts_nested_deeper_than_the_fast_path_recurses_are_read_by_the_full_parser():
    """Each level costs the fast path two frames and the feed parser one: between the two limits
    the fast path's RecursionError must send the message to the full parser, not out."""
    raw = MULTIPART
    for level in range(700):
        raw = (b'Content-Type: multipart/mixed; boundary="L%d"\n\n--L%d\n' % (level, level) + raw
               + b"\n--L%d--\n" % level)
    raw = b"From: a@b.fr\nSubject: deep\nDate: Thu, 12 Mar 2026 18:04:11 +0100\n" + raw
    assert check_same(raw) == "full"


PARAM_PIECES = ["text/plain", "multipart/mixed", ";", "; ", "charset", "CharSet", "boundary", "=", " = ", '"', "'",
                "utf-8", "ISO-8859-1", "<", ">", " ", "\t", "\\", "*", "*0", "*0*", "name", "x", "é", ",", "--=_Part"]


@given(st.lists(st.sampled_from(PARAM_PIECES), max_size=14).map("".join))
@example('text/plain; charset="utf-8"')
@example('multipart/mixed; boundary="<x>"')
@example('text/plain; charset=" utf-8 "; charset=latin-1')
def test_content_parameters_are_read_as_the_standard_library_reads_them(value):
    fast, full = fastpath.FastMessage(policy=policy.compat32), Message(policy=policy.compat32)
    for message in (fast, full):
        message.set_raw("Content-Type", value)
    assert (fast.get_content_type(), fast.get_content_charset(), fast.get_boundary()) == \
        (full.get_content_type(), full.get_content_charset(), full.get_boundary())


@given(st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(9998, 12, 30)),
       st.integers(-23 * 60 - 59, 23 * 60 + 59), st.sampled_from(["", " (CET)", " (UTC)", " (x)"]),
       st.booleans())
def test_the_usual_date_form_is_read_as_mail_parser_reads_it(moment, offset, comment, weekday):
    zone = dt.timezone(dt.timedelta(minutes=offset))
    text = format_datetime(moment.replace(microsecond=0, tzinfo=zone)) + comment
    if not weekday:
        text = text[5:]
    assert fastpath.parse_date(text) == h.parse_date(text)


@pytest.mark.parametrize("text", ["Fri, 12 Mar 2026 18:04:11 +0100", "Thu, 31 Feb 2026 18:04:11 +0100",
                                  "Thu, 12 Mar 2026 24:04:11 +0100", "Thu, 12 Mar 2026 18:04:61 +0100",
                                  "Thu, 12 Mar 2026 18:04:11 +0199", "Thu, 12 Mar 2026 18:04:11 -0000",
                                  "Thu, 12 Mar 0026 18:04:11 +0100", "Thu, 12 Mar 2026 18:04:11 +2400"])
def test_unusual_dates_are_read_as_mail_parser_reads_them(text):
    assert fastpath.parse_date(text) == h.parse_date(text)
