"""Scaling a scenario to a local authority of another size.

Real LAs range from a few thousand children to over 250,000. A scenario is sized for one
child population; :func:`scale_to_population` multiplies every capacity that grows with
the population (social workers, front-door staff, team managers, health visitors,
community teams, court time) by the same factor, so that rates per 10,000 children stay
comparable. Concern rates and early-help places are already per 10,000 children.
"""

from __future__ import annotations

from typing import Any

#: Parameters proportional to the child population.
CAPACITY_KEYS: tuple[str, ...] = (
    "workforce.posts_fte",
    "front_door.staff_fte",
    "supervision.managers",
    "universal.health_visitor_fte",
    "universal.health_visitor_reference_fte",
    "community_team.fte",
    "community_team.full_coverage_fte",
    "court.sitting_days_per_week",
)


def scale_to_population(scenario: Any, children: int) -> Any:
    """A copy of ``scenario`` for an LA of ``children`` children aged 0-17.

    Parameters
    ----------
    scenario : Scenario
        The scenario to scale (its own child population is the reference).
    children : int
        Child population of the new LA.
    """
    factor = children / scenario["population.child_population"]
    overrides: dict[str, Any] = {"population.child_population": int(children)}
    for key in CAPACITY_KEYS:
        overrides[key] = float(scenario[key]) * factor
    return scenario.with_values(overrides, name=f"{scenario.name}-{children}",
                                source=f"<scaled to {children} children>")
