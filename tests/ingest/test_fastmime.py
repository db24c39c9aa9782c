"""The fast boundary matcher parses exactly as the standard library's regular expression does."""

from __future__ import annotations

import glob
import os
import re
from email import policy
from email.parser import BytesParser

import pytest

from emailtrack_analytics.ingest.parsing import fastmime

PATTERN = r"(?P<sep>{})(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"


@pytest.mark.parametrize("separator", ["--B", "--=_Part_1.2+x(y)?*", "--0000000000000abc", "--a b"])
@pytest.mark.parametrize("line", ["{s}", "{s}\n", "{s}\r\n", "{s}--", "{s}--\n", "{s} \t\n", "{s}x\n", "{s}\n\n",
                                  "{s}\r", "{s}--\r\n\n", "-{s}\n", "{s} -- \n", "x{s}\n", "{s}--x", "{s}\t--\n"])
def test_same_answer_as_the_regex(separator, line):
    text = line.format(s=separator)
    real = re.compile(PATTERN.format(re.escape(separator))).match(text)
    fast = fastmime.BoundaryMatcher(separator).match(text)
    assert bool(real) == bool(fast)
    if real:
        assert (real.group("end"), real.group("linesep")) == (fast.group("end"), fast.group("linesep"))


@pytest.mark.corpus
def test_same_parse_of_the_corpus(corpus):
    files = [p for p in glob.glob(str(corpus / "eml" / "**" / "*"), recursive=True) if os.path.isfile(p)]

    def shape(parser, path):
        try:
            message = parser.parsebytes(open(path, "rb").read())
        except RecursionError:
            return "recursion"
        return [(p.get_content_type(), p.get_payload() if not p.is_multipart() else len(p.get_payload()),
                 p.preamble, p.epilogue, [type(d).__name__ for d in p.defects]) for p in message.walk()]

    assert fastmime.is_fast()
    fast = [shape(fastmime.BytesParser(policy=policy.compat32), p) for p in files]
    slow = [shape(BytesParser(policy=policy.compat32), p) for p in files]
    assert len(files) > 300 and fast == slow


def test_importing_the_package_leaves_the_standard_library_alone():
    """The speed-up was installed into email.feedparser for every user of `email` in the
    process (a notebook kernel importing the package): it lives in a copy of our own now."""
    import subprocess
    import sys
    code = ("import re, email.feedparser as f; import emailtrack_analytics.ingest.parsing.message as m; "
            "m.parse_message(b'From: a@b.fr\\nSubject: x\\nDate: Thu, 12 Mar 2026 18:04:11 +0100\\n\\nhi\\n'); "
            "print(f.re is re)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"
