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
choices). A bad input raises one :class:`ScenarioError` naming the file where the value
was written, the dotted key path and what is allowed. Sections and keys come from the
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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sim.parameters import META_KEYS, SCHEMA, SECTIONS, STRUCTURAL

__all__ = [
    "ENV_VAR",
    "Scenario",
    "ScenarioError",
    "find_scenario",
    "list_scenarios",
    "load_scenario",
    "scenario_dirs",
    "validate_value",
]

logger = logging.getLogger(__name__)

#: Environment variable holding extra scenario directories (``os.pathsep``-separated),
#: searched before the defaults.
ENV_VAR: str = "CHILDSIM_SCENARIOS"

_PACKAGE_DIR = Path(__file__).resolve().parent
_SUFFIX = ".toml"


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
        text = path.read_text(encoding="utf-8")
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
    for candidate in candidates:
        if candidate.is_file():
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
            for f in chain_of(_resolve_base(base, path), [*stack, path]):
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
        text = json.dumps(content, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True, allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def with_values(self, overrides: Mapping[str, Any], *, name: str | None = None,
                    source: str = "<overrides>") -> Scenario:
        """A copy with some values changed, validated like a scenario file.

        Parameters
        ----------
        overrides : Mapping[str, Any]
            Dotted key -> value (a section name may also map to a ``{key: value}`` table).
        name : str, optional
            Name of the new scenario (default: this scenario's name).
        source : str
            Where the overrides come from: the "file" named in errors and provenance.

        Raises
        ------
        ScenarioError
            With ``file`` set to ``source``, for an unknown key or a bad value.
        """
        src = Path(source)
        changed = _flatten_overrides(overrides, src)
        values = dict(self.values)
        values.update(changed)
        provenance = dict(self.provenance)
        provenance.update(dict.fromkeys(changed, src))
        before = None
        if self.before is not None:  # common changes apply before and after start_year
            before = _schema_order({**self.before, **changed})
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
    description = next((f.description for f in reversed(chain) if f.description is not None), "")
    logger.debug("loaded scenario %s from %s", name, " -> ".join(str(p) for p in files))
    start_year = top.start_year or 0.0
    before = None
    if start_year > 0:
        before = dict(chain[0].values)
        _check_complete(before, files[:1])
        for key in STRUCTURAL:
            if before[key] != values[key]:
                raise ScenarioError(top.path, key, f"cannot change part-way through a run "
                                                   f"(start_year = {start_year:g})")
        before = _schema_order(before)
    return Scenario(name, description, _schema_order(values), files, _schema_order(provenance),
                    start_year, before)


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
