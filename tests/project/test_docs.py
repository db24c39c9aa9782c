"""Documentation does not drift from the code: commands, tables and the catalogue."""

from __future__ import annotations

import argparse
import json
import re

from emailtrack_analytics.cli import build_parser
from emailtrack_analytics.config.catalogue import builtin_portal_ids
from emailtrack_analytics.ops.exports import TABLE_NAMES
from emailtrack_analytics.store.db import VIEW_FOLDERS
from tests.conftest import ROOT

CONTRACT_PORTALS = {"seloger", "leboncoin", "bienici", "logicimmo", "pap", "figaro", "greenacres",
                    "lacentrale", "autoscout24", "paruvendu"}


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name, sub in commands().items():
        assert sub.description, f"{name} has no description"
        assert f"emailtrack {name}" in readme, f"README does not mention 'emailtrack {name}'"
        for action in sub._actions:
            if action.option_strings and action.dest not in ("help",):
                assert action.help, f"{name} {action.option_strings} has no help text"


def test_readme_starts_with_the_two_commands():
    lines = [l for l in (ROOT / "README.md").read_text().splitlines() if l.strip()]
    block = "\n".join(lines[:5])
    assert "make demo" in block and "make test" in block


def test_every_export_table_is_documented():
    exports = (ROOT / "docs" / "exports.md").read_text()
    for table in TABLE_NAMES:
        assert f"`{table}`" in exports


def test_catalogue_has_every_contract_portal():
    assert CONTRACT_PORTALS <= builtin_portal_ids()
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    for portal in CONTRACT_PORTALS:
        assert f"`{portal}`" in configuration


def test_docs_links_resolve():
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_notebooks_are_committed_clean():
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3", path.name
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb["cells"] if c["cell_type"] == "code"), f"{path.name} has outputs"
        assert any("parameters" in c["metadata"].get("tags", []) for c in nb["cells"]), path.name


def test_architecture_names_every_module_subpackage_and_view():
    """ARCHITECTURE.md once described an algorithm production no longer used and left out ~20
    modules: it must name every folder of the package, every module, and every SQL view."""
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    package = ROOT / "emailtrack_analytics"
    for folder in sorted(p for p in package.rglob("*") if p.is_dir() and "__" not in p.name):
        name = folder.relative_to(package).as_posix()
        assert f"`{name}/`" in page or f"`{folder.name}/`" in page, f"ARCHITECTURE.md misses {name}/"
    for module in sorted(package.rglob("*.py")):
        if module.name != "__init__.py":
            assert f"`{module.name}`" in page, f"ARCHITECTURE.md misses {module.relative_to(package)}"
    for parts in VIEW_FOLDERS:
        for sql in sorted(package.joinpath(*parts).glob("*.sql")):
            for view in re.findall(r"CREATE OR REPLACE VIEW (\w+)", sql.read_text()):
                assert f"`{view}`" in page, f"ARCHITECTURE.md misses the view {view} ({sql.name})"
