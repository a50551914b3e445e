"""How numbers are written in tables, shared by the command line and the HTML report."""

from __future__ import annotations

import math


def value_kind(unit: str | None) -> str:
    """``"share"``, ``"rate"`` or ``"count"``, from a KPI's unit text."""
    u = (unit or "").strip().lower()
    if u in ("1", "share") or "share" in u or "proportion" in u:
        return "share"
    if "per year" in u or "per 10000" in u or "per 10,000" in u:
        return "rate"
    return "count"


def sig3(x: float, *, grouped: bool = False) -> str:
    """``x`` to 3 significant figures without exponent notation: values from 1000 are
    rounded to whole numbers (with thousands separators when ``grouped``)."""
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}" if grouped else f"{x:.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"
