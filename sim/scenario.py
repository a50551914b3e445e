"""Scenarios: TOML files of parameter values, layered on a complete base and validated.

A scenario file has top-level ``name`` and ``description`` strings, an optional ``base``
and one table per section of :data:`sim.parameters.SCHEMA`::

    name = "flexible"
    description = "Munro: one assessment as long as the case needs"
    base = "baseline"

    [assessment]
    policy = "flexible"

``base`` is the name of another scenario (looked up first beside the file, then on the
scenario search path, see :func:`scenario_dirs`), a path relative to the file, or a list
of them (applied in order, later ones winning). A file sets only the keys it changes;
overlays compose (base of base ...), and the resolved chain must set every parameter of
the schema (``baseline.toml`` sets them all and has no base).

``start_year`` (years from the start of a run, in the scenario being run) makes the
scenario take effect part-way through: before it, the complete scenario at the root of
its chain (usually the baseline) applies. So ``base = "flexible_assessment"`` with
``start_year = 7`` switches that reform on 7 years in (two years after the default
warm-up), and the transition can be measured.

Every value is checked against its :class:`~sim.parameters.Param` (type, allowed range,
choices), and the resolved values against the rules between fields (:data:`RULES`: time
shares summing to at most 1, thresholds in order, divisors positive, some case weight);
``start_year`` is checked against the length of a run where the run is set up
(:func:`check_start_year`). A scenario's ``name`` (default: the file stem) must match
:data:`NAME_PATTERN`: it names the result directory. A bad input raises one
:class:`ScenarioError` naming the file where the value was written, the dotted key path and
what is allowed. A file may start with a UTF-8 byte-order mark. Sections and keys come from the
schema alone, so a parameter added there is validated here with no change.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
import numbers
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sim.parameters import META_KEYS, SCHEMA, SECTIONS, STRUCTURAL

__all__ = [
    "ENV_VAR",
    "NAME_PATTERN",
    "RULES",
    "Scenario",
    "ScenarioError",
    "check_name",
    "check_rules",
    "check_start_year",
    "find_scenario",
    "list_scenarios",
    "load_scenario",
    "parameter_table",
    "value_comments",
    "scenario_dirs",
    "validate_value",
]

logger = logging.getLogger(__name__)

#: Environment variable holding extra scenario directories (``os.pathsep``-separated),
#: searched before the defaults.
ENV_VAR: str = "CHILDSIM_SCENARIOS"

_PACKAGE_DIR = Path(__file__).resolve().parent
_SUFFIX = ".toml"

#: Longest scenario name.
NAME_MAX = 64
#: What a scenario name may be: letters, digits, ``-``, ``_`` and ``.``, not starting with
#: ``.``, at most :data:`NAME_MAX` characters (ASCII only). A name becomes a directory name
#: (``results/<name>/``), so nothing else is allowed.
NAME_PATTERN = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{NAME_MAX - 1}}}")
_NAME_RULE = (f"letters, digits, '-', '_' and '.', not starting with '.', at most {NAME_MAX} "
              "characters")


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


def _display_path(path: str | os.PathLike[str]) -> Path:
    """``path`` relative to the working directory when it lies below it, else as given."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(Path.cwd())
        except ValueError:
            return p
    return p


class ScenarioError(ValueError):
    """Bad scenario input.

    ``str(err)`` is ``"{file}: {key}: {message}"``, leaving out the parts that are ``None``.

    Parameters
    ----------
    file : path-like or None
        File where the offending value was written (shown relative to the working
        directory when below it), or the name that could not be found.
    key : str or None
        Dotted key path of the offending value (``"assessment.policy"``), a section or a
        top-level key; ``None`` when the error concerns the whole file.
    message : str
        What is wrong and what is allowed.

    Attributes
    ----------
    file : Path or None
    key : str or None
    message : str
    """

    def __init__(self, file: str | os.PathLike[str] | None, key: str | None,
                 message: str) -> None:
        self.file: Path | None = None if file is None else _display_path(file)
        self.key: str | None = key
        self.message: str = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [str(p) for p in (self.file, self.key) if p is not None]
        return ": ".join([*parts, self.message])

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file, self.key, self.message))


# ---------------------------------------------------------------------------------------------
# value validation
# ---------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as it would be written in TOML (for messages)."""
    if _is_bool(value):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return "(a table)"
    if isinstance(value, list | tuple):
        return "(an array)"
    return str(value)


def _toml_value(value: Any) -> str:
    """``value`` (bool, int, float or str) written as TOML."""
    if _is_bool(value):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        text = repr(float(value))
        return text if any(c in text for c in ".eEn") else text + ".0"
    return json.dumps(str(value), ensure_ascii=False)


def _type_text(value: Any) -> str:
    """The TOML-ish type of ``value`` with an article, for messages."""
    if _is_bool(value):
        return "a boolean"
    if isinstance(value, numbers.Integral):
        return "an integer"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


def _is_bool(value: Any) -> bool:
    # numpy.bool_ is not a Python bool; recognise it without importing numpy.
    return isinstance(value, bool) or type(value).__name__ in {"bool_", "bool"}


def _suggest(word: str, candidates: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    return difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)


def _unknown_key_message(key: str) -> str:
    """Message for a dotted key that is not in the schema, with the closest valid keys."""
    section, _, rest = key.partition(".")
    leaf = key.rsplit(".", 1)[-1]
    # Same key name in another section first (a key put in the wrong table), then spelling.
    same_leaf = [k for k in SCHEMA if k.rsplit(".", 1)[-1] == leaf]
    close = _suggest(key, tuple(SCHEMA))
    in_section = [k for k in SCHEMA if k.startswith(section + ".")]
    close += [f"{section}.{m}" for m in
              _suggest(rest, [k[len(section) + 1:] for k in in_section]) if rest]
    matches = list(dict.fromkeys(same_leaf + close))[:3]
    listing = ""
    if 0 < len(in_section) <= 8:  # short sections (such as [loops]) are listed in full
        listing = f"; valid keys in [{section}]: " + ", ".join(
            k[len(section) + 1:] for k in in_section)
    if matches:
        return "unknown key; did you mean " + " or ".join(matches) + "?" + listing
    if in_section:
        names = ", ".join(k[len(section) + 1:] for k in in_section)
        return f"unknown key; valid keys in [{section}]: {names}"
    return f"unknown key (no section [{section}]); valid sections: {', '.join(SECTIONS)}"


def _unknown_section_message(name: str) -> str:
    msg = "unknown section"
    close = _suggest(name, SECTIONS)
    if close:
        msg += "; did you mean " + " or ".join(f"[{c}]" for c in close) + "?"
    return msg + "; valid sections: " + ", ".join(SECTIONS)


def validate_value(key: str, value: Any, file: str | os.PathLike[str] | None) -> Any:
    """Check one parameter value against the schema and return it coerced.

    Parameters
    ----------
    key : str
        Dotted key path, e.g. ``"assessment.initial_timescale_wd"``.
    value : Any
        The value as read from TOML (or given in overrides).
    file : path-like or None
        Where the value was written, for the error message.

    Returns
    -------
    Any
        The value as a plain Python ``float``, ``int``, ``bool`` or ``str``: an integer
        given for a float parameter becomes a float.

    Raises
    ------
    ScenarioError
        If the key is not in the schema, the type is wrong (a boolean is not a number; a
        float is not an integer, even when integral), a number is NaN, infinite or outside
        the allowed range, or a string is not one of the choices.
    """
    param = SCHEMA.get(key)
    if param is None:
        raise ScenarioError(file, key, _unknown_key_message(key))
    allowed = param.allowed_text()

    def fail(what: str) -> ScenarioError:
        return ScenarioError(file, key, f"{what}; allowed {allowed}")

    def wrong_type(expected: str) -> ScenarioError:
        return fail(f"expected {expected}, got {_type_text(value)} {_show(value)}")

    if param.kind is bool:
        if not _is_bool(value):
            raise wrong_type("true or false")
        return bool(value)
    if param.kind is str:
        if not isinstance(value, str):
            raise wrong_type("a string")
        if param.choices is not None and value not in param.choices:
            close = _suggest(value, param.choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise fail(f"{_show(value)} is not an allowed choice{hint}")
        return str(value)
    if param.kind is int:
        if _is_bool(value) or not isinstance(value, numbers.Integral):
            raise wrong_type("an integer")
        number: float = int(value)
    elif param.kind is float:
        if _is_bool(value) or not isinstance(value, numbers.Real):
            raise wrong_type("a number")
        try:
            number = float(value)
        except OverflowError:
            raise fail(f"{_show(value)} is out of range") from None
        if not math.isfinite(number):
            raise fail(f"{_show(number)} is not a finite number")
    else:  # pragma: no cover - the schema only declares the four kinds above
        raise TypeError(f"{key}: unsupported parameter kind {param.kind!r}")
    if (param.low is not None and number < param.low) or (
            param.high is not None and number > param.high):
        raise fail(f"{_show(value)} is out of range")
    return number


def _flatten_table(prefix: str, table: Mapping[str, Any], file: str | os.PathLike[str] | None,
                   out: dict[str, Any]) -> None:
    """Validate the values of one (section) table into ``out`` as dotted keys."""
    for name, value in table.items():
        key = f"{prefix}.{name}"
        if key not in SCHEMA and isinstance(value, Mapping) and any(
                k.startswith(key + ".") for k in SCHEMA):
            _flatten_table(key, value, file, out)
            continue
        out[key] = validate_value(key, value, file)


def _flatten_overrides(overrides: Mapping[str, Any], file: str | os.PathLike[str] | None
                       ) -> dict[str, Any]:
    """Validate overrides given as dotted keys (or as ``{section: {key: value}}``)."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ScenarioError(file, repr(key), "a parameter key must be a string")
        if key in SECTIONS:
            if not isinstance(value, Mapping):
                raise ScenarioError(file, key, f"expected a table of [{key}] values, got "
                                               f"{_type_text(value)} {_show(value)}")
            _flatten_table(key, value, file, out)
        else:
            out[key] = validate_value(key, value, file)
    return out


def check_name(name: Any, file: str | os.PathLike[str] | None, key: str = "name") -> str:
    """Return ``name`` if it is a valid scenario name (:data:`NAME_PATTERN`), else raise
    :class:`ScenarioError` naming ``file`` and ``key``."""
    if not isinstance(name, str):
        raise ScenarioError(file, key, f"expected a string, got {_type_text(name)} {_show(name)}")
    if NAME_PATTERN.fullmatch(name) is None:
        shown = _show(name if len(name) <= 80 else name[:77] + "...")
        raise ScenarioError(file, key, f"{shown} is not a valid scenario name; allowed "
                                       f"{_NAME_RULE}")
    return name


# ---------------------------------------------------------------------------------------------
# rules between fields
# ---------------------------------------------------------------------------------------------

#: The time shares of a social worker's week: together at most 1 (the rest is casework).
TIME_SHARES: tuple[str, ...] = ("time.travel_share", "time.other_share")
#: Case weights: not all 0 (caseloads would mean nothing).
WEIGHTS: tuple[str, ...] = tuple(k for k in SCHEMA if k.startswith("weights."))


def _shares_rule(v: Mapping[str, Any]) -> str | None:
    total = sum(float(v[k]) for k in TIME_SHARES)
    if total > 1 + 1e-12:
        return f"the time shares sum to {total:g}; they must sum to at most 1"
    return None


def _ordered(low: str, high: str, what: str) -> Callable[[Mapping[str, Any]], str | None]:
    def rule(v: Mapping[str, Any]) -> str | None:
        if float(v[low]) > float(v[high]):
            return (f"{low.split('.')[-1]} ({v[low]:g}) is above {high.split('.')[-1]} "
                    f"({v[high]:g}); {what}")
        return None

    return rule


def _positive(key: str, why: str) -> Callable[[Mapping[str, Any]], str | None]:
    def rule(v: Mapping[str, Any]) -> str | None:
        return None if float(v[key]) > 0 else f"must be above 0 ({why}), got {v[key]:g}"

    return rule


def _at_least(key: str, low: float, why: str) -> Callable[[Mapping[str, Any]], str | None]:
    def rule(v: Mapping[str, Any]) -> str | None:
        return None if float(v[key]) >= low else f"must be at least {low:g} ({why}), got {v[key]:g}"

    return rule


def _weights_rule(v: Mapping[str, Any]) -> str | None:
    if all(float(v[k]) == 0 for k in WEIGHTS):
        return "every case weight is 0; at least one must be above 0"
    return None


#: Rules between fields, checked on every resolved scenario: ``(keys, rule)``, where
#: ``rule(values)`` returns what is wrong, or None.
RULES: tuple[tuple[tuple[str, ...], Callable[[Mapping[str, Any]], str | None]], ...] = (
    (TIME_SHARES, _shares_rule),
    (("front_door.early_help_threshold", "front_door.referral_threshold"),
     _ordered("front_door.early_help_threshold", "front_door.referral_threshold",
              "the early-help threshold must not be above the referral threshold")),
    (("front_door.nfa_threshold", "front_door.referral_threshold"),
     _ordered("front_door.nfa_threshold", "front_door.referral_threshold",
              "a referral cannot be closed for a signal above the one that made it a "
              "referral")),
    (("front_door.referral_threshold", "front_door.urgent_threshold"),
     _ordered("front_door.referral_threshold", "front_door.urgent_threshold",
              "the urgent threshold must not be below the referral threshold")),
    (("front_door.productive_share",),
     _positive("front_door.productive_share", "screening time is divided by it")),
    (("supervision.managers",),
     _at_least("supervision.managers", 1.0, "at least one team manager")),
    (WEIGHTS, _weights_rule),
)


def check_rules(values: Mapping[str, Any], provenance: Mapping[str, Any] | None = None,
                file: str | os.PathLike[str] | None = None,
                files: tuple[Path, ...] = ()) -> None:
    """Check the rules between fields (:data:`RULES`) on resolved ``values``.

    Raises :class:`ScenarioError` naming the keys and the file that set the last of them
    in the chain ``files`` (by ``provenance``), else ``file``.
    """
    for keys, rule in RULES:
        problem = rule(values)
        if problem is None:
            continue
        where: Any = file
        if provenance is not None:
            set_by = [provenance.get(k) for k in keys if provenance.get(k) is not None]
            order = {Path(f): i for i, f in enumerate(files)}
            if set_by:
                where = max(set_by, key=lambda f: order.get(Path(f), len(order)))
        raise ScenarioError(where, ", ".join(keys), problem)


def check_start_year(scenario: Any, *, years: float, warmup: float) -> None:
    """Raise :class:`ScenarioError` when ``scenario.start_year`` lies outside a run of
    ``warmup`` + ``years`` years (the change would never apply)."""
    start = float(getattr(scenario, "start_year", 0.0) or 0.0)
    end = float(warmup) + float(years)
    if start > 0 and start >= end:
        files = tuple(getattr(scenario, "files", ()) or ())
        raise ScenarioError(
            files[-1] if files else None, "start_year",
            f"{start:g} years is not inside the run ({float(warmup):g} warm-up + "
            f"{float(years):g} measured = {end:g} years), so the change would never apply; "
            "use a longer run or an earlier start_year")


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _File:
    """One parsed and validated scenario file (not yet resolved against its base)."""

    path: Path
    name: str | None
    description: str | None
    base: str | list[str] | None
    values: dict[str, Any]
    start_year: float | None = None


def _parse_file(path: Path) -> _File:
    """Read, parse and validate one scenario file."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is allowed
    except FileNotFoundError:
        raise ScenarioError(path, None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError(path, None, f"cannot read: {reason}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, None, f"invalid TOML: {exc}") from None

    meta: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for top, value in raw.items():
        if top == "start_year":
            if (_is_bool(value) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value) or value < 0):
                raise ScenarioError(path, top, f"expected a number of years from 0 to inf, "
                                               f"got {_show(value)}")
            meta[top] = float(value)
        elif top == "base" and isinstance(value, list):
            if not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise ScenarioError(path, top, "expected the name or path of a scenario, or a "
                                               f"list of them, got {_show(value)}")
            meta[top] = list(value)
        elif top in META_KEYS:
            if not isinstance(value, str):
                raise ScenarioError(path, top, f"expected a string, got {_type_text(value)} "
                                               f"{_show(value)}")
            if top == "base" and not value.strip():
                raise ScenarioError(path, top, "expected the name or path of a scenario, "
                                               "got an empty string")
            if top == "name":
                check_name(value, path)
            meta[top] = value
        elif top in SECTIONS:
            if not isinstance(value, Mapping):
                raise ScenarioError(path, top, f"expected a table [{top}], got "
                                               f"{_type_text(value)} {_show(value)}")
            _flatten_table(top, value, path, values)
        elif isinstance(value, Mapping):
            raise ScenarioError(path, top, _unknown_section_message(top))
        else:
            close = _suggest(top, [*sorted(META_KEYS), *SECTIONS])
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            raise ScenarioError(
                path, top, f"unknown top-level key; {hint}allowed: "
                f"{', '.join(sorted(META_KEYS))} and the sections {', '.join(SECTIONS)}")
    return _File(path, meta.get("name"), meta.get("description"), meta.get("base"), values,
                 meta.get("start_year"))


def _known_names() -> list[str]:
    names = {p.stem for d in scenario_dirs() for p in d.glob(f"*{_SUFFIX}") if p.is_file()}
    return sorted(names)


def _no_such_scenario(name: str) -> str:
    known = _known_names()
    msg = "no such scenario"
    close = _suggest(name.removesuffix(_SUFFIX), known, n=1)
    if close:
        msg += f" (did you mean {close[0]}?)"
    return msg + "; known: " + (", ".join(known) if known else "(none)")


def _looks_like_path(name: str) -> bool:
    return Path(name).is_absolute() or "/" in name or os.sep in name or (
        os.altsep is not None and os.altsep in name)


def _resolve_base(base: str, file: Path) -> Path:
    """The file named by ``base`` in ``file``: beside it, relative to it, or by name."""
    here = file.parent
    candidates = [here / base]
    if not base.endswith(_SUFFIX):
        candidates.append(here / f"{base}{_SUFFIX}")
    if "\x00" in base:
        raise ScenarioError(file, "base", f"{_show(base)} is not a file name")
    for candidate in candidates:
        if candidate.is_file():
            if candidate.suffix != _SUFFIX:
                raise ScenarioError(file, "base", f"{_show(base)} names {candidate}, which is "
                                                  f"not a scenario file (*{_SUFFIX})")
            return candidate.resolve()
    if not _looks_like_path(base):
        for d in scenario_dirs():
            candidate = d / (base if base.endswith(_SUFFIX) else f"{base}{_SUFFIX}")
            if candidate.is_file():
                return candidate.resolve()
    raise ScenarioError(file, "base", f"base scenario {_show(base)} not found: "
                                      f"{_no_such_scenario(base)}")


def _load_chain(top: Path) -> list[_File]:
    """Parse ``top`` and its bases; the chain is returned base first.

    A list of bases is applied in order (later ones win), each with its own chain; a file
    reached twice (such as the baseline under several reforms) is applied once, first.
    """
    def chain_of(path: Path, stack: list[Path]) -> list[_File]:
        if path in stack:
            cycle = " -> ".join(p.name for p in [*stack[stack.index(path):], path])
            raise ScenarioError(stack[-1], "base", f"base cycle: {cycle}")
        parsed = _parse_file(path)
        bases = [] if parsed.base is None else (
            [parsed.base] if isinstance(parsed.base, str) else parsed.base)
        out: list[_File] = []
        for base in bases:
            target = _resolve_base(base, path)
            try:
                chain = chain_of(target, [*stack, path])
            except ScenarioError as exc:
                if exc.key is not None or exc.file is None or \
                        Path(exc.file).resolve() != target:
                    raise  # a value inside the base: reported where it was written
                # the base file as a whole is unreadable or not TOML: the fault is here
                raise ScenarioError(path, "base", f"base scenario {_show(base)} ({target}) "
                                                  f"is not a valid scenario file: "
                                                  f"{exc.message}") from None
            for f in chain:
                if all(f.path != g.path for g in out):
                    out.append(f)
        out.append(parsed)
        return out

    return chain_of(top.resolve(), [])


# ---------------------------------------------------------------------------------------------
# the resolved scenario
# ---------------------------------------------------------------------------------------------


def _schema_order(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: values[k] for k in SCHEMA if k in values}


def _check_complete(values: Mapping[str, Any], files: tuple[Path, ...]) -> None:
    missing = [k for k in SCHEMA if k not in values]
    if missing:
        chain = " -> ".join(p.name for p in files)
        raise ScenarioError(
            files[-1], None,
            f"incomplete scenario: the chain {chain} does not set {len(missing)} "
            f"parameter(s): {', '.join(missing)}; its first file must be a complete "
            "scenario such as baseline")


@dataclass(frozen=True)
class Scenario:
    """A fully resolved, validated scenario.

    Attributes
    ----------
    name : str
        The top file's ``name`` (default: its file stem).
    description : str
        The top file's ``description``, else the nearest base's.
    values : Mapping[str, Any]
        Read-only map of every schema key (dotted) to its value, in schema order.
    files : tuple of Path
        The overlay chain, base first, as resolved absolute paths.
    provenance : Mapping[str, Path]
        Read-only map of every key to the file that set its value last.
    start_year : float
        Years from the start of a run at which the top file's changes take effect
        (0: from the start).
    before : Mapping[str, Any] or None
        With ``start_year > 0``, the values in force before it (those of the complete
        scenario at the root of the chain); otherwise None.
    """

    name: str
    description: str
    values: Mapping[str, Any] = field(repr=False)
    files: tuple[Path, ...]
    provenance: Mapping[str, Path] = field(repr=False)
    start_year: float = 0.0
    before: Mapping[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.values, MappingProxyType):
            object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        if self.before is not None and not isinstance(self.before, MappingProxyType):
            object.__setattr__(self, "before", MappingProxyType(dict(self.before)))
        if not isinstance(self.provenance, MappingProxyType):
            object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "files", tuple(Path(p) for p in self.files))

    def __hash__(self) -> int:
        return hash((self.name, self.description, self.digest()))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as plain dicts (read-only mappings cannot be pickled)."""
        return (_rebuild_scenario, (
            self.name, self.description, dict(self.values), self.files,
            dict(self.provenance), self.start_year,
            None if self.before is None else dict(self.before)))

    def values_at(self, years: float) -> Mapping[str, Any]:
        """The values in force ``years`` after the start of a run."""
        if self.before is not None and years < self.start_year:
            return self.before
        return self.values

    def __getitem__(self, key: str) -> Any:
        """The value of one dotted key, e.g. ``scenario["assessment.policy"]``."""
        try:
            return self.values[key]
        except KeyError:
            raise KeyError(f"{key}: {_unknown_key_message(key)}") from None

    def section(self, name: str) -> dict[str, Any]:
        """The values of one section as ``{key: value}`` (keys without the section prefix).

        Raises
        ------
        KeyError
            If ``name`` is not a section of the schema.
        """
        if name not in SECTIONS:
            raise KeyError(f"{name}: {_unknown_section_message(name)}")
        prefix = name + "."
        return {k[len(prefix):]: v for k, v in self.values.items() if k.startswith(prefix)}

    def to_nested(self) -> dict[str, Any]:
        """JSON-serialisable ``{"name", "description", section: {key: value}}``.

        The result has the layout of a complete scenario file, for run manifests.
        """
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        for key, value in self.values.items():
            *tables, leaf = key.split(".")
            node = out
            for t in tables:
                node = node.setdefault(t, {})
            node[leaf] = value
        return out

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :attr:`values` (sorted keys).

        Same values give the same digest whatever the name, description or files.
        """
        content: Any = dict(self.values)
        if self.before is not None:
            content = {"values": content, "start_year": self.start_year,
                       "before": dict(self.before)}
        return _values_digest(content)

    def root_values(self) -> Mapping[str, Any] | None:
        """The values of the complete scenario at the root of the chain (``files[0]``,
        usually the baseline), with any change made on top of the files
        (:meth:`with_values`) applied to it too; :attr:`before` when set. None when the
        scenario has no files."""
        if self.before is not None:
            return self.before
        if not self.files:
            return None
        root = dict(_parse_file(self.files[0]).values)
        chain = set(self.files)
        for key, source in self.provenance.items():
            if Path(source) not in chain:  # set by with_values: applies before and after
                root[key] = self.values[key]
        _check_complete(root, self.files[:1])
        return MappingProxyType(_schema_order(root))

    def root_digest(self) -> str:
        """Digest of :meth:`root_values` (of :attr:`values` when there is no root): the
        scenarios of one experiment sharing it can branch from one warm-up."""
        root = self.root_values()
        return _values_digest(self.values if root is None else root)

    def starting_at(self, start_year: float) -> Scenario:
        """This scenario with its changes from the root taking effect ``start_year`` years
        into a run (the root's values before).

        Returned unchanged when it already has a ``start_year`` (its own timing), when it
        has no files, or when its values are the root's (nothing to switch).

        Raises
        ------
        ScenarioError
            When it changes a parameter that cannot change part-way through a run
            (:data:`sim.parameters.STRUCTURAL`).
        """
        if self.before is not None or not start_year > 0:
            return self
        root = self.root_values()
        if root is None or dict(root) == dict(self.values):
            return self
        for key in sorted(STRUCTURAL):
            if root[key] != self.values[key]:
                raise ScenarioError(self.provenance.get(key), key,
                                    f"cannot change part-way through a run (a reform "
                                    f"starting at year {start_year:g})")
        return Scenario(self.name, self.description, self.values, self.files,
                        self.provenance, float(start_year), dict(root))

    def to_toml(self, path: str | os.PathLike[str], *, base: str | os.PathLike[str] | None = None,
                overwrite: bool = False) -> Path:
        """Write this scenario as an overlay file that ``childsim run PATH`` runs.

        The file names its base and sets only the values that differ from it, each with
        its unit, the base's value and where the change came from in a comment. So a
        scenario changed in a notebook (:meth:`with_values`) can be run, compared or kept
        from the command line.

        Parameters
        ----------
        path : where to write (``.toml``).
        base : the scenario to layer on (a name or a path); default: the last file of
            this scenario's chain (for a scenario with ``start_year``, the root of its
            chain). Written by name when that name finds the same file from anywhere,
            else as an absolute path.
        overwrite : replace an existing file.

        Returns the path written. The file is read back and must give the same values
        (:meth:`digest`), else :class:`ScenarioError` is raised and nothing is left.
        """
        target = Path(path)
        if target.suffix != _SUFFIX:
            raise ScenarioError(target, None, f"a scenario file must end in {_SUFFIX}")
        if target.exists() and not overwrite:
            raise ScenarioError(target, None, "exists already (overwrite=True replaces it)")
        if base is not None:
            base_path = find_scenario(base)
        elif self.before is not None:
            base_path = Path(self.files[0])
        elif self.files:
            base_path = Path(self.files[-1])
        else:
            raise ScenarioError(target, "base", "this scenario has no file to layer on: give "
                                                "base=NAME")
        base_scenario = load_scenario(base_path)
        if self.before is not None and dict(self.before) != dict(base_scenario.values):
            raise ScenarioError(target, "start_year", "the values before start_year differ "
                                "from the base's, so one overlay cannot hold this scenario")
        changed = {k: v for k, v in self.values.items() if base_scenario.values.get(k) != v}
        try:
            by_name = (find_scenario(base_path.stem).resolve() == base_path.resolve()
                       and base_path.stem != target.stem
                       and not (target.parent / f"{base_path.stem}{_SUFFIX}").exists())
        except ScenarioError:
            by_name = False
        base_text = base_path.stem if by_name else os.fspath(base_path.resolve())
        lines = [f"name = {_toml_value(self.name)}",
                 f"description = {_toml_value(self.description)}",
                 f"base = {_toml_value(base_text)}"]
        if self.start_year:
            lines.append(f"start_year = {_toml_value(float(self.start_year))}")
        lines.append("")
        lines.append(f"# Written by Scenario.to_toml: the values that differ from {base_text}.")
        section = None
        for key, value in changed.items():
            sec, leaf = key.split(".", 1)
            if sec != section:
                lines += ["", f"[{sec}]"]
                section = sec
            param = SCHEMA[key]
            origin = self.provenance.get(key)
            note = [param.unit] if param.unit not in ("", "1") else []
            note.append(f"{_show(base_scenario.values[key])} in {base_path.stem}")
            if origin is not None:
                note.append(f"from {Path(origin).name.strip('<>')}")
            lines.append(f"{leaf} = {_toml_value(value)}  # {'; '.join(note)}")
        text = "\n".join(lines) + "\n"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        try:
            loaded = load_scenario(tmp)
            if loaded.digest() != self.digest():
                raise ScenarioError(target, None, "the written overlay does not give the same "
                                                  "values (please report this)")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def with_values(self, overrides: Mapping[str, Any], *, name: str | None = None,
                    source: str = "<overrides>", rules: bool = True) -> Scenario:
        """A copy with some values changed, validated like a scenario file.

        Parameters
        ----------
        overrides : Mapping[str, Any]
            Dotted key -> value (a section name may also map to a ``{key: value}`` table).
        name : str, optional
            Name of the new scenario (default: this scenario's name).
        source : str
            Where the overrides come from: the "file" named in errors and provenance.
        rules : bool
            Whether to check the rules between fields (:data:`RULES`); sample points of a
            sensitivity analysis, which vary each parameter over its plausible range
            independently, are not.

        Raises
        ------
        ScenarioError
            With ``file`` set to ``source``, for an unknown key, a bad value or name, or a
            broken rule.
        """
        src = Path(source)
        if name is not None:
            check_name(name, src)
        changed = _flatten_overrides(overrides, src)
        values = dict(self.values)
        values.update(changed)
        provenance = dict(self.provenance)
        provenance.update(dict.fromkeys(changed, src))
        before = None
        if self.before is not None:  # common changes apply before and after start_year
            before = _schema_order({**self.before, **changed})
        if rules:
            check_rules(values, file=src)
            if before is not None:
                check_rules(before, file=src)
        return Scenario(self.name if name is None else name, self.description,
                        _schema_order(values), self.files, _schema_order(provenance),
                        self.start_year, before)


# ---------------------------------------------------------------------------------------------
# finding and loading
# ---------------------------------------------------------------------------------------------


def scenario_dirs() -> list[Path]:
    """Directories searched for scenario names, in order, deduplicated.

    ``$CHILDSIM_SCENARIOS`` (``os.pathsep``-separated) if set, then ``./scenarios`` if it
    exists, then the repository's ``scenarios`` directory beside the package, then
    ``sim/data/scenarios`` inside the package (for an installed package), if they exist.
    """
    dirs: list[Path] = []
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            d = Path(entry).expanduser()
            if not d.is_dir():
                logger.warning("%s entry %s is not a directory", ENV_VAR, d)
            dirs.append(d)
    for d in (Path.cwd() / "scenarios", _PACKAGE_DIR.parent / "scenarios",
              _PACKAGE_DIR / "data" / "scenarios"):
        if d.is_dir():
            dirs.append(d)
    return list(dict.fromkeys(d.resolve() for d in dirs))


def find_scenario(name_or_path: str | os.PathLike[str]) -> Path:
    """The file of a scenario given by path or by name.

    Parameters
    ----------
    name_or_path : str or path-like
        A path to an existing file (used as is), or a name ``"x"`` or ``"x.toml"`` looked
        up in :func:`scenario_dirs`.

    Returns
    -------
    Path
        The resolved absolute path.

    Raises
    ------
    ScenarioError
        If there is no such file or scenario; the message lists the known names.
    """
    given = os.fspath(name_or_path)
    path = Path(given).expanduser()
    if path.is_file():
        return path.resolve()
    if given and not _looks_like_path(given):
        filename = given if given.endswith(_SUFFIX) else f"{given}{_SUFFIX}"
        for d in scenario_dirs():
            if (d / filename).is_file():
                return (d / filename).resolve()
    raise ScenarioError(given, None, _no_such_scenario(path.name))


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """Load, validate and resolve a scenario and its chain of bases.

    Parameters
    ----------
    name_or_path : str or path-like
        A scenario name (``"baseline"``) or a path to a TOML file; see :func:`find_scenario`.

    Returns
    -------
    Scenario
        With every schema key set.

    Raises
    ------
    ScenarioError
        For any bad input (syntax, unknown key or section, wrong type, out-of-range value,
        missing file or base, base cycle, keys left unset by the whole chain).
    """
    chain = _load_chain(find_scenario(name_or_path))
    values: dict[str, Any] = {}
    provenance: dict[str, Path] = {}
    for f in chain:
        values.update(f.values)
        provenance.update(dict.fromkeys(f.values, f.path))
    files = tuple(f.path for f in chain)
    _check_complete(values, files)
    top = chain[-1]
    for f in chain[:-1]:
        if f.start_year is not None:
            raise ScenarioError(f.path, "start_year", "start_year is allowed only in the "
                                f"scenario being run, not in a base of {top.path.name}")
    name = top.name if top.name is not None else top.path.stem
    if top.name is None and NAME_PATTERN.fullmatch(name) is None:
        raise ScenarioError(top.path, "name", f"the file name gives the scenario name "
                                              f"{_show(name)}, which is not valid (allowed "
                                              f"{_NAME_RULE}); set name = \"...\" in the file")
    check_rules(values, provenance, files=files)
    description = next((f.description for f in reversed(chain) if f.description is not None), "")
    logger.debug("loaded scenario %s from %s", name, " -> ".join(str(p) for p in files))
    start_year = top.start_year or 0.0
    before = None
    if start_year > 0:
        before = dict(chain[0].values)
        _check_complete(before, files[:1])
        check_rules(before, file=files[0])
        for key in STRUCTURAL:
            if before[key] != values[key]:
                raise ScenarioError(top.path, key, f"cannot change part-way through a run "
                                                   f"(start_year = {start_year:g})")
        before = _schema_order(before)
    return Scenario(name, description, _schema_order(values), files, _schema_order(provenance),
                    start_year, before)


def _values_digest(content: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``content`` (sorted keys)."""
    text = json.dumps(dict(content), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rebuild_scenario(name: str, description: str, values: dict[str, Any],
                      files: tuple[Path, ...], provenance: dict[str, Path], start_year: float,
                      before: dict[str, Any] | None) -> Scenario:
    return Scenario(name, description, values, files, provenance, start_year, before)


def list_scenarios() -> list[tuple[str, str, Path]]:
    """Every scenario file on the search path, as ``(name, description, path)``.

    ``name`` is the file stem (what :func:`load_scenario` takes). Each file is loaded with
    its bases; one that fails is listed with description ``"(invalid: <reason>)"``. Sorted
    by name, then search order (the first of equal names is the one a name loads).
    """
    rows: list[tuple[str, int, str, Path]] = []
    for order, d in enumerate(scenario_dirs()):
        for path in sorted(d.glob(f"*{_SUFFIX}")):
            if not path.is_file():
                continue
            try:
                description = load_scenario(path.resolve()).description
            except ScenarioError as exc:
                reason = exc.message if exc.key is None else f"{exc.key}: {exc.message}"
                if exc.file is not None and exc.file.name != path.name:
                    reason = f"{exc.file.name}: {reason}"
                description = f"(invalid: {reason})"
            rows.append((path.stem, order, description, path.resolve()))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(name, description, path) for name, _, description, path in rows]


# ---------------------------------------------------------------------------------------------
# the parameters, documented
# ---------------------------------------------------------------------------------------------

_KEY_LINE = re.compile(r"""^\s*([A-Za-z0-9_-]+)\s*=\s*(?:"[^"]*"|'[^']*'|[^#"'])*?(?:#\s*(.*))?$""")
_SECTION_LINE = re.compile(r"^\s*\[([A-Za-z0-9_.-]+)\]\s*(?:#.*)?$")


def value_comments(path: str | os.PathLike[str]) -> dict[str, str]:
    """The comment written with each parameter in a scenario file: ``{dotted key: text}``.

    The comment on the value's line (``key = 1.0  # unit; plausible ...; source: ...``),
    else the comment lines just above it (``# reason: ...``), joined.
    """
    comments: dict[str, str] = {}
    section = ""
    above: list[str] = []
    for raw in Path(path).read_text(encoding="utf-8-sig").splitlines():
        line = raw.strip()
        if not line:
            above = []
            continue
        if line.startswith("#"):
            above.append(line.lstrip("#").strip())
            continue
        m = _SECTION_LINE.match(line)
        if m:
            section, above = m.group(1), []
            continue
        m = _KEY_LINE.match(line)
        if m and section:
            text = (m.group(2) or "").strip() or " ".join(above).strip()
            if text:
                comments[f"{section}.{m.group(1)}"] = text
        above = []
    return comments


def _source_text(comment: str, unit: str) -> str:
    """The source or assumption part of a baseline comment (unit and plausible range, which
    the schema states, left out)."""
    parts = [p.strip() for p in comment.split(";")]
    kept = [p for p in parts if p and p != unit and not p.startswith("plausible ")]
    return "; ".join(kept)


def parameter_table(scenario: str | os.PathLike[str] | Scenario = "baseline",
                    section: str | None = None) -> Any:
    """Every parameter as a pandas DataFrame, one row each, in schema order.

    Columns: ``key`` (dotted), ``section``, ``value`` (in ``scenario``), ``unit``, ``kind``
    (float, int, bool, str), ``low`` and ``high`` (allowed range), ``plausible_low`` and
    ``plausible_high`` (explored by sensitivity analysis and calibration), ``role``
    (:data:`sim.parameters.ROLES`), ``lever`` (a policy lever), ``calibrated``,
    ``description`` and ``source`` (the source or assumption written beside the value in
    the file that set it, e.g. ``scenarios/baseline.toml``), ``file`` (that file's name).
    ``section`` keeps one section.
    """
    import pandas as pd

    if section is not None and section not in SECTIONS:
        raise KeyError(f"{section}: {_unknown_section_message(section)}")
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    notes: dict[Path, dict[str, str]] = {}
    rows = []
    for key, param in SCHEMA.items():
        sec = key.split(".", 1)[0]
        if section is not None and sec != section:
            continue
        origin = sc.provenance.get(key)
        comment = ""
        if origin is not None and Path(origin).is_file():
            if Path(origin) not in notes:
                notes[Path(origin)] = value_comments(origin)
            comment = notes[Path(origin)].get(key, "")
        low, high = (param.plausible if param.plausible is not None else (None, None))
        value = sc.values[key]
        rows.append({
            "key": key, "section": sec,
            "value": value,
            "unit": param.unit, "kind": param.kind.__name__,
            "low": param.low, "high": param.high,
            "plausible_low": low, "plausible_high": high,
            "role": param.role, "lever": param.role == "lever",
            "calibrated": param.calibrated, "description": param.doc,
            "source": _source_text(comment, param.unit),
            "file": Path(origin).name if origin is not None else "",
        })
    frame = pd.DataFrame(rows)
    for col in ("low", "high", "plausible_low", "plausible_high"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    frame["lever"] = frame["lever"].astype(bool)
    frame["calibrated"] = frame["calibrated"].astype(bool)
    return frame
