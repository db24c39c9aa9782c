"""A faster boundary test for the standard library's MIME parser, in a parser of our own.

``email.feedparser`` compiles one regular expression per multipart boundary. Boundaries are
unique per message, so the ``re`` cache never helps: compiling is about a quarter of the time
spent parsing a typical portal email. ``BytesParser`` here parses with a private copy of
``email.feedparser`` whose ``re.compile`` returns a plain string matcher with the same
behaviour for exactly that boundary pattern (and delegates every other pattern to ``re``). The
standard library's own module is never changed: a notebook's other users of ``email`` see the
parser they expect. The copy checks the matcher against the real expression before using it,
and stays as it is if the parser's pattern ever changes.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import types
from email.feedparser import FeedParser
from email.message import Message
from email.policy import Policy
from typing import Literal

_PREFIX = "(?P<sep>"
_SUFFIX = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


class _Match:
    __slots__ = ("_groups",)

    def __init__(self, sep: str, end: str | None, linesep: str | None):
        self._groups = {"sep": sep, "end": end, "linesep": linesep}

    def group(self, name: Literal["sep", "end", "linesep"]) -> str | None:
        return self._groups[name]


class BoundaryMatcher:
    """``re.compile('(?P<sep>--B)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$').match``
    without a regular expression."""

    __slots__ = ("separator",)

    def __init__(self, separator: str):
        self.separator = separator

    def match(self, line: str) -> _Match | None:
        if not line.startswith(self.separator):
            return None
        rest = line[len(self.separator):]
        ends: tuple[tuple[str | None, str], ...] = (
            (("--", rest[2:]), (None, rest)) if rest.startswith("--") else ((None, rest),))
        for marker, tail in ends:
            tail = tail.lstrip(" \t")
            for linesep in ("\r\n", "\r", "\n"):
                if tail.startswith(linesep) and tail[len(linesep):] in ("", "\n"):
                    return _Match(self.separator, marker, linesep)
            if tail in ("", "\n"):
                return _Match(self.separator, marker, None)
        return None


def _compile(pattern: str, flags: int = 0) -> BoundaryMatcher | re.Pattern[str]:
    if isinstance(pattern, str) and pattern.startswith(_PREFIX) and pattern.endswith(_SUFFIX) and not flags:
        escaped = pattern[len(_PREFIX):-len(_SUFFIX)]
        return BoundaryMatcher(_UNESCAPE.sub(r"\1", escaped))
    return re.compile(pattern, flags)


_SAMPLES = ["--B", "--B\n", "--B\r\n", "--B--", "--B--\n", "--B  \n", "--B\t--\n", "--B--  \r\n", "--Bx\n",
            "--B\n\n", "--B\r", "--B--\r\n\n", "---B\n", "--B -- \n", "x--B\n", "--B\n\r\n", "--B--x"]


def _agrees(separator: str = "--B") -> bool:
    real = re.compile(_PREFIX + re.escape(separator) + _SUFFIX)
    fast = BoundaryMatcher(separator)
    for line in _SAMPLES:
        expected, got = real.match(line), fast.match(line)
        if expected is None or got is None:
            if (expected is None) != (got is None):
                return False
            continue
        if any(expected.group(g) != got.group(g) for g in ("end", "linesep")):
            return False
    return True


def _fast_re() -> types.SimpleNamespace:
    proxy = types.SimpleNamespace(**{name: getattr(re, name) for name in dir(re) if not name.startswith("__")})
    proxy.compile = _compile
    return proxy


@functools.cache
def feedparser_module() -> types.ModuleType:
    """A private copy of ``email.feedparser`` using the fast boundary matcher when it agrees with
    the real expression (else the copy is left as the standard library wrote it)."""
    import email.feedparser as original

    spec = importlib.util.spec_from_file_location(__name__ + "._feedparser", original.__file__)
    if spec is None or spec.loader is None:  # the standard library's own file: always found
        return original
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if getattr(module, "re", None) is re and _agrees() and _agrees("--=_Part.1+x(y)?"):
        vars(module)["re"] = _fast_re()  # the copy's global "re", which mypy does not see
    return module


def is_fast() -> bool:
    return getattr(feedparser_module(), "re", None) is not re


class BytesParser:
    """``email.parser.BytesParser(policy=...).parsebytes``, through the private feed parser."""

    def __init__(self, policy: Policy):
        self.policy = policy

    def parsebytes(self, data: bytes) -> Message:
        # the private copy's FeedParser is the standard library's class, compiled again
        parser: FeedParser = feedparser_module().FeedParser(policy=self.policy)
        parser.feed(data.decode("ASCII", errors="surrogateescape"))
        return parser.close()
