"""The simulation clock: calendar days, and conversions to months, years and working days.

The model runs in calendar days from the start of the run (warm-up included). Statutory
timescales are in working days; a week has 5 working days in 7 calendar days, and bank
holidays are ignored (an assumption: they would lengthen every timescale by about 3%).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Calendar days in a year (Julian year, so that months are equal).
YEAR: float = 365.25
#: Calendar days in a month (a twelfth of :data:`YEAR`).
MONTH: float = YEAR / 12.0
#: Calendar days in a week.
WEEK: float = 7.0
#: Calendar days per working day (5 working days in 7 calendar days).
CALENDAR_PER_WORKING_DAY: float = 7.0 / 5.0
#: Default warm-up, in years. A run starts from a settled, age-structured state (children
#: already in the community, early help, on plans, in proceedings and looked after, by
#: age and legal status, mid-spell); ``childsim warmup`` (MSER-5) on the baseline's
#: stocks chooses it (see the README), and KPIs are counted after it.
DEFAULT_WARMUP_YEARS: float = 5.0


def working_days_to_days(wd: float) -> float:
    """Convert working days to calendar days (5 working days a week, no bank holidays)."""
    return wd * CALENDAR_PER_WORKING_DAY


def days_to_working_days(days: float) -> float:
    """Convert calendar days to working days (5 working days a week, no bank holidays)."""
    return days / CALENDAR_PER_WORKING_DAY


@dataclass(frozen=True)
class Window:
    """The measured window of a run, in calendar days since the start.

    KPIs count what happens in ``[start, end)``; warm-up is ``[0, start)``.
    """

    start: float
    end: float

    @classmethod
    def from_years(cls, warmup_years: float, measured_years: float) -> Window:
        """A window after ``warmup_years`` of warm-up, lasting ``measured_years``."""
        return cls(warmup_years * YEAR, (warmup_years + measured_years) * YEAR)

    @property
    def years(self) -> float:
        """Length of the window in years."""
        return (self.end - self.start) / YEAR

    def contains(self, t: float) -> bool:
        """Whether time ``t`` (days) lies in ``[start, end)``."""
        return self.start <= t < self.end
