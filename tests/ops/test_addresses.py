"""``emailtrack addresses add``: a new tracked address, written into emailtrack.toml keeping it as it was."""

from __future__ import annotations

import csv
import difflib
import io
import re

import pytest

from emailtrack_analytics.config.workspace import CONFIG_TEMPLATE, open_workspace
from emailtrack_analytics.errors import UsageError
from emailtrack_analytics.ops.addresses import add_tracked_address
from tests.builders import lead
from tests.conftest import BASIC_CONFIG, run_cli, write_config

TRACKING = """\
# the tracking service's domain
[tracking]
domain = "Trk.Example.net"   # upper case on purpose: addresses are lower case
"""
# lyon-2's list carries a comment, paris-11's is written over several lines
COMMENTED = TRACKING + BASIC_CONFIG.replace(
    'tracked_addresses = ["lyon2@track.example.net"]',
    'tracked_addresses = ["lyon2@track.example.net"]   # issued in 2024').replace(
    'tracked_addresses = ["paris11@track.example.net"]',
    'tracked_addresses = [\n    "paris11@track.example.net",  # the first one\n]')
ISSUED = re.compile(r"^(?P<pos>[a-z0-9-]+)-(?P<portal>[a-z0-9-]+)-[a-z2-9]{6}@trk\.example\.net$")


@pytest.fixture
def ws(tmp_path):
    folder = tmp_path / "ws"
    write_config(folder, COMMENTED)
    return folder


def added_and_removed(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return ([line[2:] for line in diff if line.startswith("+ ")],
            [line[2:] for line in diff if line.startswith("- ")])


def test_portal_address_is_a_new_tracked_addresses_entry_and_nothing_else_changes(ws):
    before = (ws / "emailtrack.toml").read_text()
    result = run_cli("-w", ws, "addresses", "add", "--point-of-sale", "paris-11", "--portal", "pap")
    assert result.code == 0, result.err
    address = result.out.strip()
    assert ISSUED.match(address).group("pos", "portal") == ("paris-11", "pap")
    added, removed = added_and_removed(before, (ws / "emailtrack.toml").read_text())
    assert removed == []
    assert added == ["", "[[tracked_addresses]]", f'address = "{address}"', 'point_of_sale = "paris-11"',
                     'portal = "pap"']
    assert any(t.address == address and t.point_of_sale == "paris-11" and t.portal == "pap"
               for t in open_workspace(ws).tracked_addresses)


def test_address_for_every_portal_joins_the_list_keeping_its_comment(ws):
    before = (ws / "emailtrack.toml").read_text()
    result = run_cli("-w", ws, "addresses", "add", "--point-of-sale", "lyon-2")
    assert result.code == 0, result.err
    address = result.out.strip()
    assert ISSUED.match(address).group("pos", "portal") == ("lyon-2", "all")
    added, removed = added_and_removed(before, (ws / "emailtrack.toml").read_text())
    assert removed == ['tracked_addresses = ["lyon2@track.example.net"]   # issued in 2024']
    assert added == [f'tracked_addresses = ["lyon2@track.example.net", "{address}"]   # issued in 2024']
    assert open_workspace(ws).point_of_sale("lyon-2").tracked_addresses == ("lyon2@track.example.net", address)


def test_address_added_to_a_list_written_over_several_lines_is_one_new_line(ws):
    before = (ws / "emailtrack.toml").read_text()
    result = run_cli("-w", ws, "addresses", "add", "--point-of-sale", "paris-11")
    assert result.code == 0, result.err
    added, removed = added_and_removed(before, (ws / "emailtrack.toml").read_text())
    assert (removed, added) == ([], [f'    "{result.out.strip()}",'])


def test_first_address_of_a_point_of_sale_goes_before_the_commented_examples_that_follow(tmp_path):
    """``emailtrack init`` writes commented examples of the next tables: a key appended after
    them would read as part of the [[portals]] example."""
    folder = tmp_path / "ws"
    template = CONFIG_TEMPLATE.format(name="Réseau").replace("# [tracking]\n# domain", "[tracking]\ndomain")
    text = template.replace("# Your own lead sources", '[[points_of_sale]]\nid = "nice"\n\n# Your own lead sources')
    write_config(folder, text)
    result = run_cli("-w", folder, "addresses", "add", "--point-of-sale", "nice")
    assert result.code == 0, result.err
    after = (folder / "emailtrack.toml").read_text()
    added, removed = added_and_removed(text, after)
    assert removed == [] and added == [f'tracked_addresses = ["{result.out.strip()}"]']
    assert after.index(added[0]) < after.index("# Your own lead sources")


def test_every_address_issued_is_new(ws):
    issued = set()
    for _ in range(5):
        result = run_cli("-w", ws, "addresses", "add", "--point-of-sale", "lyon-2", "--portal", "seloger")
        assert result.code == 0, result.err
        issued.add(result.out.strip())
    assert len(issued) == 5
    assert {t.address for t in open_workspace(ws).tracked_addresses} >= issued


@pytest.mark.parametrize("args, message", [
    (["--point-of-sale", "marseille"], "unknown point of sale 'marseille' (known: lyon-2, paris-11)"),
    (["--point-of-sale", "lyon-2", "--portal", "seloger.fr"], "unknown portal 'seloger.fr'"),
])
def test_unknown_ids_are_refused_and_the_file_is_untouched(ws, args, message):
    before = (ws / "emailtrack.toml").read_text()
    result = run_cli("-w", ws, "addresses", "add", *args)
    assert result.code == 2 and message in result.err
    assert result.out == ""
    assert (ws / "emailtrack.toml").read_text() == before


def test_workspace_portal_is_a_known_portal(ws):
    result = run_cli("-w", ws, "addresses", "add", "--point-of-sale", "lyon-2", "--portal", "site-agence")
    assert result.code == 0, result.err
    assert result.out.startswith("lyon-2-site-agence-")


def test_without_tracking_domain_it_says_what_to_add(tmp_path):
    folder = tmp_path / "ws"
    before = write_config(folder, BASIC_CONFIG).read_text()
    result = run_cli("-w", folder, "addresses", "add", "--point-of-sale", "lyon-2")
    assert result.code == 2
    assert "no [tracking] domain" in result.err and 'domain = "trk.example.net"' in result.err
    assert (folder / "emailtrack.toml").read_text() == before


@pytest.mark.parametrize("taken", ["lyon-2-all-aaaaaa@trk.example.net",   # another point of sale's address
                                   "lyon-2-all-bbbbbb@trk.example.net"])  # someone's mailbox
def test_an_address_already_in_the_configuration_is_never_issued(tmp_path, taken):
    folder = tmp_path / "ws"
    write_config(folder, TRACKING + BASIC_CONFIG.replace(
        '"paris11@track.example.net"', '"paris11@track.example.net", "lyon-2-all-aaaaaa@trk.example.net"').replace(
        '"paris11@agence-exemple.fr"', '"paris11@agence-exemple.fr", "lyon-2-all-bbbbbb@trk.example.net"'))
    before = (folder / "emailtrack.toml").read_text()
    token = taken.split("-")[-1].split("@")[0]
    with pytest.raises(UsageError, match="already in") as refused:
        add_tracked_address(open_workspace(folder), "lyon-2", token=lambda: token)
    assert refused.value.exit_code == 2
    assert (folder / "emailtrack.toml").read_text() == before
    # with a free candidate among the next ones, that one is issued
    candidates = iter([token, token, "cccccc"])
    issued = add_tracked_address(open_workspace(folder), "lyon-2", token=lambda: next(candidates))
    assert issued.address == "lyon-2-all-cccccc@trk.example.net"


def test_the_new_address_attributes_copies_to_its_point_of_sale(ws, tmp_path):
    general = run_cli("-w", ws, "addresses", "add", "--point-of-sale", "paris-11").out.strip()
    for_pap = run_cli("-w", ws, "addresses", "add", "--point-of-sale", "lyon-2", "--portal", "pap").out.strip()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # a Gmail filter's forward of a SeLoger lead, and a lead sent straight to the portal's address
    (inbox / "redirect.eml").write_bytes(lead(top={"Delivered-To": general, "X-Forwarded-To": general}))
    (inbox / "direct.eml").write_bytes(lead(
        sender="contact@unknown-portal-domain.fr", to=for_pap, subject="Demande de visite",
        message_id="<m-2@mail.example.org>", body="Bonjour,\nMerci.\n", top={"Delivered-To": for_pap}))
    result = run_cli("-w", ws, "ingest", inbox, "--workers", "1")
    assert result.code == 0, result.err
    exported = run_cli("-w", ws, "export", "messages")
    rows = {row["source"].rsplit("/", 1)[-1]: row for row in csv.DictReader(io.StringIO(exported.out))}
    assert (rows["redirect.eml"]["point_of_sale"], rows["redirect.eml"]["portal"]) == ("paris-11", "seloger")
    assert (rows["direct.eml"]["point_of_sale"], rows["direct.eml"]["portal"]) == ("lyon-2", "pap")


def test_the_sample_network_issues_addresses_on_its_tracking_domain(tmp_path):
    """`init --sample` declares the domain its tracked addresses are on, so that the set-up commands
    work on the sample as on a real network."""
    assert run_cli("init", tmp_path / "s", "--sample").code == 0
    result = run_cli("--workspace", tmp_path / "s", "addresses", "add", "--point-of-sale", "cassis")
    assert result.code == 0, result.err
    issued = result.out.strip()
    assert re.fullmatch(r"cassis-all-[a-z2-9]{6}@track\.example\.net", issued)
    assert issued in open_workspace(tmp_path / "s").point_of_sale("cassis").tracked_addresses
