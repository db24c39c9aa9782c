"""How well forwards are unwrapped, measured on a folder of labelled messages.

The folder holds message files and an ``expectations.csv`` naming, per file, whether it is a
forward and the original sender and subject to recover (column names are matched loosely:
``file``/``path``, ``forward``/``is_forward``, ``original_sender``/``sender``/``from``,
``original_subject``/``subject``, ``language``/``lang``). ``python -m emailtrack_analytics.demo.forward_check
FOLDER`` prints the scores; the tests hold them to their targets.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..ingest.parsing.message import Unparseable, parse_message

_TRUE = {"yes", "true", "1", "y", "forward", "x"}


def _column(names: Sequence[str], *candidates: str) -> str | None:
    lowered = {n.lower().strip(): n for n in names}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    return None


def _same_text(a: str | None, b: str | None) -> bool:
    def norm(value: str | None) -> str:
        return re.sub(r"\s+", " ", (value or "").replace("\u00a0", " ")).strip().casefold()
    return norm(a) == norm(b)


@dataclass
class ForwardScore:
    forwards: int = 0
    recovered: int = 0
    non_forwards: int = 0
    false_forwards: int = 0
    dates_expected: int = 0
    dates_right: int = 0                                 # original date recovered to the minute
    by_language: dict[str, list[int]] = field(default_factory=dict)     # language -> [recovered, total]
    failures: list[tuple[str, str]] = field(default_factory=list)  # file, what went wrong

    @property
    def share(self) -> float:
        return self.recovered / self.forwards if self.forwards else 0.0

    def language_share(self, language: str) -> float:
        recovered, total = self.by_language.get(language, (0, 0))
        return recovered / total if total else 0.0

    def lines(self) -> list[str]:
        out = [f"forwards recovered (sender and subject): {self.recovered}/{self.forwards} = {self.share:.1%}",
               f"false forwards among non-forwards: {self.false_forwards}/{self.non_forwards}"]
        if self.dates_expected:
            out.append(f"original dates recovered (to the minute): {self.dates_right}/{self.dates_expected}")
        for language, (recovered, total) in sorted(self.by_language.items()):
            out.append(f"  {language:<6} {recovered}/{total}")
        return out


def score(folder: Path) -> ForwardScore:
    """Unwrap every file listed in ``folder/expectations.csv`` and compare with the expectations."""
    with open(folder / "expectations.csv", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        names = reader.fieldnames or []
        rows = list(reader)
    file_col = _column(names, "file", "path", "filename", "name")
    forward_col = _column(names, "forward", "is_forward", "forwarded", "expected_forward")
    sender_col = _column(names, "original_sender", "sender", "from", "original_from", "from_address")
    subject_col = _column(names, "original_subject", "subject")
    language_col = _column(names, "language", "lang", "locale")
    date_col = _column(names, "original_date", "date")
    result = ForwardScore()
    for row in rows:
        path = folder / row[file_col]
        expected_forward = (row.get(forward_col, "yes") if forward_col else "yes").strip().lower() in _TRUE
        try:
            record = parse_message(path.read_bytes())
        except (OSError, Unparseable) as exc:
            record = None
            problem = f"not parsed: {exc}"
        if not expected_forward:
            result.non_forwards += 1
            if record is not None and record.forward_kind:
                result.false_forwards += 1
                result.failures.append((row[file_col], "unwrapped a non-forward"))
            continue
        result.forwards += 1
        language = (row.get(language_col) or "-").strip() if language_col else "-"
        tally = result.by_language.setdefault(language, [0, 0])
        tally[1] += 1
        if record is None:
            result.failures.append((row[file_col], problem))
            continue
        sender_ok = not row.get(sender_col) or (record.sender or "").lower() == row[sender_col].strip().lower()
        subject_ok = not subject_col or _same_text(record.subject, row[subject_col])
        if date_col and row.get(date_col):
            result.dates_expected += 1
            expected_date = row[date_col].strip().replace("Z", "+00:00")
            got = record.received_at.strftime("%Y-%m-%dT%H:%M") if record.received_at else ""
            if record.forward_kind and got == expected_date[:16]:
                result.dates_right += 1
            else:
                result.failures.append((row[file_col], f"date {got} instead of {expected_date[:16]}"))
        if record.forward_kind and sender_ok and subject_ok:
            result.recovered += 1
            tally[0] += 1
        else:
            what = "not detected" if not record.forward_kind else \
                f"sender {record.sender!r}" if not sender_ok else f"subject {record.subject!r}"
            result.failures.append((row[file_col], what))
    return result


def main(argv: list[str] | None = None) -> int:
    folders = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    for folder in folders:
        result = score(folder)
        print(f"{folder}:")
        print("\n".join(result.lines()))
        for name, what in result.failures:
            print(f"  FAIL {name}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
