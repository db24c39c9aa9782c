"""Lead identity independent of the delivery path (issue 11, item 3), as a metamorphic test.

For each original in a real layout (tests/paths.py), every delivery path and every pair of
paths must give exactly one lead: the same lead reaching tracking by CC and by an Outlook on
the web forward (whose Date is in UTC while its ``Envoyé :`` is local time), by a Gmail filter
and an Apple Mail inline forward, and so on. Each combination is a lead of its own (its own
prospect, time and Message-ID), all ingested into one real workspace through the CLI; the
leads it gives are counted from ``emailtrack export messages``. Distinct leads must stay apart.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import pytest

from tests import paths
from tests.conftest import run_cli, write_config


def ingest(folder: Path, cases: dict[str, list[paths.Copy]], timezone: str = "Europe/Paris") -> dict[str, list[dict]]:
    """Write each case's copies (and distribution log rows), ingest them into a new workspace
    in ``timezone``, and return each case's rows of ``export messages``."""
    workspace = folder / "ws"
    write_config(workspace, paths.config(timezone))
    mail = folder / "mail"
    mail.mkdir()
    log_rows = []
    for case, case_copies in cases.items():
        for i, copy in enumerate(case_copies):
            (mail / f"{case}~{i}-{copy.name}.eml").write_bytes(copy.raw)
            if copy.log_row:
                log_rows.append(copy.log_row)
    result = run_cli("--workspace", workspace, "ingest", mail)
    assert result.code == 0, result.err
    if log_rows:
        log = folder / "distribution.csv"
        with open(log, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(log_rows[0]))
            writer.writeheader()
            writer.writerows(log_rows)
        result = run_cli("--workspace", workspace, "ingest", log, "--kind", "distribution")
        assert result.code == 0, result.err
    result = run_cli("--workspace", workspace, "export", "messages")
    assert result.code == 0, result.err
    by_case = defaultdict(list)
    for row in csv.DictReader(io.StringIO(result.out)):
        by_case[Path(row["source"]).name.split("~")[0]].append(row)
    assert set(by_case) == set(cases)
    return by_case


def leads_of(rows: list[dict]) -> set[str]:
    return {row["lead_key"] for row in rows if row["lead_key"]}


def path_cases() -> dict[str, list[paths.Copy]]:
    cases = {}
    n = 0
    for layout in paths.LAYOUTS:
        for combo in paths.combinations():
            cases[f"{layout}-{n:04d}-{'+'.join(combo)}"] = paths.copies(layout, n, combo)
            n += 1
    return cases


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    cases = path_cases()
    return cases, ingest(tmp_path_factory.mktemp("paths"), cases)


def test_every_path_and_pair_of_paths_gives_one_lead(delivered):
    cases, by_case = delivered
    not_leads = sorted(f"{case} {row['channel']} {row['category']}" for case, rows in by_case.items()
                       for row in rows if row["category"] != "lead")
    split = sorted(case for case, rows in by_case.items() if len(leads_of(rows)) > 1)
    assert not_leads == [], f"{len(not_leads)} copies not counted as a lead: {not_leads[:20]}"
    assert split == [], f"{len(split)} of {len(cases)} leads split: {split}"


def test_distinct_leads_across_paths_stay_apart(delivered):
    """Every combination is a different prospect: none may be merged with another."""
    cases, by_case = delivered
    owners = defaultdict(set)
    for case, rows in by_case.items():
        for key in leads_of(rows):
            owners[key].add(case)
    merged = sorted(cases for cases in map(sorted, owners.values()) if len(cases) > 1)
    assert merged == []


ALL_PATHS = tuple(paths.PATHS)


@pytest.fixture(scope="module")
def neighbours(tmp_path_factory):
    """Per layout, leads that share all but one thing, each sent through every path at once:
    two prospects about one listing in the same minute; one prospect about two listings a day
    apart, and two hours apart to the minute (within the whole-hour tolerance of forwards)."""
    cases = {}
    for i, layout in enumerate(paths.LAYOUTS):
        n = 900 + 10 * i
        when = paths.instance_time(n)
        two_hours = paths.dt.timedelta(hours=2)
        cases[f"{layout}-same-minute-a"] = paths.copies(layout, n, ALL_PATHS, who=n, when=when)
        cases[f"{layout}-same-minute-b"] = paths.copies(layout, n, ALL_PATHS, who=n + 1, when=when)
        cases[f"{layout}-next-day-a"] = paths.copies(layout, n + 2, ALL_PATHS, who=n + 2, when=when)
        cases[f"{layout}-next-day-b"] = paths.copies(layout, n + 3, ALL_PATHS, who=n + 2,
                                                     when=when + paths.dt.timedelta(days=1))
        cases[f"{layout}-two-hours-a"] = paths.copies(layout, n + 4, ALL_PATHS, who=n + 4, when=when)
        cases[f"{layout}-two-hours-b"] = paths.copies(layout, n + 5, ALL_PATHS, who=n + 4, when=when + two_hours)
    return cases, ingest(tmp_path_factory.mktemp("neighbours"), cases)


def test_two_prospects_in_the_same_minute_about_one_listing_stay_two_leads(neighbours):
    cases, by_case = neighbours
    for layout in paths.LAYOUTS:
        a, b = by_case[f"{layout}-same-minute-a"], by_case[f"{layout}-same-minute-b"]
        assert len(a) == len(b) == len(ALL_PATHS)
        assert len(leads_of(a)) == len(leads_of(b)) == 1, layout  # every path at once: one lead each
        assert leads_of(a) != leads_of(b), layout


def test_one_prospect_about_two_listings_a_day_or_two_hours_apart_stays_two_leads(neighbours):
    cases, by_case = neighbours
    for layout in paths.LAYOUTS:
        for gap in ("next-day", "two-hours"):
            a, b = by_case[f"{layout}-{gap}-a"], by_case[f"{layout}-{gap}-b"]
            assert len(leads_of(a)) == len(leads_of(b)) == 1, (layout, gap)
            assert leads_of(a) != leads_of(b), (layout, gap)


def test_outlook_on_the_web_forward_read_in_the_workspace_zone_far_from_utc(tmp_path):
    """An agency on La Réunion (UTC+4): Exchange stamps the forward's Date in UTC, ``Envoyé :``
    is local time, four hours from what it was read as, beyond the whole-hour tolerance: only
    the workspace's zone links it to the CC copy (HTML-only layouts too, whose bodies differ)."""
    reunion = paths.ZoneInfo("Indian/Reunion")
    cases = {f"{layout}-{n}": paths.copies(layout, n, ("cc", "owa_fr", "owa_en"), agency_zone=reunion)
             for n, layout in enumerate(paths.LAYOUTS)}
    by_case = ingest(tmp_path, cases, timezone="Indian/Reunion")
    assert {case: len(leads_of(rows)) for case, rows in by_case.items()} == {case: 1 for case in cases}


@pytest.mark.parametrize("path, zone, hours_off", [
    ("outlook_fr", "forward", 0),  # the forward's Date in local time: read in its offset
    ("owa_fr", "utc", 2),          # Exchange's Date in UTC: local time read as UTC (summer: 2 h off)
    ("gmail_en", "forward", 0),
    ("apple_fr", "text", 0),       # Apple Mail writes the zone ("UTC+2")
    ("attachment", "text", 0),     # the original's own Date
    ("cc", None, 0),
])
def test_forward_header_time_says_what_zone_it_was_read_in(path, zone, hours_off):
    from emailtrack_analytics.ingest.parsing.message import parse_message
    when = paths.dt.datetime(2026, 5, 4, 13, 48, 11, tzinfo=paths.UTC)  # 15:48 in Paris
    (copy,) = paths.copies("seloger", 7, (path,), when=when)
    record = parse_message(copy.raw)
    assert record.date_zone == zone
    got = record.received_at.replace(tzinfo=paths.UTC).replace(second=0)
    assert got - when.replace(second=0) == paths.dt.timedelta(hours=hours_off)


def test_exchange_forward_time_is_read_in_the_workspace_zone_in_summer_and_winter():
    from emailtrack_analytics.attribution.identity import lead_time
    summer, winter = paths.dt.datetime(2026, 5, 4, 15, 48), paths.dt.datetime(2026, 1, 5, 15, 48)
    assert lead_time(summer, "forward_header", "utc", "Europe/Paris") == paths.dt.datetime(2026, 5, 4, 13, 48)
    assert lead_time(winter, "forward_header", "utc", "Europe/Paris") == paths.dt.datetime(2026, 1, 5, 14, 48)
    assert lead_time(summer, "forward_header", "forward", "Europe/Paris") == summer  # read in the forward's offset
    assert lead_time(summer, "date", None, "Europe/Paris") == summer


def test_exchange_forward_alone_counts_in_the_month_and_hour_it_was_sent(tmp_path):
    """A lead whose only copy is an Outlook on the web forward, sent at 23:30 in Paris on the last
    day of October: its local time, read as UTC, fell at 00:30 on 1 November (month 2026-11)."""
    when = paths.dt.datetime(2026, 10, 31, 22, 30, 5, tzinfo=paths.UTC)  # 23:30 in Paris (winter time)
    by_case = ingest(tmp_path, {"late": paths.copies("seloger", 3, ("owa_fr",), when=when)})
    (row,) = by_case["late"]
    assert (row["category"], row["month"]) == ("lead", "2026-10")
    leads = run_cli("--workspace", tmp_path / "ws", "export", "leads")
    (lead,) = list(csv.DictReader(io.StringIO(leads.out)))
    assert lead["month"] == "2026-10"


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Sydney"])
def test_python_and_sql_read_a_repeated_or_skipped_hour_alike(zone):
    """The copy's month and hour (identity.lead_time, Python) and its linking (lead_references,
    DuckDB) read an Exchange forward's local time; at a change of clocks they disagreed by an
    hour, so marks without the whole-hour tolerance failed to link."""
    import duckdb

    from emailtrack_analytics.attribution.identity import lead_time
    con = duckdb.connect()
    times = [paths.dt.datetime(2026, 1, 1, hour, 30) + paths.dt.timedelta(days=day)
             for day in range(365) for hour in (0, 1, 2, 3)]
    sql = [row[0] for row in con.execute(
        "SELECT timezone('UTC', timezone(?, t)) FROM unnest(?::TIMESTAMP[]) AS u(t)", [zone, times]).fetchall()]
    assert [lead_time(t, "forward_header", "utc", zone) for t in times] == sql


# A form whose every lead starts with the same long text: the body's first words are no mark of
# one lead (review of issue 11: two prospects 30 s apart were one lead).
PREAMBLE = ("Bonjour, ce message vous est transmis par le service de mise en relation de votre "
            "portail immobilier. Merci de recontacter la personne ci-dessous dans les meilleurs délais : "
            "les demandes traitées dans l'heure aboutissent trois fois plus souvent à une visite. ") * 2


def preamble_lead(who: int, when, message_id: str):
    p = paths.prospect(who + 7000)
    text = f"{PREAMBLE}\n\nNom : {p.name}\nEmail : {p.email}\nTéléphone : {p.phone}\n"
    return paths.Original("figaro", "Figaro Immobilier", "contact@immobilier.lefigaro.fr",
                          "Figaro Immobilier vous adresse un contact - Annonce F-1", message_id,
                          when.astimezone(paths.PARIS), text, None, {}, p)


def test_different_message_ids_under_a_common_preamble_stay_two_leads(tmp_path):
    when = paths.dt.datetime(2026, 5, 4, 13, 48, 0, tzinfo=paths.UTC)
    minutes = paths.dt.timedelta(minutes=1)

    def lead(who: int, at):
        return preamble_lead(who, at, f"<lead-{who}@immobilier.lefigaro.fr>")

    # each case its own leads (a copy in two cases would be stored once, under the first)
    by_case = ingest(tmp_path, {
        "two-cc": [paths.cc_copy(lead(1, when), paths.TRACKED, 1),
                   paths.cc_copy(lead(2, when + paths.dt.timedelta(seconds=30)), paths.TRACKED, 2)],
        # another prospect an hour later, only through an Outlook on the web forward: its body's
        # mark at whole-hour offsets meets the first lead's; its prospect marks do not
        "cc-and-another-forwarded": [paths.cc_copy(lead(3, when + 10 * minutes), paths.TRACKED, 3),
                                     paths.owa_fr(lead(4, when + 70 * minutes), None, 4)],
        # the same lead both ways is still one
        "same-lead-two-paths": [paths.cc_copy(lead(5, when + 200 * minutes), paths.TRACKED, 5),
                                paths.owa_fr(lead(5, when + 200 * minutes), None, 6)],
    })
    assert {case: len(leads_of(rows)) for case, rows in by_case.items()} == {
        "two-cc": 2, "cc-and-another-forwarded": 2, "same-lead-two-paths": 1}
