"""Compare a workspace's attribution with a ground-truth file (the sample's, or one you label).

``compare(workspace)`` reads ``data/sample-truth/messages.csv`` and the stored
attribution, and reports agreement per field: the accuracy figures quoted for the sample.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .refresh import refresh_attribution
from .store.db import connect
from .workspace import Workspace

FIELDS = ("point_of_sale", "portal", "category", "channel")


@dataclass
class Comparison:
    messages: int = 0                      # ground-truth rows expected to be stored
    found: int = 0                         # of those, found in the database by source
    agree: Counter = field(default_factory=Counter)
    all_fields: int = 0                    # rows right on every field
    quarantine_expected: int = 0
    quarantine_right: int = 0
    mistakes: list[tuple[str, str, str, str]] = field(default_factory=list)  # source, field, expected, got

    def accuracy(self, name: str | None = None) -> float:
        if not self.messages:
            return 0.0
        return (self.all_fields if name is None else self.agree[name]) / self.messages

    def lines(self) -> list[str]:
        out = [f"messages {self.messages}, found {self.found}, all fields right {self.accuracy():.4%}"]
        out += [f"  {name:<14} {self.accuracy(name):.4%}" for name in FIELDS]
        out.append(f"quarantine {self.quarantine_right}/{self.quarantine_expected} as expected")
        return out


def compare(workspace: Workspace, truth: Path | None = None) -> Comparison:
    truth = truth or workspace.root / "data" / "sample-truth" / "messages.csv"
    with open(truth, encoding="utf-8", newline="") as handle:
        expected = list(csv.DictReader(handle))
    con = connect(workspace.database)
    try:
        refresh_attribution(con, workspace)
        got = {row[0]: row[1:] for row in con.execute(
            "SELECT s.source, a.point_of_sale, a.portal, a.category, a.channel "
            "FROM sightings s JOIN attribution a USING (message_key)").fetchall()}
        quarantined = dict(con.execute("SELECT source, reason FROM quarantine_items").fetchall())
    finally:
        con.close()
    result = Comparison()
    for row in expected:
        source = row["source"]
        if row["expected_quarantine"]:
            result.quarantine_expected += 1
            result.quarantine_right += quarantined.get(source) == row["expected_quarantine"]
            continue
        result.messages += 1
        values = got.get(source)
        if values is None:
            result.mistakes.append((source, "stored", "yes", quarantined.get(source, "missing")))
            continue
        result.found += 1
        right = True
        for name, value in zip(FIELDS, values):
            if (value or "") == row[name]:
                result.agree[name] += 1
            else:
                right = False
                result.mistakes.append((source, name, row[name], value or ""))
        result.all_fields += right
    return result
