"""emailtrack.toml: loading, defaults, and refusals that name the file, the line and the key."""

from __future__ import annotations

import pytest

from emailtrack_analytics.config.workspace import find_workspace, load_config, open_workspace
from emailtrack_analytics.errors import ConfigError, UsageError
from tests.conftest import BASIC_CONFIG, write_config


def test_loads_contract_example(workspace):
    assert workspace.name == "Test network"
    assert workspace.timezone == "Europe/Paris"
    assert workspace.database == workspace.root / "data" / "emailtrack.duckdb"
    assert [p.id for p in workspace.points_of_sale] == ["lyon-2", "paris-11"]
    lyon = workspace.point_of_sale("lyon-2")
    assert lyon.tracked_addresses == ("lyon2@track.example.net",)
    assert lyon.group == "Rhône"
    assert workspace.portals[0].subjects == ("^Demande de contact",)
    distribution = [t for t in workspace.tracked_addresses if t.distribution]
    assert [t.address for t in distribution] == ["reseau@track.example.net"]


def test_defaults_when_workspace_table_is_absent(tmp_path):
    write_config(tmp_path, '[[points_of_sale]]\nid = "a"\n')
    ws = load_config(tmp_path / "emailtrack.toml")
    assert ws.timezone == "Europe/Paris"
    assert ws.name == tmp_path.name
    assert ws.database == tmp_path / "data" / "emailtrack.duckdb"


def test_addresses_are_lower_cased(tmp_path):
    write_config(tmp_path, '[[points_of_sale]]\nid = "a"\ntracked_addresses = ["A@Track.Example.NET"]\n')
    assert load_config(tmp_path / "emailtrack.toml").points_of_sale[0].tracked_addresses == ("a@track.example.net",)


def refusal(tmp_path, body: str) -> ConfigError:
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    return caught.value


def line_of(tmp_path, text: str, occurrence: int = 1) -> int:
    """The 1-based line number of the n-th line of the written config equal to ``text``."""
    lines = (tmp_path / "emailtrack.toml").read_text().splitlines()
    found = [i for i, line in enumerate(lines, 1) if line == text]
    return found[occurrence - 1]


def test_unknown_key_names_file_line_and_key(tmp_path):
    error = refusal(tmp_path, BASIC_CONFIG.replace('group = "Rhône"', 'groupe = "Rhône"'))
    assert error.line == line_of(tmp_path, 'groupe = "Rhône"')
    assert error.key == "points_of_sale[0].groupe"
    assert "unknown key" in str(error)


@pytest.mark.parametrize("table", ["points_of_sale", "portals", "tracked_addresses"])
def test_a_list_of_values_where_tables_belong_is_refused_by_name(tmp_path, table):
    # `points_of_sale = [1]` used to end in a TypeError (exit 1) instead of a config error
    write_config(tmp_path, f'{table} = [1, "x"]\n[workspace]\nname = "n"\n')
    with pytest.raises(ConfigError, match=rf"emailtrack.toml:1: {table}: must be written as \[\[{table}\]\] tables"):
        load_config(tmp_path / "emailtrack.toml")


def test_duplicate_point_of_sale_id(tmp_path):
    body = BASIC_CONFIG.replace('id = "paris-11"', 'id = "lyon-2"')
    error = refusal(tmp_path, body)
    assert error.key == "points_of_sale[1].id"
    assert "duplicate" in error.message
    assert error.line == line_of(tmp_path, 'id = "lyon-2"', occurrence=2)


def test_invalid_regex(tmp_path):
    error = refusal(tmp_path, BASIC_CONFIG.replace('"^Demande de contact"', '"^Demande (de contact"'))
    assert error.key == "portals[0].subjects"
    assert "invalid regex" in error.message


def test_address_claimed_by_two_points_of_sale(tmp_path):
    error = refusal(tmp_path, BASIC_CONFIG.replace('"paris11@track.example.net"', '"lyon2@track.example.net"'))
    assert error.key == "points_of_sale[1].tracked_addresses"
    assert "lyon2@track.example.net is already claimed by point of sale 'lyon-2'" in error.message


def test_unknown_time_zone(tmp_path):
    error = refusal(tmp_path, BASIC_CONFIG.replace('"Europe/Paris"', '"Europe/Lyon"'))
    assert error.key == "workspace.timezone"
    assert error.line == line_of(tmp_path, 'timezone = "Europe/Lyon"')


def test_tracked_address_for_unknown_point_of_sale(tmp_path):
    error = refusal(tmp_path, BASIC_CONFIG.replace('point_of_sale = "lyon-2"', 'point_of_sale = "lyon-3"'))
    assert error.key == "tracked_addresses[0].point_of_sale"


def test_unknown_portal_in_tracked_address(tmp_path):
    error = refusal(tmp_path, BASIC_CONFIG.replace('portal = "seloger"', 'portal = "se-loger"'))
    assert "unknown portal" in error.message


def test_toml_syntax_error_names_line(tmp_path):
    error = refusal(tmp_path, '[workspace]\nname = "x"\ntimezone = \n')
    assert error.line == 3


def test_config_error_is_exit_code_2(tmp_path, cli):
    write_config(tmp_path, '[workspace]\nnmae = "x"\n')
    result = cli("--workspace", tmp_path, "status")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "emailtrack.toml:2: workspace.nmae: unknown key" in result.err


def test_workspace_from_environment(workspace_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("EMAILTRACK_WORKSPACE", str(workspace_dir))
    monkeypatch.chdir(tmp_path)
    assert find_workspace() == workspace_dir
    assert open_workspace().name == "Test network"


def test_unknown_workspace_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("EMAILTRACK_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="emailtrack init"):
        find_workspace()


def test_init_writes_a_valid_commented_config(tmp_path, cli):
    result = cli("init", tmp_path / "new")
    assert result.code == 0, result.err
    text = (tmp_path / "new" / "emailtrack.toml").read_text()
    assert "# [[points_of_sale]]" in text
    assert load_config(tmp_path / "new" / "emailtrack.toml").name == "new"
    again = cli("init", tmp_path / "new")
    assert again.code == 2 and "already exists" in again.err
