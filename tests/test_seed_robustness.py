"""Seed robustness: the key claims hold at seeds other than the ones they were written at.

A statistical check written and tuned at one seed can pass there by luck. The direct
effect of every reform (tests/test_reforms.py, written at seed 3) and the direction of
every feedback loop (tests/test_loops.py, written at seed 11) are rerun here at 5 other
seeds, with the same replications, lengths and sizes, and must all hold. Reflective
supervision's gain in assessment accuracy (1.3 to 1.5 percentage points of
``assessment_decision_accuracy``) is too small for 6 replications to resolve with margin
at every seed (at seeds 202 and 404 the interval came within 0.3 point of zero), so both
its own test and this one give it 40 replications (``test_reforms.REPS_FOR``).

Sizing: per seed the reform signs run 16 scenarios x 6 replications of a half-size LA for
1 + 2 years (40 for the baseline and reflective supervision), and the loop directions 6
paired experiments (one on a whole LA).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest

#: Seeds other than those the claims were written at (3 and 11).
SEEDS = (101, 202, 303, 404, 505)


def _reform_signs(seed: int) -> list[str]:
    import test_reforms as reforms

    failed = []
    checks = [(name, lambda n=name, m=measure, s=sign: reforms._assert_sign(n, m, s, seed))
              for name, measure, sign in reforms.DIRECT_EFFECTS]
    checks.append(("systems_scr after a shock",
                   lambda: reforms.systems_scr_softens_prescription(seed)))
    for name, check in checks:
        try:
            check()
        except AssertionError as exc:
            failed.append(f"seed {seed}, reform {name}: {exc}")
    reforms._run.cache_clear()
    return failed


def _loop_directions(seed: int) -> list[str]:
    import test_loops as loops

    small = loops.half_la()
    failed = []
    for claim in loops.DIRECTIONS:
        try:
            claim(small, seed)
        except AssertionError as exc:
            failed.append(f"seed {seed}, loop {claim.__name__}: {exc}")
    return failed


@pytest.mark.slow
def test_reform_signs_and_loop_directions_hold_at_five_other_seeds():
    with ProcessPoolExecutor(2) as pool:
        jobs = [pool.submit(_reform_signs, s) for s in SEEDS]
        jobs += [pool.submit(_loop_directions, s) for s in SEEDS]
        failed = [f for job in jobs for f in job.result()]
    assert not failed, "\n".join(failed)
