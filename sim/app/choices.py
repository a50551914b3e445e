"""What an advisor can choose in the app, from the scenario files and the parameter schema.

* :func:`reforms`: the shipped scenarios other than the baseline, each with its description,
  the parameters it changes from the baseline and the reasons and evidence written above
  them in its file.
* :func:`levers`: the policy levers, each with its unit and the range a slider offers. A
  parameter is a lever when the schema flags it so (a ``lever`` or ``policy_lever``
  attribute of :class:`sim.parameters.Param`, where present); until the schema has such a
  flag, the levers are the parameters that some shipped reform changes.
* :class:`Choice`: a reform, lever values and the run's size; :func:`scenario_toml` writes
  it as a scenario file (runnable with ``childsim run``) and :func:`chosen_scenario` loads
  that very file, so what runs is what is downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.parameters import SCHEMA, Param

BASELINE = "baseline"
#: Most replications, years and warm-up years the page accepts (a shared server's guard).
MAX_REPS, MAX_YEARS, MAX_WARMUP = 100, 50.0, 50.0
#: When the reform takes effect: from the start of the run, or (with branching from a
#: settled baseline) at the start of the measured window.
REFORM_STARTS = ("run", "window")


class ChoiceError(ValueError):
    """A choice that cannot be run; the message says why in plain words."""


@dataclass(frozen=True)
class Change:
    """One parameter a reform changes: baseline and reform values, unit, reason."""

    key: str
    doc: str
    unit: str
    baseline: Any
    value: Any
    reason: str


@dataclass(frozen=True)
class Reform:
    name: str
    description: str
    path: Path
    changes: tuple[Change, ...]
    notes: tuple[str, ...]
    start_year: float

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class Lever:
    """A policy lever: its key, meaning, unit and the range a slider offers."""

    key: str
    doc: str
    unit: str
    kind: str  # "float", "int", "bool" or "choice"
    low: float | None
    high: float | None
    step: float | None
    baseline: Any
    choices: tuple[str, ...] = ()

    @property
    def input_id(self) -> str:
        return "lever_" + self.key.replace(".", "__")

    def check(self, value: Any) -> Any:
        """The value as the lever's type; ChoiceError when outside the range offered."""
        if self.kind == "bool":
            return bool(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise ChoiceError(f"{self.doc}: choose one of {', '.join(self.choices)}")
            return value
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ChoiceError(f"{self.doc}: give a number") from None
        if not math.isfinite(v) or (self.low is not None and v < self.low) or (
                self.high is not None and v > self.high):
            raise ChoiceError(f"{self.doc}: {value} is outside the range offered, "
                              f"{_num(self.low)} to {_num(self.high)} {self.unit_text}")
        return int(round(v)) if self.kind == "int" else v

    @property
    def unit_text(self) -> str:
        return "" if self.unit == "1" else self.unit


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:g}"


def _param_flag(p: Param) -> bool | None:
    for name in ("policy_lever", "lever"):
        if hasattr(p, name):
            return bool(getattr(p, name))
    return None


@functools.lru_cache(maxsize=1)
def _baseline() -> Any:
    from sim.scenario import load_scenario

    return load_scenario(BASELINE)


@functools.lru_cache(maxsize=1)
def _reforms() -> tuple[Reform, ...]:
    from sim.outputs.report import toml_comments
    from sim.scenario import ScenarioError, list_scenarios, load_scenario

    base = _baseline()
    out = []
    for name, _, path in list_scenarios():
        if name == BASELINE:
            continue
        try:
            s = load_scenario(path)
        except ScenarioError:
            continue
        comments: dict[str, str] = {}
        notes: list[str] = []
        for f in s.files:
            try:
                c = toml_comments(Path(f).read_text(encoding="utf-8"))
            except OSError:
                continue
            comments.update({k: " ".join(v) for k, v in c.keys.items() if v})
            if Path(f).stem != BASELINE:
                notes += c.notes
        changes = tuple(
            Change(k, SCHEMA[k].doc, SCHEMA[k].unit, base.values[k], v,
                   comments.get(k, "(no comment in the file)"))
            for k, v in s.values.items() if base.values.get(k) != v)
        out.append(Reform(name, s.description, Path(path), changes, tuple(notes),
                          float(s.start_year)))
    return tuple(out)


def reforms() -> list[Reform]:
    """The shipped scenarios other than the baseline, by name."""
    return list(_reforms())


def reform(name: str) -> Reform:
    for r in _reforms():
        if r.name == name:
            return r
    raise ChoiceError(f"there is no reform called {name!r}")


def _step(low: float, high: float, kind: type) -> float:
    if kind is int:
        return 1.0
    span = high - low
    if span <= 0:
        return 0.01
    return 10 ** math.floor(math.log10(span / 100))


def _lever(key: str, values: list[Any]) -> Lever | None:
    p = SCHEMA[key]
    base = _baseline().values[key]
    if p.kind is bool:
        return Lever(key, p.doc, p.unit, "bool", None, None, None, base)
    if p.choices:
        return Lever(key, p.doc, p.unit, "choice", None, None, None, base, tuple(p.choices))
    if p.kind is str:
        return None
    lo, hi = p.plausible if p.plausible is not None else (p.low, p.high)
    finite = [float(v) for v in [base, *values] if isinstance(v, int | float)]
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 2.0 * max(finite or [1.0])
    lo, hi = min([lo, *finite]), max([hi, *finite])
    if p.low is not None:
        lo = max(lo, p.low)
    if p.high is not None:
        hi = min(hi, p.high)
    step = _step(lo, hi, p.kind)
    if p.kind is not int:  # the ends on the step's grid, inside the allowed range
        lo2, hi2 = math.floor(lo / step) * step, math.ceil(hi / step) * step
        lo = lo2 if p.low is None or lo2 >= p.low else lo
        hi = hi2 if p.high is None or hi2 <= p.high else hi
    return Lever(key, p.doc, p.unit, "int" if p.kind is int else "float", lo, hi, step, base)


@functools.lru_cache(maxsize=1)
def _levers() -> tuple[Lever, ...]:
    flagged = [k for k, p in SCHEMA.items() if _param_flag(p)]
    if flagged:
        keys = flagged
    else:
        changed = {c.key for r in _reforms() for c in r.changes}
        keys = [k for k in SCHEMA if k in changed]
    values: dict[str, list[Any]] = {}
    for r in _reforms():
        for c in r.changes:
            values.setdefault(c.key, []).append(c.value)
    made = (_lever(k, values.get(k, [])) for k in keys)
    return tuple(lv for lv in made if lv is not None)


def levers() -> list[Lever]:
    """The policy levers, in schema order."""
    return list(_levers())


def lever(key: str) -> Lever:
    for lv in _levers():
        if lv.key == key:
            return lv
    raise ChoiceError(f"{key} is not a policy lever")


@dataclass(frozen=True)
class Choice:
    """What an advisor asked for: a reform (None: the baseline) with some levers set, and
    the size of the run."""

    reform: str | None = None
    levers: Mapping[str, Any] = field(default_factory=dict)
    reps: int = 10
    years: float = 5.0
    warmup: float = DEFAULT_WARMUP_YEARS
    seed: int = 1
    reform_start: str = "run"

    def checked(self) -> Choice:
        """This choice with every value checked (ChoiceError naming the first bad one)."""
        if self.reform is not None:
            reform(self.reform)
        levers_ = {k: lever(k).check(v) for k, v in self.levers.items()}
        reps = _whole(self.reps, "Replications", 2, MAX_REPS)
        seed = _whole(self.seed, "Seed", 0, 2**32 - 1)
        years = _number(self.years, "Measured years", 0.1, MAX_YEARS)
        warmup = _number(self.warmup, "Warm-up years", 0.0, MAX_WARMUP)
        if self.reform_start not in REFORM_STARTS:
            raise ChoiceError("The reform starts with the run or at the measured window")
        return Choice(self.reform, levers_, reps, years, warmup, seed, self.reform_start)

    def changed_levers(self) -> dict[str, Any]:
        """The levers set to a value other than the chosen reform's (or the baseline's)."""
        start = _start_values(self.reform)
        return {k: v for k, v in self.levers.items() if start.get(k) != v}


def _whole(x: Any, what: str, low: int, high: int) -> int:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ChoiceError(f"{what}: give a whole number") from None
    if not math.isfinite(v) or v != int(v) or not low <= v <= high:
        raise ChoiceError(f"{what}: give a whole number from {low} to {high}")
    return int(v)


def _number(x: Any, what: str, low: float, high: float) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ChoiceError(f"{what}: give a number") from None
    if not math.isfinite(v) or not low <= v <= high:
        raise ChoiceError(f"{what}: give a number from {low:g} to {high:g}")
    return v


def _start_values(name: str | None) -> Mapping[str, Any]:
    if name is None:
        return _baseline().values
    from sim.scenario import load_scenario

    return load_scenario(reform(name).path).values


def start_value(name: str | None, key: str) -> Any:
    """A lever's value in the chosen reform (or the baseline): where its slider starts."""
    return _start_values(name)[key]


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)


def scenario_name(choice: Choice) -> str:
    """``flexible_assessment`` as it is, ``flexible_assessment_adjusted`` with levers moved,
    ``baseline_adjusted`` for levers alone."""
    base = choice.reform or BASELINE
    return f"{base}_adjusted" if choice.changed_levers() else base


def scenario_toml(choice: Choice) -> str:
    """The choice as a scenario file: the reform as its base and the levers moved from it,
    each with its unit. ``childsim run FILE`` runs it (the base is found by name)."""
    changed = choice.changed_levers()
    if choice.reform is None and not changed:
        raise ChoiceError("Choose a reform or move a lever: the baseline alone has nothing "
                          "to be compared with")
    base = choice.reform or BASELINE
    description = (reform(base).description if choice.reform else "The baseline")
    if changed:
        description += "; adjusted: " + ", ".join(
            f"{k} = {_toml_value(v)}" for k, v in changed.items())
    lines = [
        "# Written by the childsim app: the reform chosen and the policy levers moved.",
        "# Run it with: childsim run THIS_FILE (or compare it: childsim compare baseline "
        "THIS_FILE)",
        f"name = {_toml_value(scenario_name(choice))}",
        f"description = {_toml_value(description)}",
        f"base = {_toml_value(base)}",
    ]
    sections: dict[str, list[str]] = {}
    for key, value in changed.items():
        section, leaf = key.split(".", 1)
        lv = lever(key)
        unit = f" ({lv.unit_text})" if lv.unit_text else ""
        sections.setdefault(section, []).append(
            f"# {lv.doc}{unit}; baseline {_toml_value(lv.baseline)}\n{leaf} = "
            f"{_toml_value(value)}")
    for section, items in sections.items():
        lines += ["", f"[{section}]", *items]
    return "\n".join(lines) + "\n"


def chosen_scenario(choice: Choice, folder: str | os.PathLike[str]) -> tuple[Any, str]:
    """The scenario of ``choice``, loaded from its file written in ``folder`` (so that what
    runs is exactly the file offered for download), and the file's text."""
    from sim.scenario import ScenarioError, load_scenario

    text = scenario_toml(choice)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.toml"
    if not path.is_file():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    try:
        return load_scenario(path), text
    except ScenarioError as exc:
        raise ChoiceError(exc.message if exc.key is None else f"{exc.key}: {exc.message}"
                          ) from None


def baseline_scenario() -> Any:
    return _baseline()
