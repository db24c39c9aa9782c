"""The demo data set: deterministic, parseable, consistent with its own ground truth."""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import json
import mailbox
import re
import tomllib
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from emailtrack_analytics.demo.sample import last_complete_month, write_sample

END_MONTH = "2026-03"
CHANNELS = {"cc", "redirect", "forward", "distribution", "direct"}
CATEGORIES = {"lead", "follow_up", "notification", "newsletter", "auto_reply", "spam", "other"}
QUARANTINE_REASONS = {"no_date", "empty", "not_an_email"}


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """The default-size data set, generated once for the whole session. How long it takes is
    measured by benchmarks/report.py (a timed assertion here failed on a loaded machine)."""
    return write_sample(tmp_path_factory.mktemp("sample-full"), end_month=END_MONTH)


@pytest.fixture(scope="session")
def truth(sample):
    with open(sample.truth_dir / "messages.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def facts(sample):
    return json.loads((sample.truth_dir / "sample_facts.json").read_text(encoding="utf-8"))


class Sources:
    """Reads the bytes of a ground-truth ``source`` (``PATH:N`` for mbox messages)."""

    def __init__(self, root: Path):
        self.root = root
        self.boxes: dict[str, mailbox.mbox] = {}

    def raw(self, source: str) -> bytes:
        path, _, index = source.rpartition(":")
        if path.endswith(".mbox"):
            box = self.boxes.setdefault(path, mailbox.mbox(self.root / path, create=False))
            # Python's mbox reader does not undo mboxrd's ">From " quoting
            return re.sub(rb"(?m)^>(>*From )", rb"\1", box.get_bytes(int(index) - 1))
        if path.endswith("/maildir"):
            return maildir_files(self.root / path)[int(index) - 1].read_bytes()
        return (self.root / source).read_bytes()


def maildir_files(folder: Path) -> list[Path]:
    """A Maildir's message files in the order the contract's PATH:N numbers them."""
    files = [f for sub in ("cur", "new") for f in (folder / sub).iterdir()]
    return sorted(files, key=lambda f: (f.name.split(":", 1)[0], f.name))


@pytest.fixture(scope="session")
def sources(sample):
    return Sources(sample.root)


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_same_arguments_give_identical_bytes(tmp_path):
    first = write_sample(tmp_path / "a", end_month=END_MONTH, scale=0.05)
    second = write_sample(tmp_path / "b", end_month=END_MONTH, scale=0.05)
    files_a = {p.relative_to(first.root): p.read_bytes() for p in sorted(first.root.rglob("*")) if p.is_file()}
    files_b = {p.relative_to(second.root): p.read_bytes() for p in sorted(second.root.rglob("*")) if p.is_file()}
    assert files_a.keys() == files_b.keys()
    assert [name for name in files_a if files_a[name] != files_b[name]] == []
    assert first.messages == second.messages > 100


def test_another_seed_gives_another_data_set(tmp_path):
    first = write_sample(tmp_path / "a", end_month=END_MONTH, scale=0.05, seed=7)
    second = write_sample(tmp_path / "b", end_month=END_MONTH, scale=0.05, seed=8)
    name = Path("data/sample-truth/messages.csv")
    assert (first.root / name).read_bytes() != (second.root / name).read_bytes()


def test_rewriting_replaces_the_previous_sample(tmp_path):
    write_sample(tmp_path, end_month="2025-12", scale=0.05)
    info = write_sample(tmp_path, end_month=END_MONTH, scale=0.05)
    mboxes = sorted(p.stem for p in (info.data_dir / "tracking").glob("*.mbox"))
    assert mboxes == info.months


def test_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "data" / "sample").mkdir(parents=True)
    (tmp_path / "data" / "sample" / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        write_sample(tmp_path, end_month=END_MONTH, scale=0.05)


def test_month_window_is_the_twelve_months_ending_with_end_month(sample):
    assert sample.months == ["2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10",
                             "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert sorted(p.stem for p in (sample.data_dir / "tracking").glob("*.mbox")) == sample.months


def test_every_copy_is_dated_inside_the_window(sample, truth, sources):
    paris = ZoneInfo("Europe/Paris")
    for row in truth:
        if row["expected_quarantine"] or not row["source"].endswith(".eml"):
            continue
        received = parse(sources.raw(row["source"]))["Received"]
        stamp = email.utils.parsedate_to_datetime(received.split(";")[-1].strip()).astimezone(paris)
        assert sample.months[0] <= stamp.strftime("%Y-%m") <= sample.months[-1], row["source"]


@pytest.mark.parametrize("today, expected", [
    (dt.date(2026, 4, 15), "2026-03"),
    (dt.date(2026, 1, 1), "2025-12"),
    (dt.datetime(2026, 4, 30, 22, 30, tzinfo=dt.timezone.utc), "2026-04"),  # already 1 May in Paris
    (dt.datetime(2026, 5, 1, 12, 0), "2026-04"),
])
def test_last_complete_month(today, expected):
    assert last_complete_month(today) == expected


def test_end_month_is_validated(tmp_path):
    with pytest.raises(ValueError):
        write_sample(tmp_path, end_month="2026-13", scale=0.05)


def test_generation_is_sized_as_promised(sample, facts):
    assert 9_000 <= sample.messages <= 13_000
    non_leads = sum(count for category, count in facts["by_category"].items() if category != "lead")
    assert 0.15 <= non_leads / facts["stored_messages"] <= 0.20


def test_config_parses_and_tracked_addresses_are_unique(sample):
    config = tomllib.loads(sample.config_text)
    assert (sample.root / "emailtrack.toml").read_text(encoding="utf-8") == sample.config_text
    assert config["workspace"] == {"name": "Réseau Exemple", "timezone": "Europe/Paris",
                                   "database": "data/emailtrack.duckdb"}
    points = config["points_of_sale"]
    assert len(points) == 25 and len({p["id"] for p in points}) == 25
    assert Counter(p["group"] for p in points) == {"Rhône": 6, "Île-de-France": 7, "Gironde": 6,
                                                    "Bouches-du-Rhône": 6}  # paris-9: new, tracking not set up
    addresses = [a for p in points for a in p["tracked_addresses"]]
    addresses += [entry["address"] for entry in config["tracked_addresses"]]
    assert len(addresses) == len(set(addresses))
    mailboxes = [m for p in points for m in p["mailboxes"]]
    assert len(mailboxes) == len(set(mailboxes)) and not set(mailboxes) & set(addresses)
    ids = {p["id"] for p in points}
    reserved = [entry for entry in config["tracked_addresses"] if "portal" in entry]
    assert 2 <= len(reserved) <= 3 and all(entry["point_of_sale"] in ids for entry in reserved)
    assert [entry["address"] for entry in config["tracked_addresses"] if entry.get("distribution")] == [
        "reseau@track.example.net"]
    assert config["portals"] == [{"id": "site-agence", "name": "Site Internet", "kind": "website",
                                  "senders": ["formulaire@agence-exemple.fr"], "subjects": ["^Demande de contact"]}]


def test_config_is_accepted_by_the_workspace_loader(sample):
    workspace = pytest.importorskip("emailtrack_analytics.config.workspace")
    loaded = workspace.load_config(sample.root / "emailtrack.toml")
    assert len(loaded.points_of_sale) == 25


def test_ground_truth_names_only_configured_points_of_sale_and_known_values(sample, truth):
    ids = {p["id"] for p in tomllib.loads(sample.config_text)["points_of_sale"]}
    for row in truth:
        points = {row["point_of_sale"]} | set(filter(None, row["distribution_points"].split(";")))
        assert points - {""} <= ids
        if row["expected_quarantine"]:
            assert row["expected_quarantine"] in QUARANTINE_REASONS
            continue
        assert row["channel"] in CHANNELS and row["category"] in CATEGORIES
        assert bool(row["lead_id"]) == (row["category"] == "lead")
        assert bool(row["distribution_points"]) == (row["channel"] == "distribution")
        if row["channel"] == "distribution":  # a point of sale only when sent to just one
            assert bool(row["point_of_sale"]) == (len(row["distribution_points"].split(";")) == 1)
        else:
            assert row["point_of_sale"]
    assert len(truth) == sample.messages


def test_every_channel_and_category_occurs(facts):
    assert set(facts["by_channel"]) == CHANNELS and min(facts["by_channel"].values()) >= 20
    assert set(facts["by_category"]) == CATEGORIES and min(facts["by_category"].values()) >= 20


def test_every_message_parses_except_the_malformed_ones(sample, truth, sources, facts):
    trapped = {source for key, names in facts["traps"].items() if not key.startswith("quarantine") for source in names}
    for number, row in enumerate(truth):
        raw = sources.raw(row["source"])
        if row["expected_quarantine"]:
            assert row["expected_quarantine"] != "empty" or raw == b""
            continue
        message = email.message_from_bytes(raw)  # compat32: fast, and reports MIME structure defects
        assert message["From"] and message["Delivered-To"] and message["Subject"], row["source"]
        for part in message.walk():
            assert not part.defects, row["source"]
            if part.get_content_maintype() == "text":
                part.get_payload(decode=True)
        if number % 10 and row["source"] not in trapped:
            continue  # the modern policy is slow: check one message in ten, and every trap
        message = parse(raw)
        assert not message.defects, row["source"]
        assert message["Message-ID"] == (row["message_id"] or None)
        for part in message.walk():
            if part.get_content_maintype() == "text":
                part.get_content()


def test_each_mbox_holds_as_many_messages_as_the_ground_truth_says(sample, truth):
    expected = Counter(row["source"].rpartition(":")[0] for row in truth if ".mbox:" in row["source"])
    for path in (sample.data_dir / "tracking").glob("*.mbox"):
        assert len(mailbox.mbox(path, create=False)) == expected[path.relative_to(sample.root).as_posix()]


def test_the_maildir_holds_one_month_of_one_group(sample, truth, facts):
    box = mailbox.Maildir(sample.data_dir / "tracking" / "maildir", create=False)
    rows = [row for row in truth if "/maildir:" in row["source"]]
    assert len(box) == len(rows) > 0
    groups = {p["id"]: p["group"] for p in tomllib.loads(sample.config_text)["points_of_sale"]}
    assert {groups[row["point_of_sale"]] for row in rows} == {facts["maildir"]["group"]}


def test_mbox_body_lines_starting_with_from_are_escaped(sample, facts, sources):
    trapped = facts["traps"]["from_line"]
    assert trapped
    for source in trapped:
        path, _, index = source.rpartition(":")
        stored = mailbox.mbox(sample.root / path, create=False).get_bytes(int(index) - 1)
        assert re.search(rb"(?m)^>From ", stored) and not re.search(rb"(?m)^From ", stored)


def test_some_eml_files_use_crlf_and_files_are_nested(sample, truth):
    emls = [sample.root / row["source"] for row in truth
            if row["source"].endswith(".eml") and not row["expected_quarantine"]]
    assert len(emls) >= 200
    assert any(b"\r\n" in path.read_bytes() for path in emls)
    assert any(b"\r\n" not in path.read_bytes() for path in emls)
    assert all(len(path.relative_to(sample.data_dir / "tracking" / "eml").parts) >= 2 for path in emls)


def test_re_exported_messages_repeat_their_mbox_message_byte_for_byte(truth, sources):
    duplicates = [row for row in truth if row["duplicate_of"]]
    assert duplicates
    by_source = {row["source"]: row for row in truth}
    for row in duplicates:
        assert sources.raw(row["source"]) == sources.raw(row["duplicate_of"])
        first = by_source[row["duplicate_of"]]
        assert [row[k] for k in ("message_id", "lead_id", "channel", "point_of_sale")] == \
            [first[k] for k in ("message_id", "lead_id", "channel", "point_of_sale")]


def test_a_few_leads_arrive_twice_and_share_their_lead_id(truth):
    stored = [row for row in truth if row["lead_id"] and not row["duplicate_of"]]
    copies = Counter(row["lead_id"] for row in stored)
    twice = sum(1 for count in copies.values() if count > 1)
    assert 0.02 <= twice / len(copies) <= 0.05
    lead_of_message = {}
    for row in stored:
        if row["message_id"]:
            assert lead_of_message.setdefault(row["message_id"], row["lead_id"]) == row["lead_id"]


def test_distribution_copies_are_explained_by_the_log(sample, truth):
    with open(sample.data_dir / "distribution" / "distribution-log.csv", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["received_at", "message_id", "sender", "subject", "delivered_to"]
        log = list(reader)
    mailbox_of = {p["id"]: p["mailboxes"][0] for p in tomllib.loads(sample.config_text)["points_of_sale"]}
    delivered = {}
    for entry in log:
        dt.datetime.fromisoformat(entry["received_at"])
        delivered.setdefault(entry["message_id"], set()).add(entry["delivered_to"])
    copies = [row for row in truth if row["channel"] == "distribution" and not row["duplicate_of"]]
    assert copies
    for row in copies:
        points = row["distribution_points"].split(";")
        assert 1 <= len(points) <= 3
        assert delivered[row["message_id"]] == {mailbox_of[p] for p in points} | {"reseau@track.example.net"}
    assert len(delivered) == len(copies)  # every dispatched lead reached tracking (coverage: no loss there)


def test_forwarding_of_the_stopped_point_of_sale_ends_mid_year(sample, truth, facts, sources):
    stopped = facts["stopped_forwarding"]
    assert stopped["stopped_on"][:7] == sample.months[6]
    stop_at = dt.datetime.fromisoformat(stopped["stopped_at"])
    rows = [row for row in truth if row["point_of_sale"] == stopped["point_of_sale"]]
    assert rows and {row["channel"] for row in rows if row["category"] == "lead"} == {"forward"}
    for row in rows:
        received = parse(sources.raw(row["source"]))["Received"]
        assert email.utils.parsedate_to_datetime(received.split(";")[-1].strip()) < stop_at


def test_quarantine_files_are_few_and_named_for_their_defect(sample, truth):
    quarantined = [row for row in truth if row["expected_quarantine"]]
    assert 5 <= len(quarantined) == sample.expected_quarantined <= 10
    assert {row["expected_quarantine"] for row in quarantined} == QUARANTINE_REASONS
    assert all(row["source"].endswith(".eml") for row in quarantined)


def test_date_traps(facts, sources):
    for source in facts["traps"]["no_date"]:
        message = parse(sources.raw(source))
        assert message["Date"] is None and message["Received"]
    for source in facts["traps"]["no_date_no_received"]:
        assert ".mbox:" in source
        message = parse(sources.raw(source))
        assert message["Date"] is None and message["Received"] is None
    comments = sum(1 for source in facts["traps"]["no_message_id"] if parse(sources.raw(source))["Message-ID"] is None)
    assert comments == len(facts["traps"]["no_message_id"]) > 0


def test_header_encoding_traps(facts, sources):
    for source in facts["traps"]["split_encoded_word"]:
        raw = sources.raw(source)
        folded = re.search(rb"\nSubject: (.*?)\n(?![ \t])", raw, re.S).group(1)
        words = re.findall(rb"=\?UTF-8\?([QB])\?([^?]*)\?=", folded)
        decoded = [email.header.decode_header(f"=?UTF-8?{kind.decode()}?{text.decode()}?=")[0][0]
                   for kind, text in words]
        assert any(_cuts_a_character(piece) for piece in decoded[:-1]), source
        assert "à" in parse(raw)["Subject"]
    assert facts["traps"]["latin1_headers"]
    for source in facts["traps"]["latin1_headers"]:
        subject = re.search(rb"\nSubject: ([^\n]*)", sources.raw(source)).group(1)
        assert not subject.isascii() and b"=?" not in subject
        with pytest.raises(UnicodeDecodeError):
            subject.decode("utf-8")


def _cuts_a_character(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_copies_of_each_channel_look_the_way_the_contract_describes(truth, sources):
    seen = set()
    for row in truth:
        if row["category"] != "lead" or row["channel"] in seen or row["duplicate_of"]:
            continue
        seen.add(row["channel"])
        message = parse(sources.raw(row["source"]))
        tracked = message["Delivered-To"]
        recipients = f"{message['To']} {message['Cc'] or ''}"
        if row["channel"] == "cc":
            assert tracked in recipients
        elif row["channel"] == "redirect":
            assert tracked not in recipients
            assert message["Resent-To"] == tracked or message["X-Forwarded-To"] == tracked
        elif row["channel"] == "forward":
            assert re.match(r"(TR|Fwd): ", message["Subject"]) and message["To"] == tracked
        elif row["channel"] == "direct":
            assert message["To"] == tracked and "-" in tracked.split("@")[0]
        elif row["channel"] == "distribution":
            assert tracked == "reseau@track.example.net"
    assert seen == CHANNELS
