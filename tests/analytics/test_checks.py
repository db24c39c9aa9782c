"""Configuration checks: mistakes that used to go unseen (issue 11, item 5), on real ingests."""

from __future__ import annotations

import datetime as dt
import tomllib

import pandas as pd
import pytest

from emailtrack_analytics.analytics import checks
from emailtrack_analytics.api import Analytics
from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.ingest.pipeline import ingest
from tests.builders import lead, mbox
from tests.conftest import BASIC_CONFIG, write_config

NANTES = """
[[points_of_sale]]
id = "nantes-1"
name = "Agence Nantes 1"
tracked_addresses = ["nantes1@track.example.net"]
mailboxes = ["nantes1@agence-exemple.fr"]
"""
TYPO = "nantes@track.example.net"   # the forwarding rule's address: "1" left out


def gmail_forward(n: int, day: dt.date, to_mailbox: str, forwarded_to: str) -> bytes:
    """A SeLoger lead that the point of sale's Gmail filter forwarded (original kept, DOMAIN.md)."""
    return lead(message_id=f"<typo-{n}@lead.seloger.com>", to=to_mailbox, body=f"Prospect {n} s'intéresse à ce bien.\n",
                date=f"{day:%a, %d %b %Y} 10:{n % 60:02d}:00 +0100",
                top={"Delivered-To": forwarded_to, "X-Forwarded-To": forwarded_to,
                     "X-Forwarded-For": f"{to_mailbox} {forwarded_to}"})


def cc_lead(n: int, day: dt.date, tracked: str) -> bytes:
    return lead(message_id=f"<cc-{n}@lead.seloger.com>", cc=tracked, body=f"Prospect cc {n}\n",
                date=day.strftime("%a, %d %b %Y 11:00:00 +0100"))


@pytest.fixture
def typo_workspace(tmp_path):
    """Nantes 1's Gmail filter forwards to nantes@ instead of its tracked nantes1@ (12 leads in
    March); Lyon 2 and Paris 11 copy their tracked addresses on the portal, correctly."""
    folder = tmp_path / "ws"
    write_config(folder, BASIC_CONFIG + NANTES)
    start = dt.date(2026, 3, 2)
    messages = [gmail_forward(n, start + dt.timedelta(days=n), "nantes1@agence-exemple.fr", TYPO) for n in range(12)]
    messages += [cc_lead(n, start + dt.timedelta(days=n % 28), "lyon2@track.example.net") for n in range(30)]
    messages += [cc_lead(100 + n, start + dt.timedelta(days=n % 28), "paris11@track.example.net") for n in range(30)]
    (tmp_path / "tracking.mbox").write_bytes(mbox(*messages))
    ingest(open_workspace(folder), [tmp_path / "tracking.mbox"], workers=1)
    return folder


def found(folder):
    workspace = open_workspace(folder)
    data = Analytics(workspace)
    return checks.find_checks(data.sql, workspace), data


def test_copies_at_a_mistyped_forwarding_address_are_named_with_the_line_to_add(typo_workspace, cli):
    result, data = found(typo_workspace)
    (check,) = [c for c in result if c.kind == "unclaimed_address"]
    assert (check.address, check.count, check.point_of_sale) == (TYPO, 12, "nantes-1")
    assert check.nearest_address == "nantes1@track.example.net"
    assert "nantes1@track.example.net (1 character away)" in check.fix
    # the line to add is TOML that, once added, claims the address for the right point of sale
    assert tomllib.loads(check.toml) == {"tracked_addresses": [{"address": TYPO, "point_of_sale": "nantes-1"}]}
    # what the user saw before: the point of sale received 12 leads and tracked none
    coverage = data.sql("SELECT expected, tracked FROM coverage WHERE point_of_sale = 'nantes-1'")
    assert (int(coverage["expected"].sum()), int(coverage["tracked"].sum())) == (12, 0)
    (mailbox,) = [c for c in result if c.kind == "mailbox_not_tracked"]
    assert (mailbox.point_of_sale, mailbox.count) == ("nantes-1", 12) and TYPO in mailbox.fix

    status = cli("--workspace", typo_workspace, "status")
    assert status.code == 0, status.err
    assert f"unclaimed address: {TYPO}: 12 copies (12 leads)" in status.out
    assert f'address = "{TYPO}"' in status.out and 'point_of_sale = "nantes-1"' in status.out

    # the fix works: with the line added, the copies are Nantes 1's tracked leads and the check goes
    config = typo_workspace / "emailtrack.toml"
    config.write_text(config.read_text() + "\n" + check.toml + "\n")
    result, data = found(typo_workspace)
    assert [c for c in result if c.kind in ("unclaimed_address", "mailbox_not_tracked")] == []
    assert data.sql("SELECT count(*) AS n FROM leads WHERE point_of_sale = 'nantes-1'")["n"].iloc[0] == 12

    assert check.counted and "counted as nantes-1's own mailbox copies" in check.detail


def test_an_unclaimed_address_whose_copies_no_point_of_sale_received_is_not_said_to_count(tmp_path):
    """The portal copies a mistyped tracked address (lyon@ for lyon2@) and nothing on the copies
    names Lyon 2's mailbox: the check suggests Lyon 2 (the nearest address) but its copies count
    for nobody, and the status and the health report say so."""
    from emailtrack_analytics.reports.health import check_evidence
    folder = tmp_path / "ws"
    write_config(folder, BASIC_CONFIG)
    start = dt.date(2026, 3, 2)
    messages = [lead(message_id=f"<cc-{n}@lead.seloger.com>", to="contact@agence-sans-nom.fr",
                     cc="lyon@track.example.net", body=f"Prospect cc {n}\n",
                     date=(start + dt.timedelta(days=n)).strftime("%a, %d %b %Y 11:00:00 +0100"))
                for n in range(4)]
    messages += [cc_lead(100 + n, start + dt.timedelta(days=n), "paris11@track.example.net") for n in range(5)]
    (tmp_path / "t.mbox").write_bytes(mbox(*messages))
    ingest(open_workspace(folder), [tmp_path / "t.mbox"], workers=1)
    result, data = found(folder)
    (check,) = [c for c in result if c.kind == "unclaimed_address"]
    assert (check.address, check.count, check.point_of_sale) == ("lyon@track.example.net", 4, "lyon-2")
    assert data.sql("SELECT count(*) AS n FROM leads WHERE point_of_sale = 'lyon-2'")["n"].iloc[0] == 0
    assert not check.counted
    assert "counted as" not in check.detail
    assert "counted for no point of sale (the nearest claimed address, lyon2@track.example.net, is lyon-2's)" \
        in check.detail
    assert check_evidence(check, "en", {"lyon-2": "Lyon 2"}).endswith(
        "; counted for no point of sale (the nearest claimed address, lyon2@track.example.net, is Lyon 2's)")
    assert "comptées pour aucun point de vente" in check_evidence(check, "fr", {})


def test_an_address_on_the_tracking_domain_counts_before_any_address_of_it_is_claimed(tmp_path):
    """[tracking] domain: the service's domain, even when no configured address is on it yet."""
    folder = tmp_path / "ws"
    write_config(folder, BASIC_CONFIG + '\n[tracking]\ndomain = "trk.example.org"\n')
    start = dt.date(2026, 3, 2)
    messages = [gmail_forward(n, start + dt.timedelta(days=n), "paris11@agence-exemple.fr", "paris-11@trk.example.org")
                for n in range(3)]
    messages += [cc_lead(n, start + dt.timedelta(days=n), "lyon2@track.example.net") for n in range(5)]
    (tmp_path / "t.mbox").write_bytes(mbox(*messages))
    ingest(open_workspace(folder), [tmp_path / "t.mbox"], workers=1)
    result, _ = found(folder)
    (check,) = [c for c in result if c.kind == "unclaimed_address"]
    assert (check.address, check.count, check.point_of_sale) == ("paris-11@trk.example.org", 3, "paris-11")
    assert check.nearest_address is None and "correct the rule" not in check.fix
    assert checks.tracking_domains(open_workspace(folder)) == ["track.example.net", "trk.example.org"]


def test_a_bare_domain_from_an_x_forwarded_for_list_is_no_address(typo_workspace):
    # "X-Forwarded-For: mailbox tracked" is read with a bare "@track.example.net" among the
    # addresses: it is nobody's address and must not be reported as one
    _, data = found(typo_workspace)
    bare = data.sql("SELECT count(*) AS n FROM stored_messages WHERE list_contains(forwarded_to, '@track.example.net')")
    listed = data.sql("SELECT count(*) AS n FROM copy_recipients WHERE address = '@track.example.net'")
    assert listed["n"].iloc[0] == 0
    assert bare["n"].iloc[0] in (0, 12)  # (0 once the header parser splits such lists right)


def test_the_sample_has_no_false_alarm_and_finds_its_two_dead_points_of_sale(sample_workspace, cli):
    """The sample's healthy points of sale raise nothing; of its planted failures, the checks see
    the forwarding rule that stopped and the agency that never set tracking up (the others lose
    a share of their leads, which is the health report's coverage and alerts)."""
    from emailtrack_analytics.demo.sample import FAILURES
    workspace = open_workspace(sample_workspace)
    result = checks.find_checks(Analytics(workspace).sql, workspace)
    assert {(c.kind, c.point_of_sale) for c in result} == {
        ("silent_point_of_sale", FAILURES["forwarding_stopped"]), ("silent_point_of_sale", FAILURES["never_forwards"])}
    stopped = next(c for c in result if c.point_of_sale == FAILURES["forwarding_stopped"])
    last = Analytics(workspace).sql("SELECT max(local_date) AS d FROM leads WHERE point_of_sale = ?",
                                    [FAILURES["forwarding_stopped"]])["d"].iloc[0]
    assert stopped.since == pd.Timestamp(last).date() and stopped.count > 100
    status = cli("--workspace", sample_workspace, "status")
    assert "checks     2 configuration problems" in status.out
    assert f"{FAILURES['never_forwards']}: no lead ever reached tracking" in status.out


def test_a_healthy_workspace_says_so(tmp_path, cli):
    folder = tmp_path / "ws"
    write_config(folder, BASIC_CONFIG)
    start = dt.date(2026, 3, 2)
    messages = [cc_lead(n, start + dt.timedelta(days=n % 20), "lyon2@track.example.net") for n in range(20)]
    messages += [cc_lead(50 + n, start + dt.timedelta(days=n % 20), "paris11@track.example.net") for n in range(20)]
    (tmp_path / "t.mbox").write_bytes(mbox(*messages))
    ingest(open_workspace(folder), [tmp_path / "t.mbox"], workers=1)
    status = cli("--workspace", folder, "status")
    assert "checks     no configuration problem found" in status.out


@pytest.mark.parametrize("table, message", [
    ('[tracking]\ndomain = "@trk.example.org"\n', 'emailtrack.toml:{line}: tracking.domain: \'@trk.example.org\' is not a valid value'),
    ('[tracking]\ndomains = "trk.example.org"\n', "emailtrack.toml:{line}: tracking.domains: unknown key (allowed: domain)"),
])
def test_a_wrong_tracking_table_is_refused_with_its_line_and_key(tmp_path, cli, table, message):
    folder = tmp_path / "ws"
    write_config(folder, BASIC_CONFIG + "\n" + table)
    line = len((BASIC_CONFIG + "\n").splitlines()) + 2   # the key's line, after the [tracking] header
    result = cli("--workspace", folder, "status")
    assert result.code == 2
    assert message.format(line=line) in result.err
