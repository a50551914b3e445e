"""The package's layers import one way: interfaces -> experiments -> outputs -> model ->
foundation (schema, records, clock, streams). A module may import its own layer and any
layer below it, never one above."""

from __future__ import annotations

import ast
from pathlib import Path

import sim

PACKAGE = Path(sim.__file__).parent

#: Layer of each top-level module or subpackage, lowest first.
LAYERS: dict[str, int] = {
    "clock": 0, "records": 0, "streams": 0, "parameters": 0, "scenario": 0, "scaling": 0,
    "model": 1,
    "outputs": 2,
    "experiments": 3,
    "cli": 4, "api": 4, "app": 4, "__main__": 4, "__init__": 4, "experiment": 4,
}


def _layer_of(module: str) -> int:
    """Layer of a dotted module name inside ``sim`` (``sim.model.court`` -> model)."""
    parts = module.split(".")
    assert parts[0] == "sim"
    if len(parts) == 1:
        return LAYERS["__init__"]
    return LAYERS[parts[1]]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sim":
                found += [(node.lineno, f"sim.{a.name}") for a in node.names
                          if a.name.split(".")[0] in LAYERS]
            elif node.module.startswith("sim."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("sim.")]
    return found


def test_every_module_has_a_layer() -> None:
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert tops <= set(LAYERS), f"modules without a layer: {sorted(tops - set(LAYERS))}"


def test_no_lower_layer_imports_a_higher_one() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        if name == "sim":  # the package's lazy entry points sit above everything
            continue
        own = _layer_of(name)
        for line, imported in _imports(path):
            if _layer_of(imported) > own:
                violations.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported}")
    assert not violations, "upward imports:\n" + "\n".join(violations)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from sim.experiments.runs import run_experiment\n")
    assert _imports(bad) == [(1, "sim.experiments.runs")]
    assert _layer_of("sim.experiments.runs") > _layer_of("sim.model.court")


def test_command_modules_import_no_other_command() -> None:
    """The command line's modules share only :mod:`sim.cli.options` and
    :mod:`sim.cli.tables`, so they cannot import each other in a cycle."""
    shared = {"sim.cli.options", "sim.cli.tables"}
    cycles = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        if path.name == "__init__.py":
            continue
        for line, imported in _imports(path):
            if imported.startswith("sim.cli") and imported not in shared:
                cycles.append(f"{path.name}:{line} imports {imported}")
    assert not cycles, cycles


def test_no_matplotlib_use_in_the_library() -> None:
    """The library never switches matplotlib's backend (it would stop a notebook's own
    plots from showing): it draws on ``matplotlib.figure.Figure`` objects."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "use" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("matplotlib", "mpl")):
                offenders.append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "matplotlib.pyplot":
                offenders.append(f"{rel}:{node.lineno} (pyplot)")
            if isinstance(node, ast.Import) and any(a.name == "matplotlib.pyplot"
                                                    for a in node.names):
                offenders.append(f"{rel}:{node.lineno} (pyplot)")
    assert not offenders, offenders
