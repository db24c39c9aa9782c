"""emailtrack senders: unrecognised senders by volume, a suggested portal, TOML that fixes them."""

from __future__ import annotations

import json

from tests import layouts
from tests.conftest import BASIC_CONFIG, write_config

TRACKED = "lyon2@track.example.net"
DRIFTED = b"pro-mailer.example-esp.com>"


def _workspace(tmp_path, cli, extra_config: str = ""):
    root = tmp_path / "ws"
    write_config(root, BASIC_CONFIG + extra_config)
    folder = root / "in"
    folder.mkdir()
    for i in range(3):  # SeLoger moved its leads to another sending platform
        raw = layouts.seloger_nmp1(cc=TRACKED, name=f"Prospect {i}", email=f"prospect{i}@example.org",
                                   message_id=f"<drift-{i}@pro-mailer.example-esp.com>")
        (folder / f"drift-{i}.eml").write_bytes(raw.replace(b"myselogerpro.nmp1.com>", DRIFTED))
    (folder / "seloger.eml").write_bytes(layouts.seloger_nmp1(cc=TRACKED))
    (folder / "newportal.eml").write_bytes(layouts.notice(
        ("Immo Nouveau", "contact@immo-nouveau.example"), "Nouveau contact pour votre annonce AB-12",
        "Nom : Lou Bernard\nTéléphone : 06 12 34 56 78\n", to=TRACKED, message_id="<n1@immo-nouveau.example>"))
    (folder / "person.eml").write_bytes(layouts.notice(
        ("Jeanne Prospect", "jeanne.prospect@gmail.com"), "Question sur la maison de Jeanne Prospect",
        "Bonjour, est-elle encore à vendre ?\n", to=TRACKED, message_id="<p1@mail.gmail.com>"))
    assert cli("--workspace", str(root), "ingest", str(folder)).code == 0
    return root


def test_senders_lists_by_volume_with_a_suggested_portal_and_the_toml(tmp_path, cli):
    root = _workspace(tmp_path, cli)
    result = cli("--workspace", str(root), "senders", "--format", "json")
    assert result.code == 0, result.err
    groups = {g["domain"]: g for g in json.loads(result.out)}
    assert list(groups) == ["pro-mailer.example-esp.com", "immo-nouveau.example", "gmail.com"]
    drift = groups["pro-mailer.example-esp.com"]
    assert (drift["copies"], drift["reasons"], drift["suggested_portal"]) == (3, "3 new_sender", "seloger")
    assert drift["toml"] == '[[portals]]\nid = "seloger"\nextra_senders = ["@pro-mailer.example-esp.com"]'
    assert drift["sample_subjects"] == "Un acquéreur est intéressé par un de vos biens"
    new = groups["immo-nouveau.example"]
    assert new["suggested_portal"] == "" and 'senders = ["@immo-nouveau.example"]' in new["toml"]


def test_people_writing_from_webmail_stay_pseudonymous(tmp_path, cli):
    root = _workspace(tmp_path, cli)
    text = cli("--workspace", str(root), "senders").out
    assert "jeanne.prospect" not in text and "Jeanne Prospect" not in text
    assert "@gmail.com" in text and "a webmail domain" in text
    clear = cli("--workspace", str(root), "senders", "--personal-data").out
    assert "jeanne.prospect@gmail.com" in clear


def test_pasting_the_suggested_toml_makes_the_sender_known(tmp_path, cli):
    root = _workspace(tmp_path, cli)
    groups = json.loads(cli("--workspace", str(root), "senders", "--format", "json").out)
    toml = next(g["toml"] for g in groups if g["domain"] == "pro-mailer.example-esp.com")
    with open(root / "emailtrack.toml", "a", encoding="utf-8") as config:
        config.write("\n" + toml + "\n")
    after = json.loads(cli("--workspace", str(root), "senders", "--format", "json").out)
    assert "pro-mailer.example-esp.com" not in {g["domain"] for g in after}
    leads = cli("--workspace", str(root), "export", "leads").out.strip().splitlines()
    assert len(leads) - 1 == 4  # the three drifted leads and the one from the listed platform


def test_month_filter_and_nothing_to_report(tmp_path, cli):
    root = _workspace(tmp_path, cli)
    result = cli("--workspace", str(root), "senders", "--month", "2020-01")
    assert result.code == 0 and "nothing to add" in result.out
