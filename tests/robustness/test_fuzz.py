"""Property-based tests (hypothesis) of the readers and the parser.

a. each linear-time function returns exactly what the regular expression it replaces returns;
b. the mbox reader agrees with a line-by-line reading on any bytes, gives back what was written,
   and the bounded line readers cut lines as ``splitlines`` does;
c. the parser (what ``ingest`` calls per message) never raises, on any bytes and on mutations of
   real messages (ours and the shared corpus);
d. each log reader never raises on any bytes: it yields events and bad lines only.

Budgets are fixed: the ``ci`` profile (the default: a fixed number of examples, derandomized, so
that a CI run is reproducible) and ``long`` (HYPOTHESIS_PROFILE=long, thousands of examples, run
by ``make fuzz``). Counterexamples found so far are kept as ``@example``s.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import random
import re
import zlib
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emailtrack_analytics.ingest.parsing import body, details, forwards, headers
from emailtrack_analytics.ingest.parsing.message import MessageRecord, message_key
from emailtrack_analytics.ingest.pipeline import _parse
from emailtrack_analytics.ingest.sources import InputFile, detect, read_messages
from emailtrack_analytics.ingest.sources import mbox as mbox_module
from emailtrack_analytics.ingest.sources.base import bounded_lines, split_lines
from emailtrack_analytics.ingest.sources.csvlogs import _LINE_BREAKS, read_gws, read_m365
from emailtrack_analytics.ingest.sources.distribution import BadRow, DistributionRow, read_distribution
from emailtrack_analytics.ingest.sources.logs import BadLine, LogEvent
from emailtrack_analytics.ingest.sources.postfix import read_postfix
from tests.builders import attached_forward, lead, mbox, outlook_forward
from tests.conftest import CORPUS
from tests.ingest.test_sources import _reference_mbox

CI_EXAMPLES = 200
settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 5000)), deadline=None,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(ci: int) -> settings:
    """``ci`` examples in the ci profile, as many times more in a longer one."""
    return settings(max_examples=max(1, ci * settings.default.max_examples // CI_EXAMPLES))


def texts(fragments, max_size: int = 30):
    """Text built from the characters and pieces an expression is sensitive to, and any others."""
    return st.lists(st.one_of(st.sampled_from(fragments), st.characters()), max_size=max_size).map("".join)


def groups(match):
    return match.groups() if match else None


# --------------------------------------------------------------------------- a. linear = regex

DETAIL_PIECES = [" ", "   ", "\t", "\n", "\n\n", "\x0b", "\xa0", "\u2003", "\x1c", "«", "»", "« ", " »", "@", "(", ")",
                 ":", " : ", "*", "•", "-", ".", "'", "’", "+", "_", "a", "Z", "é", "1", "ſ", "K", "İ", "from", "From ",
                 "FROM", "message de", "Message De", "x@y.fr", "(a@b.c)", "(x.y+z@d-e.f)", "Nom", "E-mail", "Jean Dupont",
                 "s'intéresse à ce bien", "vous a envoyé un message"]


@given(texts(DETAIL_PIECES).map(lambda t: t.replace("\n", "")))
@example("   :   ")
@example("* Nom  * :  * Dupont  ")
def test_label_is_the_label_expression(line):
    match, found = details._LABEL.match(line), details._label(line)
    assert (match and (match.group("label"), match.group("value"))) == (found and (found.label, found.value))


@given(texts(DETAIL_PIECES))
def test_find_address_is_the_address_expression(text):
    match = details._ADDRESS.search(text)
    assert details._find_address(text) == (match.group(0) if match else None)


@given(texts(DETAIL_PIECES + [" " * 20, "x" * 25, "\n ", " \n", "(a@b)"], max_size=40))
@example("from     \n(a@b)")  # the name is the two spaces before the newline (found by this test)
@example("from  \n (a@b)")
@example("message de" + " " * 70 + "(a@b)")
def test_message_from_is_the_message_from_expression(text):
    assert details._message_from(text) == groups(details._MESSAGE_FROM.search(text))


@given(texts(DETAIL_PIECES + ["«" * 5, "»" * 3, "\n«\n"]))
@example("«   »")
def test_quoted_is_the_quoted_expression(text):
    assert details._quoted(text) == [m.group(1) for m in details._QUOTED.finditer(text)]


_INTEREST_BEFORE = re.compile(r"^\s*(.{2,60}?) s'int[ée]resse [àa] (ce|votre) bien", re.I | re.M)
_SENT_YOU_BEFORE = re.compile(r"^\s*(.{2,60}?) vous a envoy[ée] un message", re.I | re.M)


@given(texts(DETAIL_PIECES + [" s'interesse a votre bien", "\n \n", " vous a envoye un message"]))
@example("\n \n x s'intéresse à ce bien")
def test_name_expressions_find_the_names_they_found_across_blank_lines(text):
    assert groups(details._INTEREST.search(text)) == groups(_INTEREST_BEFORE.search(text))
    assert groups(details._SENT_YOU.search(text)) == groups(_SENT_YOU_BEFORE.search(text))


HTML_PIECES = ["<", ">", "<!--", "-->", "<!-->", "<script>", "</script>", "< script >", "</ SCRIPT >", "<style",
               "</style>", "<title>", "</title>", "<head>", "</head>", "<br>", "<p>", "</p>", "<div a='>'>", "<hr/>",
               "<ſcript>", "</ſcript>", "<tıtle>", "<SCRİPT>", " ", "\n", "x", "é"]


@given(texts(HTML_PIECES))
def test_strip_comments_is_the_comment_expression(text):
    assert body._strip_comments(text) == body._COMMENT.sub("", text)


@given(texts(HTML_PIECES))
@example("<ſcript>x</script>y")   # KeyError before: the long s opens a "script" (found by this test)
@example("<script>x</ſcript>y")   # a back reference ignores case by lower-casing: no match
@example("<SCRİPT>x</script>y")
def test_drop_blocks_is_the_drop_expression(text):
    assert body._drop_blocks(text) == body._DROP.sub(" ", text)


@given(texts(HTML_PIECES))
def test_sub_tags_is_pattern_sub(text):
    assert body._sub_tags(body._BLOCK_TAGS, "\n", text) == body._BLOCK_TAGS.sub("\n", text)
    assert body._sub_tags(body._TAG, "", text) == body._TAG.sub("", text)


FORWARD_PIECES = ["-", "--", "-----", ">", "> ", " ", ":", "Forwarded message", "Message transféré", "Original Message",
                  "De :", "x", "@", "\t"]


@given(texts(FORWARD_PIECES).map(lambda t: t.replace("\n", "")))
def test_forward_separator_guards_change_nothing(line):
    assert groups(forwards._dashed(line)) == groups(forwards._DASHED.match(line))
    dashed, intro = forwards._DASHED.match(line), forwards._INTRO.match(line)
    before = (forwards._says_forward(dashed.group("text")) if dashed else
              bool(intro) and forwards._says_forward(intro.group("text")) and "@" not in line)
    assert forwards._is_separator(line) == before


# The first look for a forwarded block was this ignore-case expression (67 µs on a typical
# lead body); ``_maybe_forwarded`` tests substrings of the lower-cased text instead (8 µs).
_MAYBE_FORWARDED = re.compile(
    r"forward|transf|transmis|r[ée]exp|weitergeleit|reenvi|inoltr|doorgest|encaminh|vidarebef|videresend|"
    r"v[äa]litet|edelleen|przekaz|p[řr]epos|tov[áa]bb[íi]t|redirec|переадр|пересыл|переслан|перенапр|"
    r"[iİ]leti|proslij|転送|пересил|przes[łl]an", re.IGNORECASE)
STEM_PIECES = ["Forward", "FORWARDED", "forwa", "rded", "Transféré", "TRANSMIS", "Réexpédié", "REEXP", "Weitergeleitet",
               "reenviado", "Inoltrato", "Doorgestuurd", "Encaminhada", "Vidarebefordrat", "Videresendt", "Välitetty",
               "VALITETTY", "edelleen", "Przekazana", "PŘEPOSLANÁ", "Prepos", "Továbbított", "TOVABBIT", "Redirected",
               "Переадресовано", "ПЕРЕСЛАНО", "Пересылаемое", "перенаправлено", "İLETİLEN", "İleti", "ILETI", "ıleti",
               "Proslijeđena", "転送", "Пересилається", "PRZESŁANA", "przeslana", "tranſf", "traNSF", "K", "ſ", "ı", "İ", "\u0307", "ᲁ", "ᲃ", "перея", "переа",
               "лано", "ресовано", " ", "\n"]


@given(texts(STEM_PIECES, max_size=12))
@example("İLETİLEN MESAJ")
@example("Message tranſféré")
@example("переᲃлано")
@example("переаᲁресовано")
@example("Transmi\u0307s")
def test_maybe_forwarded_is_the_ignore_case_expression(text):
    assert forwards._maybe_forwarded(text) == bool(_MAYBE_FORWARDED.search(text))


def test_maybe_forwarded_knows_every_character_ignoring_case_adds_to_a_stem():
    letters = set("".join(forwards._FORWARD_STEMS))
    any_letter = re.compile("[" + re.escape("".join(sorted(letters))) + "]", re.IGNORECASE)
    extras = {c for c in map(chr, range(0x110000)) if not 0xD800 <= ord(c) <= 0xDFFF
              and any_letter.fullmatch(c) and c.lower() not in letters}
    assert extras == set(forwards._CASE_EXTRAS)


MAILBOX_PIECES = [" ", "  ", "\t", "\xa0", "<", ">", '"', "\\", ";", ":", "(", ")", "@", "a", "b.c", "x@y", "<a@b>",
                  '"N"', "é", "\x1c"]


@given(texts(MAILBOX_PIECES, max_size=25))  # the expression is cubic: short values only
@example(" " * 40 + "x")
@example('"a" <b@c>')
@example("  Jean <x@y.fr >  ")
def test_simple_mailbox_is_the_mailbox_expression(item):
    assert headers._simple_mailbox(item) == groups(headers._SIMPLE_MAILBOX.match(item))


WORD_PIECES = [" ", "  ", "\t", "a", "b", "=?utf-8?q?", "=?utf-8?b?", "=?iso-8859-1?q?", "=?utf-16?b?", "=?unknown?q?",
               "?=", "=?", "?", "_", "=41", "=E9", "=FF", "caf=C3=A9", "QUFB", "/w==", "x"]


@given(st.lists(st.sampled_from(WORD_PIECES), max_size=20).map("".join))
@example("a=?utf-8?q? a?=")
@example("=?utf-16?b?=?utf-16?b? a?==?utf-16?b?=?unknown?q?=?utf-8?q?")  # adjacent words decode together
def test_encoded_words_decode_as_mail_parser_decodes_an_ascii_value(value):
    from email.header import decode_header

    from mailparser.utils import decode_header_part
    try:
        decode_header(value)
    except Exception:  # noqa: BLE001 - mail-parser then keeps the whole value; we keep the broken run only
        return
    assert headers._decode_words(value).strip() == decode_header_part(value).strip()


def test_8bit_text_next_to_an_encoded_word_is_kept():
    # mail-parser's decoder, given the whole value, dropped the "à" (found by tests/robustness/test_hostile.py)
    assert headers.decode_text("Demande à Lyon =?utf-8?Q?caf=C3=A9?=") == "Demande à Lyon café"
    assert headers.decode_text("=?utf-8?B?w6k=?= =?utf-8?Q?t=C3=A9?= à") == "été à"


# --------------------------------------------------------------------------- b. mbox and lines

MBOX_PIECES = [b"From a@b Thu Mar 12 18:04:11 2026\n", b"From -\n", b"From 123@xxx\r\n", b"Subject: x\n", b"From: a@b\n",
               b"\n", b"\r\n", b"\r", b">From x\n", b">>From y\n", b"From time to time\n", b"x" * 300, b"y" * 5000,
               b"\xef\xbb\xbf", b" \t", b"\x0b\n", b"From ", b"\x00", b"\xff",
               b"From " + b"z" * 5000 + b" Thu Mar 12 18:04:11 2026\n", b"From a@b Thu Mar 12 18:04 2026\nX: y\n"]
mbox_bytes = st.lists(st.one_of(st.sampled_from(MBOX_PIECES), st.binary(max_size=20)), max_size=30).map(b"".join)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@examples(150)
@given(data=mbox_bytes, block=st.sampled_from([7, 64, 1000, 1 << 20]))
@example(data=b"\x0b\n", block=7)  # a vertical tab line before the first message was a message (found by this test)
@example(data=b"\x0c\nFrom a@b Thu Mar 12 18:04:11 2026\nX: y\n", block=64)
def test_mbox_reader_agrees_with_line_by_line_reading_on_any_bytes(scratch, data, block):
    if data.startswith(b"\x1f\x8b"):
        data = b"x" + data  # gzip's magic number: read as gzip (see the truncated-gzip test)
    path = write(scratch, "any.mbox", data)
    with mock.patch.object(mbox_module, "_BLOCK", block):
        got = [(m.data, m.from_line, m.problem) for m in mbox_module.read_mbox(path, "x")]
    assert got == [(d, line, None) for d, line in _reference_mbox(path)]


BODY_LINES = [b"Bonjour", b"", b"From time to time", b"From a@b Thu Mar 12 18:04:11 2026", b">From quoted", b">>From twice",
              b"From -", b"x" * 300, b"\xff\x00 octets", b"--boundary", b" ", b"Subject: not a header"]
messages = st.lists(
    st.tuples(st.integers(0, 99), st.lists(st.sampled_from(BODY_LINES), max_size=8)).map(
        lambda m: b"Subject: m%d\nFrom: a@b.fr\n\n" % m[0] + b"".join(line + b"\n" for line in m[1])),
    min_size=1, max_size=6)


@examples(100)
@given(written=messages, escape=st.sampled_from(["mboxrd", "mboxo"]), block=st.sampled_from([16, 4096, 1 << 20]))
def test_mbox_reader_gives_back_the_messages_written(scratch, written, escape, block):
    if escape == "mboxo":  # mboxo cannot tell ">From" written from "From" escaped: none written
        written = [re.sub(rb"(?m)^>+(?=From )", b"", m) for m in written]
    path = write(scratch, "written.mbox", mbox(*written, escape=escape))
    with mock.patch.object(mbox_module, "_BLOCK", block):
        got = list(mbox_module.read_mbox(path, "x"))
    assert [m.source for m in got] == [f"x:{n}" for n in range(1, len(written) + 1)]
    assert [m.data for m in got] == [m + b"\n" for m in written]  # the framing blank line aside


@examples(100)
@given(written=messages, limit=st.integers(30, 400))
def test_messages_over_the_limit_are_too_large_at_their_offset_the_others_intact(scratch, written, limit):
    data = mbox(*written)
    path = write(scratch, "limit.mbox", data)
    got = list(mbox_module.read_mbox(path, "x", max_bytes=limit))
    starts = [m.start() for m in re.finditer(rb"^From MAILER-DAEMON ", data, re.M)]
    assert len(got) == len(written)
    for item, original, start in zip(got, written, starts, strict=True):
        if item.problem is None:
            assert item.data == original + b"\n" and len(item.data) <= limit
        else:
            assert (item.problem, item.data) == ("too_large", b"")
            assert item.detail.endswith(f"starting at byte {start}")
            assert len(original) + original.count(b"\nFrom ") + original.count(b"\n>") + 2 > limit


@examples(100)
@given(data=mbox_bytes, cut=st.floats(0, 1))
def test_truncated_gzip_mbox_gives_every_message_read_and_marks_the_last(scratch, data, cut):
    packed = gzip.compress(data, mtime=0)
    packed = packed[:int(len(packed) * cut)]
    path = write(scratch, "cut.mbox.gz", packed)
    got = list(read_messages(InputFile(path, "mbox", "x")))
    if len(packed) < 2 or len(packed) == len(gzip.compress(data, mtime=0)):  # not cut, or no gzip at all
        return
    readable = write(scratch, "readable.mbox", zlib.decompressobj(31).decompress(packed))
    expected = _reference_mbox(readable)
    assert [m.problem for m in got] == [None] * (len(got) - 1) + ["truncated"]
    if expected:
        assert [(m.data, m.from_line) for m in got] == expected
    else:
        assert len(got) == 1


lines = st.lists(st.sampled_from([b"a", b"bb", b"x" * 7, b"\n", b"\r", b"\r\n", b"\n\n", b"\xff"]), max_size=40).map(b"".join)


@given(data=lines, limit=st.integers(1, 12), size=st.integers(1, 8))
@example(data=b"bbbb\ra", limit=1, size=5)  # the line after a long one ended by "\r" at a chunk's end was lost
def test_split_lines_cuts_bytes_as_splitlines(data, limit, size):
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    got = list(split_lines(iter(chunks), limit, b"\n\r"))
    expected = data.splitlines(True)
    assert [length for _, length in got] == [len(line) for line in expected]
    for (text, length), line in zip(got, expected, strict=True):
        assert text == line or (text is None and length > limit)  # only lines over the limit are skipped


text_lines = st.lists(st.sampled_from(["a", "é", "x" * 7, *_LINE_BREAKS, "\r\n"]), max_size=40).map("".join)


@given(data=text_lines, limit=st.integers(1, 12), size=st.integers(1, 8))
def test_split_lines_cuts_text_as_splitlines(data, limit, size):
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    got = list(split_lines(iter(chunks), limit, _LINE_BREAKS))
    expected = data.splitlines(True)
    assert [length for _, length in got] == [len(line) for line in expected]
    for (text, length), line in zip(got, expected, strict=True):
        assert text == line or (text is None and length > limit)


@given(data=lines, limit=st.integers(1, 12))
def test_bounded_lines_cut_at_newlines_and_skip_only_long_lines(data, limit):
    got = list(bounded_lines(io.BytesIO(data), limit))
    expected = [line + b"\n" for line in data.split(b"\n")]
    expected[-1] = expected[-1][:-1]
    expected = [line for line in expected if line]
    assert [(line.number, line.length) for line in got] == [(n, len(line)) for n, line in enumerate(expected, 1)]
    for line, original in zip(got, expected, strict=True):
        assert line.data == original or (line.data is None and len(original.rstrip(b"\n")) > limit)


# --------------------------------------------------------------------------- c. the parser

REASONS = {"empty", "not_an_email", "parse_error", "no_date"}


def assert_parsed(data: bytes, from_line: str | None = None) -> None:
    """``ingest``'s per-message step: a record and the compressed bytes, or a reason and a detail."""
    result = _parse((data, from_line))
    if isinstance(result[0], MessageRecord):
        record, compressed = result
        assert (record.size, record.message_key) == (len(data), message_key(data))
        assert zlib.decompress(compressed) == data
    else:
        reason, detail = result
        assert reason in REASONS and isinstance(detail, str) and detail, result


@examples(300)
@given(st.binary(max_size=2000))
def test_parser_never_raises_on_any_bytes(data):
    assert_parsed(data)


def _html_lead() -> bytes:
    return lead(body="x").replace(b"Content-Type: text/plain", b"Content-Type: text/html").replace(
        b"\n\nx\n", b"\n\n<html><head><title>t</title><style>p{}</style></head><body><p>Nom : Jean<br>"
                    b"T\xc3\xa9l : 06 12 34 56 78</p><!-- c --><script>x</script></body></html>\n")


SEEDS = [lead(), outlook_forward(), attached_forward(lead()), _html_lead(),
         lead(body="Nom : Dupont\nPrénom : Jean\nEmail : jean@example.fr\nTéléphone : 06 12 34 56 78\n"
                   "Message : « Bonjour, je voudrais visiter »\n")]
SPLICES = [b"\x00", b"\xff\xfe", b"\r", b"\n", b"\n\n", b"\n--", b'Content-Type: multipart/mixed; boundary="x"\n', b"--x\n",
           b"--x--\n", b"=?utf-8?B?", b"?=", b"Content-Transfer-Encoding: base64\n", b"=\n", b"<", b"<script>", b"<!--",
           "«".encode(), b"From ", b":", b" " * 64, b"(", b"@", b"Date: \n", b"Content-Type: message/rfc822\n\n"]


@st.composite
def mutated(draw, seeds):
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        operation = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "repeat"]))
        if operation == "truncate":
            del data[at:]
        elif operation == "flip":
            data[at] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[at:at] = draw(st.one_of(st.sampled_from(SPLICES), st.binary(min_size=1, max_size=8)))
        elif operation == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 200))] * draw(st.integers(1, 20))
    return bytes(data)


@examples(400)
@given(mutated(SEEDS))
def test_parser_never_raises_on_mutated_real_messages(data):
    assert_parsed(data)


@pytest.fixture(scope="module")
def corpus_messages() -> list[bytes]:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    files = sorted(p for p in (CORPUS / "eml").rglob("*") if p.is_file())
    return [p.read_bytes() for p in files]


@pytest.mark.corpus
def test_parser_never_raises_on_cut_and_flipped_corpus_messages(corpus_messages):
    rng = random.Random(2026)
    for data in corpus_messages:
        assert_parsed(data)
        assert_parsed(data[:len(data) // 2])
        flipped = bytearray(data)
        for _ in range(8):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        assert_parsed(bytes(flipped))


@pytest.mark.corpus
def test_parser_never_raises_on_mutated_corpus_messages(corpus_messages):
    @examples(150)
    @given(mutated([m for m in corpus_messages if len(m) < 200_000]))
    def check(data):
        assert_parsed(data)
    check()


@pytest.mark.corpus
@examples(40)
@given(name=st.sampled_from(["mimekit/unmunged.mbox.txt", "bigbang/2001-November.txt", "spamassassin/nice.mbox",
                             "mimekit/content-length.mbox.txt", "cpython/mailbox_01.mbox"]),
       cut=st.floats(0, 1), gzipped=st.booleans())
def test_cut_corpus_mboxes_are_read_to_the_cut(scratch, name, cut, gzipped):
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    data = (CORPUS / "mbox" / name).read_bytes()
    data = (gzip.compress(data, mtime=0) if gzipped else data)
    path = write(scratch, "corpus-cut.mbox" + (".gz" if gzipped else ""), data[:int(len(data) * cut)])
    kind = detect(path)
    got = list(read_messages(InputFile(path, kind, "x")))
    assert [m.source for m in got] == ([f"x:{n}" for n in range(1, len(got) + 1)] if kind == "mbox" else ["x"])
    assert all(m.problem in (None, "truncated") for m in got)
    assert all(m.problem is None for m in got[:-1])


# --------------------------------------------------------------------------- d. log readers

POSTFIX_PIECES = [b"Mar 12 18:04:11 mx postfix/smtp[105]: 4A1B2C3D4E: to=<a@b.fr>, relay=x[1.2.3.4]:25, status=sent (ok)\n",
                  b"Mar 12 18:04:11 mx postfix/cleanup[102]: 4A1B2C3D4E: message-id=<m@x>\n",
                  b"Mar 12 18:04:11 mx postfix/qmgr[103]: 4A1B2C3D4E: from=<s@x>, size=1\n",
                  b"2026-03-12T18:04:11.123+01:00 mx postfix/lmtp[104]: 4A1B2C3D4E: to=<a@b>, status=deferred\n",
                  b"Feb 30 25:61:61 mx postfix/smtp[1]: 4A1B2C3D4E: to=<a@b>\n", b"9999-99-99T99:99:99Z mx postfix/x[1]: ",
                  b"NOQUEUE: reject: RCPT from x: 554; from=<a@b> to=<c@d>\n", b"postfix", b"to=<", b"status=", b"\n",
                  b"\r", b"\x00", b"\xff", b" "]
CSV_PIECES = [b'"Received","SenderAddress","RecipientAddress","Subject","Status","MessageId"\n',
              b"Message ID,Start date,Sender,Subject,Direction,Recipient address,Event target,Event date,Event status\n",
              b"origin_timestamp_utc,sender_address,recipient_status,message_subject,message_id\n",
              b'"3/12/2026 5:04:11 PM","a@b","c@d","s","Delivered","<m@x>"\n', b"2026/03/12 18:04:11,", b"13/13/2026 25:00,",
              b'"', b'""', b",", b";", b"\n", b"\r\n", b"\r", b"#TYPE x\n", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xff",
              b"a@b##Receive, Deliver;", b"\t"]
DISTRIBUTION_PIECES = [b"received_at,message_id,sender,subject,delivered_to\n",
                       b"2026-03-12T18:04:20+01:00,<w@x>,f@x,Demande,lyon2@agence-exemple.fr\n",
                       b"0001-01-01T00:00:00+14:00,<w@x>,f@x,s,a@b\n", b"9999-12-31T23:59:59-14:00,", b"not a date,",
                       b'"', b",", b"\n", b"\r", b"\x00", b"\xff", b"@", b"<>"]


def log_bytes(pieces):
    raw = st.lists(st.one_of(st.sampled_from(pieces), st.binary(max_size=12)), max_size=25).map(b"".join)
    return st.tuples(raw, st.sampled_from(["plain", "gzip", "cut-gzip"])).map(_packed)


def _packed(item) -> bytes:
    data, how = item
    if how == "plain":
        return data
    packed = gzip.compress(data, mtime=0)
    return packed if how == "gzip" else packed[:max(2, len(packed) * 2 // 3)]


def assert_log_items(items, good_types, label: str, reasons: set[str]) -> None:
    for item in items:
        assert isinstance(item, good_types + (BadLine, BadRow)), item
        assert re.fullmatch(re.escape(label) + r":\d+", item.source), item
        if isinstance(item, (BadLine, BadRow)):
            assert item.reason in reasons and item.detail, item


def _read_log(reader, scratch, name, data, *args):
    path = write(scratch, name, data)
    label = "in/" + name
    return list(reader(path, label, *args)), label


@examples(100)
@given(log_bytes(POSTFIX_PIECES))
def test_postfix_reader_never_raises_on_any_bytes(scratch, data):
    items, label = _read_log(read_postfix, scratch, "mail.log", data, "Europe/Paris")
    assert_log_items(items, (LogEvent,), label, {"bad_log_line", "truncated_log_line", "too_large", "truncated",
                                                 "unreadable"})


@examples(100)
@given(data=log_bytes(CSV_PIECES), reader=st.sampled_from([read_m365, read_gws]))
def test_m365_and_gws_readers_never_raise_on_any_bytes(scratch, data, reader):
    items, label = _read_log(reader, scratch, "trace.csv", data, "Europe/Paris")
    assert_log_items(items, (LogEvent,), label, {"bad_log_row", "too_large", "truncated", "unreadable"})
    assert all(e.event_time.tzinfo is None for e in items if isinstance(e, LogEvent))


@examples(100)
@given(log_bytes(DISTRIBUTION_PIECES))
def test_distribution_reader_never_raises_on_any_bytes(scratch, data):
    items, label = _read_log(read_distribution, scratch, "distribution.csv", data)
    assert_log_items(items, (DistributionRow,), label, {"bad_log_row", "too_large", "truncated", "unreadable"})
    assert all(isinstance(r.received_at, dt.datetime) and "@" in r.delivered_to
               for r in items if isinstance(r, DistributionRow))


def test_row_after_a_long_line_ended_by_a_carriage_return_at_a_block_end_is_kept(scratch):
    """The reader reads 64 KB blocks: a too-long line whose "\r" ending closes a block swallowed
    the next row (split_lines waited for a "\n" that never came)."""
    header = b"received_at,message_id,sender,subject,delivered_to\r"
    long_line = b"x" * ((1 << 16) - len(header) - 1) + b"\r"
    row = b"2026-03-12T18:04:20+01:00,<w@x>,f@x,Demande,lyon2@agence-exemple.fr\r"
    path = write(scratch, "cr.csv", header + long_line + row)
    items = list(read_distribution(path, "cr.csv", max_line=1000))
    assert [(type(i).__name__, i.source, getattr(i, "reason", None)) for i in items] == [
        ("BadRow", "cr.csv:2", "too_large"), ("DistributionRow", "cr.csv:3", None)]


# --------------------------------------------------------------------------- the content key

_KEY_PIECES = [b"\r", b"\n", b"\r\n", b"a", b"From: x", b"Status: RO", b"X-UID: 7", b" folded", b"\t",
               b":", b"\xef\xbb\xbf", b"Subject: s"]


@given(st.lists(st.sampled_from(_KEY_PIECES), max_size=60), st.integers(min_value=1, max_value=9))
@example([b"\r", b"\r", b"\n", b"\n"], 1)   # a CRLF after a CR, cut between pieces
@example([b"\xef\xbb\xbf", b"a"], 1)        # a byte-order mark spread over pieces
def test_message_key_read_in_pieces_is_the_key_of_the_normalised_bytes(parts, chunk):
    import hashlib

    from emailtrack_analytics.ingest.parsing.message import normalise_bytes

    raw = b"".join(parts)
    assert message_key(raw, chunk) == hashlib.sha256(normalise_bytes(raw)).hexdigest()[:32]
