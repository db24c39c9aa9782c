"""Health signals on small, controlled histories ingested for real."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from emailtrack_analytics.analytics import health
from emailtrack_analytics.api import Analytics
from emailtrack_analytics.ingest.pipeline import ingest
from tests.builders import lead, mbox

START = dt.date(2026, 1, 5)


def history(workspace, tmp_path, rates: dict, days: int = 120, stop: dict | None = None, seed: int = 1):
    """Ingest ``days`` of SeLoger leads per point of sale (tracked address -> mean leads a day)."""
    rng = random.Random(seed)
    messages, n = [], 0
    for address, rate in rates.items():
        for day in range(days):
            date = START + dt.timedelta(days=day)
            if stop and address in stop and day >= stop[address]:
                continue
            weekday_factor = 0.4 if date.weekday() >= 5 else 1.2
            for _ in range(_poisson(rng, rate * weekday_factor)):
                n += 1
                stamp = dt.datetime(date.year, date.month, date.day, rng.randrange(8, 21), rng.randrange(60))
                messages.append(lead(message_id=f"<h{n}@lead.seloger.com>", cc=address, body=f"Prospect {n}\n",
                                     date=stamp.strftime("%a, %d %b %Y %H:%M:00 +0100")))
    (tmp_path / "h.mbox").write_bytes(mbox(*messages))
    ingest(workspace, [tmp_path / "h.mbox"], workers=1)
    return Analytics(workspace)


def _poisson(rng, mean):
    import math
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def test_a_stopped_point_of_sale_is_silent_and_a_quiet_one_is_not(workspace, tmp_path):
    data = history(workspace, tmp_path, {"lyon2@track.example.net": 3.0, "paris11@track.example.net": 0.15},
                   stop={"lyon2@track.example.net": 90})
    found = health.alerts(data, "2026-04")
    silences = [(a.kind, a.point_of_sale, a.portal) for a in found if a.kind == "silence"]
    assert silences == [("silence", "lyon-2", None)]
    alert = next(a for a in found if a.kind == "silence")
    assert alert.since == START + dt.timedelta(days=89) or alert.since < START + dt.timedelta(days=90)
    assert alert.expected >= health.SILENCE_EXPECTED and alert.probability < 0.001
    data.close()


def test_a_steady_network_raises_nothing(workspace, tmp_path):
    data = history(workspace, tmp_path, {"lyon2@track.example.net": 3.0, "paris11@track.example.net": 2.0})
    assert health.alerts(data, "2026-04") == []
    data.close()


def test_a_collapse_is_a_drop(workspace, tmp_path):
    # paris-11 keeps its leads, lyon-2 loses most of them in the last month (still a few a week)
    data = history(workspace, tmp_path, {"lyon2@track.example.net": 3.0, "paris11@track.example.net": 3.0},
                   days=86)
    extra = [lead(message_id=f"<late{i}@lead.seloger.com>", cc="lyon2@track.example.net", body=f"Late {i}\n",
                  date=f"Thu, {2 + 3 * i:02d} Apr 2026 10:00:00 +0200") for i in range(8)]
    extra += [lead(message_id=f"<p{i}@lead.seloger.com>", cc="paris11@track.example.net", body=f"P {i}\n",
                   date=f"Thu, {1 + i % 28:02d} Apr 2026 11:{i % 60:02d}:00 +0200") for i in range(90)]
    (tmp_path / "april.mbox").write_bytes(mbox(*extra))
    data.close()  # one process: the writer needs the read-only connection closed
    ingest(data.workspace, [tmp_path / "april.mbox"], workers=1)
    data = Analytics(data.workspace)
    drops = [a for a in health.alerts(data, "2026-04") if a.kind == "drop"]
    assert [a.point_of_sale for a in drops] == ["lyon-2"]
    assert drops[0].observed == 8 and drops[0].expected > 40
    data.close()


@pytest.mark.parametrize("mean, k, expected", [(2.0, 0, 0.1353), (10.0, 10, 0.5830), (30.0, 10, 0.0000)])
def test_poisson_cdf(mean, k, expected):
    assert abs(health.poisson_cdf(k, mean) - expected) < 1e-4
