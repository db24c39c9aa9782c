"""The demo data set's evidence from the points of sale's own mail systems (mail logs, mailbox
exports) and its coverage ground truth: readable by the product, complete, consistent."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import email
import email.policy
import itertools
import json
import mailbox
import os
import re
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from emailtrack_analytics.demo.sample import FAILURES, write_sample
from emailtrack_analytics.ingest.sources import detect, read_log
from emailtrack_analytics.ingest.sources.logs import BadLine

END_MONTH = "2026-10"
PARIS = ZoneInfo("Europe/Paris")
PLATFORMS = {"postfix": "Rhône", "m365": "Île-de-France", "gws": "Gironde"}
ALERT_KINDS = {"silence", "drop", "template_spike", "unknown_portal_sender"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("sample-logs"), end_month=END_MONTH)


@pytest.fixture(scope="module")
def facts(sample):
    return json.loads((sample.truth_dir / "sample_facts.json").read_text(encoding="utf-8"))


def truth_rows(sample, name: str) -> list[dict]:
    with open(sample.truth_dir / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def config(sample):
    return tomllib.loads(sample.config_text)


@pytest.fixture(scope="module")
def mailbox_owner(config):
    return {address: pos["id"] for pos in config["points_of_sale"] for address in pos["mailboxes"]}


@pytest.fixture(scope="module")
def log_events(sample, facts):
    """Every event and bad line of every log file, read by the product: {platform: (events, bad lines)}."""
    read = {}
    for platform in PLATFORMS:
        events, bad = [], []
        for path in sorted((sample.data_dir / "logs" / platform).iterdir()):
            label = path.relative_to(sample.root).as_posix()
            for item in read_log(detect(path), path, label, "Europe/Paris"):
                (bad if isinstance(item, BadLine) else events).append(item)
        read[platform] = (events, bad)
    return read


def mailbox_deliveries(events, mailbox_owner) -> set[tuple[str, str]]:
    """(Message-ID with brackets, point of sale) of each delivery to a point of sale's mailbox."""
    return {(f"<{e.message_id}>", mailbox_owner[e.recipient]) for e in events
            if e.status == "sent" and e.recipient in mailbox_owner and e.message_id}


# --------------------------------------------------------------------------- the log files

def test_every_log_file_is_detected_with_its_kind(sample, facts):
    for platform in PLATFORMS:
        files = sorted((sample.data_dir / "logs" / platform).iterdir())
        assert len(files) == 12, platform  # one per month
        assert {detect(path) for path in files} == {platform}
        listed = {Path(name).name for name in facts["logs"][platform]["files"]}
        assert listed == {path.name for path in files}


def test_logs_read_without_bad_lines_but_the_planted_truncated_one(log_events, facts):
    truncated = facts["logs"]["postfix"]["truncated_line"]
    for platform, (events, bad) in log_events.items():
        assert len(events) > 1000, platform
        expected = [truncated] if platform == "postfix" else []
        assert [line.source for line in bad] == expected, platform
    assert log_events["postfix"][1][0].reason == "truncated_log_line"


def test_log_files_have_their_platforms_formats(sample):
    logs = sample.data_dir / "logs"
    last = sample.months[-1]
    for month in sample.months[:-1]:
        head = (logs / "m365" / f"message-trace-{month}.csv").read_bytes()[:400]
        assert head.startswith(codecs.BOM_UTF8 + b"#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.")
        assert b'\r\n"Organization","MessageId","Received","SenderAddress","RecipientAddress"' in head
    historical = (logs / "m365" / f"historical-{last}.csv").read_bytes()
    assert historical.startswith(codecs.BOM_UTF16_LE)
    text = historical.decode("utf-16")
    assert text.lstrip("\ufeff").startswith("origin_timestamp_utc,sender_address,recipient_status,")
    assert re.search(r"\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,", text)
    assert re.search(r'"[^"#]+##Receive, Deliver;[^"#]+##Receive, Send"', text)
    gws = (logs / "gws" / f"email-log-{last}.csv").read_text(encoding="utf-8")
    assert gws.startswith("Message ID,Start date,End date,Sender,Message size,Subject,Direction,")
    assert re.search(r",\d{4}/\d\d/\d\d \d\d:\d\d:\d\d,", gws) and ",SMTP_OUT," in gws and ",GMAIL_INBOX," in gws
    postfix = (logs / "postfix" / "mail.log").read_text(encoding="utf-8")
    assert re.match(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d mx postfix/smtpd\[\d+\]: ", postfix)
    assert not postfix.endswith("\n")  # the last line was cut short


def test_postfix_files_are_monthly_dated_by_their_modification_time(sample, log_events):
    folder = sample.data_dir / "logs" / "postfix"
    for age, month in enumerate(reversed(sample.months)):
        path = folder / ("mail.log" if age == 0 else f"mail.log.{age}.gz")
        year, number = map(int, month.split("-"))
        end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=PARIS)
        assert os.stat(path).st_mtime == end.timestamp()
        events = [e for e in log_events["postfix"][0] if e.source.rsplit(":", 1)[0] == path.relative_to(
            sample.root).as_posix()]
        months = {e.event_time.replace(tzinfo=dt.timezone.utc).astimezone(PARIS).strftime("%Y-%m") for e in events}
        assert months == {month}, path.name  # the year was inferred right
        times = [e.event_time for e in events]
        # in time order (a local stamp of the hour repeated when clocks go back may read an hour early)
        assert all(b >= a - dt.timedelta(hours=1) for a, b in itertools.pairwise(times)), path.name


def test_postfix_log_has_real_life_noise(sample, log_events):
    events = log_events["postfix"][0]
    statuses = Counter(e.status for e in events)
    assert statuses["rejected"] >= 50 and statuses["deferred"] >= 3 and statuses["bounced"] >= 5
    hops = [e for e in events if e.status == "other" and (e.detail or "").startswith("content filter hop")]
    deliveries = [e for e in events if e.status == "sent" and (e.relay or "").endswith("[private/dovecot-lmtp]")]
    assert 0.05 <= len(hops) / len(deliveries) <= 0.15
    by_id = defaultdict(set)
    for e in events:
        if e.message_id and e.queue_id:
            by_id[e.message_id].add(e.queue_id)
    reinjected = [e for e in hops if len(by_id[e.message_id]) >= 2]
    assert len(reinjected) >= 0.9 * len(hops)  # the scanned copy comes back under a new queue id
    forwards = [e for e in events if e.original_recipient and e.recipient.endswith("@track.example.net")]
    assert forwards and all(e.relay == "mx.track.example.net[198.51.100.7]:25"
                            for e in forwards if e.status != "deferred")


# --------------------------------------------------------------------------- completeness

def test_every_lead_of_the_logged_groups_is_in_its_groups_logs(sample, log_events, mailbox_owner, config):
    group_of = {pos["id"]: pos["group"] for pos in config["points_of_sale"]}
    deliveries = truth_rows(sample, "lead_deliveries.csv")
    by_pair = {(row["lead_id"], row["point_of_sale"]): row for row in deliveries}
    # every lead that reached tracking for a point of sale of a logged group was delivered to it ...
    for row in truth_rows(sample, "messages.csv"):
        if not row["lead_id"] or row["duplicate_of"]:
            continue
        for point in row["distribution_points"].split(";") if row["distribution_points"] else [row["point_of_sale"]]:
            if group_of[point] in PLATFORMS.values():
                assert (row["lead_id"], point) in by_pair, (row["source"], point)
    # ... and every delivered lead (tracked or not) is in its group's log, by Message-ID
    for platform, group in PLATFORMS.items():
        seen = mailbox_deliveries(log_events[platform][0], mailbox_owner)
        rows = [row for row in deliveries if group_of[row["point_of_sale"]] == group]
        assert rows and all(row["evidence"] == platform for row in rows)
        absent = [row["lead_id"] for row in rows if (row["message_id"], row["point_of_sale"]) not in seen]
        assert absent == [], platform
    assert {row["lead_id"] for row in truth_rows(sample, "missing.csv")} <= {row["lead_id"] for row in deliveries}


def test_logs_hold_non_lead_mail_too(sample, log_events, mailbox_owner):
    lead_ids = {row["message_id"] for row in truth_rows(sample, "lead_deliveries.csv")}
    for platform, (events, _) in log_events.items():
        delivered = {message_id for message_id, _ in mailbox_deliveries(events, mailbox_owner)}
        assert len(delivered - lead_ids) >= 0.1 * len(delivered), platform


def test_coverage_totals_equal_the_leads_in_the_logs_and_exports(sample, log_events, mailbox_owner, facts):
    coverage = truth_rows(sample, "coverage.csv")
    deliveries = truth_rows(sample, "lead_deliveries.csv")
    for row in coverage:
        assert int(row["expected"]) == int(row["tracked"]) + int(row["missing"]) >= 0
    lead_messages = {row["message_id"] for row in deliveries}
    from_logs = set().union(*(mailbox_deliveries(events, mailbox_owner) for events, _ in log_events.values()))
    leads_in_logs = {pair for pair in from_logs if pair[0] in lead_messages}
    exported = {(row["lead_id"], row["point_of_sale"]) for row in truth_rows(sample, "mailbox_messages.csv")
                if row["lead_id"]}
    assert sum(int(row["expected"]) for row in coverage) == len(leads_in_logs) + len(exported) == len(deliveries)
    assert sum(int(row["missing"]) for row in coverage) == len(truth_rows(sample, "missing.csv"))
    assert facts["coverage"]["expected"] == len(deliveries)
    # tracked: the (lead, point of sale) pairs that reached tracking, by the tracking ground truth
    tracked = {(row["lead_id"], point) for row in truth_rows(sample, "messages.csv") if row["lead_id"]
               for point in (row["distribution_points"].split(";") if row["distribution_points"]
                             else [row["point_of_sale"]])}
    for row in deliveries:
        assert (row["tracked"] == "true") == ((row["lead_id"], row["point_of_sale"]) in tracked), row


def test_months_are_cut_by_the_leads_sent_time(sample):
    sent = {}
    for row in truth_rows(sample, "messages.csv"):
        if row["lead_id"]:
            sent[row["lead_id"]] = row["lead_month"]
    for row in truth_rows(sample, "lead_deliveries.csv"):
        assert row["month"] in sample.months
        if row["lead_id"] in sent:
            assert row["month"] == sent[row["lead_id"]]


# --------------------------------------------------------------------------- failures and alerts

def test_each_failure_misses_at_least_five_leads_with_its_cause(sample, facts):
    missing = truth_rows(sample, "missing.csv")
    assert set(facts["failures"]) == set(FAILURES)
    for kind, failure in facts["failures"].items():
        rows = [row for row in missing if row["point_of_sale"] == failure["point_of_sale"] and row["cause"] == kind]
        assert len(rows) >= 5, kind
        assert failure["missing_with_cause"] == len(rows)
    assert {(row["point_of_sale"], row["cause"]) for row in missing} == \
        {(failure["point_of_sale"], kind) for kind, failure in facts["failures"].items()}


def test_healthy_points_of_sale_miss_nothing(sample, facts):
    failing = {failure["point_of_sale"] for failure in facts["failures"].values()}
    healthy = [row for row in truth_rows(sample, "coverage.csv") if row["point_of_sale"] not in failing]
    assert len({row["point_of_sale"] for row in healthy}) == 16  # 19 logged + 2 exported - 5 failing
    assert [row for row in healthy if row["missing"] != "0"] == []
    assert all(int(row["expected"]) > 0 for row in healthy)


def test_failures_look_as_planned(sample, facts, log_events):
    failures = facts["failures"]
    missing = truth_rows(sample, "missing.csv")
    deliveries = {(row["lead_id"], row["point_of_sale"]): row for row in truth_rows(sample, "lead_deliveries.csv")}
    messages = truth_rows(sample, "messages.csv")

    def when(row) -> dt.datetime:
        stamp = deliveries[(row["lead_id"], row["point_of_sale"])]["delivered_at"]
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    def of(kind):
        return [row for row in missing if row["cause"] == kind]

    bounced = failures["forward_bounced"]
    start, until = (dt.datetime.fromisoformat(bounced[k]) for k in ("from", "until"))
    assert 11 <= (until - start).days <= 12 and bounced["months"] == [sample.months[8]] * 2
    assert all(start - dt.timedelta(minutes=5) <= when(row) < until for row in of("forward_bounced"))
    bounces = [e for e in log_events["postfix"][0] if e.status == "bounced" and e.original_recipient]
    assert bounces and {e.recipient for e in bounces} == {f"{bounced['point_of_sale']}@track.example.net"}
    assert all("552 5.2.2 mailbox full" in e.detail for e in bounces)

    cc_absent = failures["cc_absent"]
    assert cc_absent["from"][:7] == sample.months[9] and 10 <= int(cc_absent["from"][8:10]) <= 20
    assert all(row["month"] >= sample.months[9] for row in of("cc_absent"))

    for row in of("client_rule_offline"):
        local = when(row).astimezone(PARIS)
        assert local.weekday() >= 5 or not (8, 30) <= (local.hour, local.minute) < (19, 0), row
    offline = failures["client_rule_offline"]
    assert 0.1 < offline["missing"] / offline["expected"] < 0.6  # the others are forwarded as before

    paris_9 = failures["never_forwards"]["point_of_sale"]
    assert not [row for row in messages if paris_9 in (row["point_of_sale"], *row["distribution_points"].split(";"))]
    assert {row["month"] for row in of("never_forwards")} == set(sample.months[-4:])

    stopped = failures["forwarding_stopped"]
    assert stopped["from"] == facts["stopped_forwarding"]["stopped_at"]
    after = [row for row in of("forwarding_stopped") if row["month"] > sample.months[6]]
    assert len(after) >= 20 and all(deliveries[(row["lead_id"], row["point_of_sale"])]["evidence"] == "gws"
                                     for row in after)


def test_expected_alerts(sample, facts):
    alerts = truth_rows(sample, "alerts.csv")
    assert {row["kind"] for row in alerts} == ALERT_KINDS and len(alerts) == len(ALERT_KINDS)
    by_kind = {row["kind"]: row for row in alerts}
    assert (by_kind["silence"]["point_of_sale"], by_kind["silence"]["month"]) == (
        FAILURES["forwarding_stopped"], sample.months[6])
    assert (by_kind["template_spike"]["portal"], by_kind["template_spike"]["month"]) == ("seloger", sample.months[-2])
    assert by_kind["drop"]["month"] == by_kind["unknown_portal_sender"]["month"] == sample.months[-1]
    assert facts["alerts"] == alerts

    drop = by_kind["drop"]["point_of_sale"]
    assert drop not in FAILURES.values()
    leads = {}
    for row in truth_rows(sample, "messages.csv"):
        if row["lead_id"] and row["point_of_sale"] == drop:
            leads[row["lead_id"]] = row["lead_month"]
    volume = Counter(leads.values())
    before = sum(volume[month] for month in sample.months[-4:-1]) / 3
    assert 0.2 <= volume[sample.months[-1]] / before <= 0.4


def test_unknown_portal_contacts_are_cc_copies_of_category_other(sample):
    rows = [row for row in truth_rows(sample, "messages.csv") if re.search(r"immo-nouveau", row["message_id"])]
    assert 20 <= len(rows) <= 30 and len({row["point_of_sale"] for row in rows}) >= 3
    assert {(row["category"], row["portal"], row["channel"], row["lead_id"]) for row in rows} == {
        ("other", "", "cc", "")}
    mboxes = {row["source"].split("/")[-1].split(".")[0] for row in rows if ".mbox:" in row["source"]}
    assert mboxes <= {sample.months[-1]}  # the last month only


# --------------------------------------------------------------------------- mailbox exports

def test_mailbox_exports_hold_the_points_of_sales_own_copies(sample, facts, config):
    rows = truth_rows(sample, "mailbox_messages.csv")
    exports = facts["mailbox_exports"]
    folder = sample.root / exports["folder"]
    assert folder == sample.data_dir / "mailbox"  # ingested with the rest: the role is told by Delivered-To
    mailbox_of = {pos["id"]: pos["mailboxes"][0] for pos in config["points_of_sale"]}
    tracked_of = {pos["id"]: pos["tracked_addresses"][0] for pos in config["points_of_sale"]}
    tracking_sources = {row["source"] for row in truth_rows(sample, "messages.csv")}
    cc_seen = 0
    for pos in exports["points_of_sale"]:
        path = folder / f"{pos}.mbox"
        assert detect(path) == "mbox"
        box = mailbox.mbox(path, create=False)
        mine = [row for row in rows if row["point_of_sale"] == pos]
        assert len(box) == len(mine) > 30
        for index, row in enumerate(mine):
            assert row["source"] == f"{exports['folder']}/{pos}.mbox:{index + 1}"
            assert row["source"] not in tracking_sources
            raw = box.get_bytes(index)
            assert raw.startswith(f"Delivered-To: {mailbox_of[pos]}\n".encode())
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert (message["Message-ID"] or "") == row["message_id"]
            cc_seen += tracked_of[pos] in f"{message['To']} {message['Cc'] or ''}"
        months = {dt.datetime.fromisoformat(row["delivered_at"].replace("Z", "+00:00")).astimezone(PARIS)
                  .strftime("%Y-%m") for row in truth_rows(sample, "lead_deliveries.csv")
                  if row["point_of_sale"] == pos}
        assert months <= set(exports["months"]) == set(sample.months[-3:])
    assert cc_seen > 10  # leads with the tracked address in CC keep it in the mailbox copy


# --------------------------------------------------------------------------- determinism and scale

def _snapshot(root: Path) -> dict:
    folders = [root / "data" / "sample" / "logs", root / "data" / "sample" / "mailbox", root / "data" / "sample-truth"]
    return {path.relative_to(root): (path.read_bytes(), os.stat(path).st_mtime_ns if "logs" in path.parts
                                     or "mailbox" in path.parts else None)
            for folder in folders for path in sorted(folder.rglob("*")) if path.is_file()}


def test_new_files_are_deterministic_and_scale_with_leads(tmp_path, facts):
    first = write_sample(tmp_path / "a", end_month=END_MONTH, scale=0.1)
    second = write_sample(tmp_path / "b", end_month=END_MONTH, scale=0.1)
    a, b = _snapshot(first.root), _snapshot(second.root)
    assert a.keys() == b.keys() and len(a) > 40
    assert [name for name in a if a[name] != b[name]] == []
    small = json.loads((first.truth_dir / "sample_facts.json").read_text(encoding="utf-8"))
    for platform in PLATFORMS:
        ratio = small["logs"][platform]["lines"] / facts["logs"][platform]["lines"]
        assert 0.05 <= ratio <= 0.2, platform
    assert 0.05 <= small["coverage"]["expected"] / facts["coverage"]["expected"] <= 0.2
