"""Every stage notebook keeps the contract: clean, one generated parameters cell, thin cells."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from runbook_lib.app import notebook_tools
from runbook_lib.core.config import PARAMETERS

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PROFILES = sorted((ROOT / "parameters").glob("*.yaml"))
FORBIDDEN = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.AsyncFor,
             ast.While, ast.Try, ast.Lambda)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_stage_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS][:3] == ["00", "01", "02"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_valid_nbformat(path):
    nbformat.validate(read(path))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exactly_one_generated_parameters_cell(path):
    cells = [c for c in read(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    assert cells[0].source == notebook_tools.parameters_source(), \
        "run `python -m runbook_lib.app.notebook_tools sync`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    for cell in code_cells(read(path)):
        assert not cell.outputs and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_contract_cell_first_and_settings_after_parameters(path):
    nb = read(path)
    assert nb.cells[0].cell_type == "markdown"
    assert nb.cells[0].source.startswith("# ")
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    following = [c for c in nb.cells[index + 1:] if c.cell_type == "code"][0]
    assert "load_settings(globals())" in following.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_thin(path):
    for cell in code_cells(read(path)):
        source = "\n".join(line for line in cell.source.splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(node, FORBIDDEN), f"{type(node).__name__} in: {cell.source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_code_cell_follows_markdown(path):
    cells = read(path).cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
            assert cells[i - 1].cell_type == "markdown", cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_last_code_cell_records_the_stage(path):
    codes = [c.source for c in code_cells(read(path))]
    assert any(f'record_stage(settings.run_dir, "{path.stem}"' in s for s in codes[-2:])


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_profile_key_is_a_parameter(profile):
    keys = set(yaml.safe_load(profile.read_text()) or {})
    assert keys <= set(PARAMETERS), keys - set(PARAMETERS)


def test_readme_lists_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert path.name in readme or path.stem in readme, path.name


def test_readme_indexes_every_install_and_provision_check():
    readme = (ROOT / "README.md").read_text()
    sources = (ROOT / "runbook_lib" / "prepare" / "checks.py").read_text() + \
        (ROOT / "runbook_lib" / "prepare" / "provision.py").read_text()
    ids = set(re.findall(r'"((?:PG|DB)0\d\d)"', sources)) - {"DB000"}
    assert ids and not {i for i in ids if i not in readme}


def test_readme_indexes_every_diagnosis():
    from runbook_lib.core import diagnose

    readme = (ROOT / "README.md").read_text()
    assert not [p.id for p in diagnose.CATALOGUE if f"`{p.id}`" not in readme]


def test_environment_yml_mirrors_pyproject_dependencies():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = (ROOT / "environment.yml").read_text().lower()
    names = [re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0].lower() for d in deps]
    assert not [n for n in names if n not in env]
    assert '-e ".[test]"' in env
