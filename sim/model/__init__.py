"""The simulated local authority: children, their journeys and the people who serve them.

One module per stage of the journey and per resource, each reading like the step it
implements: :mod:`~sim.model.community` (needs arising and noticed),
:mod:`~sim.model.front_door` (contacts, screening, referral),
:mod:`~sim.model.assessment` (initial and core assessment, their timescales),
:mod:`~sim.model.protection` (section 47, conferences, plans, care),
:mod:`~sim.model.court` (care proceedings), :mod:`~sim.model.workforce` (posts,
caseloads, time), :mod:`~sim.model.system` (the monthly system layer) and
:mod:`~sim.model.loops` (the feedback loops it runs). :mod:`~sim.model.simulation` wires
them into one run; :mod:`~sim.model.journal` packs the journey log.

The model reads a resolved scenario and writes only records (:mod:`sim.records`); it
never imports the experiment, output or interface layers.
"""

from __future__ import annotations

from sim.model.simulation import Model, simulate, simulate_branches

__all__ = ["Model", "simulate", "simulate_branches"]
