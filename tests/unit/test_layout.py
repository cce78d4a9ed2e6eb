"""The package layout stays true: imports run app → stages → core, with no cycles.

Read from the source (every module's syntax tree, lazy and type-checking imports included), so
a new upward import or cycle fails here before it reaches anyone. The notebooks import only
the public names (`__all__`) of a package, never a package's internals.
"""

from __future__ import annotations

import ast
import importlib
import json
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "runbook_lib"
CORE, APP = "core", "app"
STAGES = ("prepare", "migrate", "validate", "troubleshoot", "cutover", "bench", "operate")
# Which stage may use which other stage (through that package's __init__ only).
ALLOWED = {
    "cutover": {"migrate", "validate"},
    "bench": {"migrate", "validate"},
    "operate": {"migrate", "validate", "cutover"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LIB.rglob("*.py"))}
PACKAGES = {module_name(p) for p in LIB.rglob("__init__.py")}


def package_of(module: str) -> str:
    """'runbook_lib.migrate.steps' → 'migrate'; the top-level facade → 'root'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "root"


def layer(package: str) -> int:
    return 0 if package == CORE else 1 if package in STAGES else 2


def imports(module: str) -> list[tuple[str, list[str], int]]:
    """(target module, names, line) for every import of a runbook_lib module in `module`."""
    path = MODULES[module]
    here = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names
                      if a.name.startswith("runbook_lib")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("runbook_lib"):
                continue
            plain = []
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                if f"{target}.{alias.name}" in MODULES:
                    found.append((f"{target}.{alias.name}", [], node.lineno))
                else:
                    plain.append(alias.name)
            if plain:
                found.append((target, plain, node.lineno))
    return found


def edges() -> dict[str, list[tuple[str, list[str], int]]]:
    return {m: imports(m) for m in MODULES}


def layout_problems(graph: dict) -> list[str]:
    problems = []
    for module, targets in graph.items():
        src = package_of(module)
        for target, names, line in targets:
            dst = package_of(target)
            where = f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}"
            if dst == src:
                continue
            if dst == "root" or layer(dst) > layer(src):
                problems.append(f"{where}: upward ({src} → {dst})")
            elif src in STAGES and dst in STAGES:
                if dst not in ALLOWED.get(src, set()):
                    problems.append(f"{where}: stage {src} may not use stage {dst}")
                elif target != f"runbook_lib.{dst}":
                    problems.append(f"{where}: another stage's internals; import its "
                                    f"public names from runbook_lib.{dst}")
                else:
                    public = importlib.import_module(target).__all__
                    problems += [f"{where}: {n} is not in its __all__" for n in names
                                 if n not in public]
    return problems


def cycles(graph: dict, key=lambda m: m) -> str | None:
    order = TopologicalSorter()
    for module, targets in graph.items():
        order.add(key(module), *(key(t) for t, _, _ in targets if key(t) != key(module)))
    try:
        order.prepare()
    except CycleError as exc:
        return " → ".join(exc.args[1])
    return None


def test_the_packages_are_the_stages():
    packages = sorted(p.name for p in LIB.iterdir() if (p / "__init__.py").exists())
    assert packages == sorted([CORE, APP, *STAGES])
    assert not [p.name for p in LIB.glob("*.py") if p.name != "__init__.py"], \
        "modules belong in a package"


def test_imports_run_app_to_stages_to_core():
    assert layout_problems(edges()) == []


def test_no_import_cycles():
    graph = edges()
    assert cycles(graph) is None, "module cycle"
    assert cycles(graph, package_of) is None, "package cycle"


def test_the_check_catches_an_upward_import_and_a_cycle():
    graph = edges()
    graph["runbook_lib.core.db"].append(("runbook_lib.migrate.steps", ["Migration"], 1))
    assert any("upward (core → migrate)" in p for p in layout_problems(graph))
    assert cycles(graph) is not None
    graph = edges()
    graph["runbook_lib.validate.stage"].append(("runbook_lib.bench.scenarios", ["run"], 1))
    assert any("may not use stage bench" in p for p in layout_problems(graph))


@pytest.mark.parametrize("package", [CORE, APP, *STAGES])
def test_every_package_says_what_it_exports(package):
    mod = importlib.import_module(f"runbook_lib.{package}")
    assert mod.__doc__ and len(mod.__doc__.strip()) > 40
    for name in mod.__all__:
        assert hasattr(mod, name) or f"runbook_lib.{package}.{name}" in MODULES, name
        importlib.import_module(f"runbook_lib.{package}.{name}") \
            if f"runbook_lib.{package}.{name}" in MODULES else getattr(mod, name)


def notebook_code(path: Path) -> ast.Module:
    cells = json.loads(path.read_text())["cells"]
    return ast.parse("\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_use_only_public_names(path):
    tree, bound, problems = notebook_code(path), {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("runbook_lib"):
            owner = importlib.import_module(node.module)
            if node.module.count(".") > 1:
                problems.append(f"{node.module}: a package's internals")
            for alias in node.names:
                package = f"{node.module}.{alias.name}" in PACKAGES
                if not package and alias.name not in owner.__all__:
                    problems.append(f"{alias.name} is not public in {node.module}")
                else:
                    bound[alias.asname or alias.name] = getattr(owner, alias.name, None) or \
                        importlib.import_module(f"{node.module}.{alias.name}")
    for node in ast.walk(tree):  # attributes of an imported module must be public too
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and type(bound.get(node.value.id)).__name__ == "module"):
            public = getattr(bound[node.value.id], "__all__", None)
            if public is None or node.attr not in public:
                problems.append(f"{node.value.id}.{node.attr} is not in its __all__")
    assert problems == []
