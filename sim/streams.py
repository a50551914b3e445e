"""Independent random streams, one per source of randomness.

Each source (concerns arising, screening, assessment, help, workforce, court, ...) draws
from its own :class:`Stream`, seeded from ``numpy.random.SeedSequence(seed,
spawn_key=(rep, index))`` where ``index`` is the source's fixed position in
:data:`STREAM_NAMES`. Replication ``k`` of every scenario therefore sees the same numbers
from each source (common random numbers), and changing the parameters of one activity
leaves the other streams untouched. Adding a source appends a name and shifts nothing.

Draws are buffered: a stream fills blocks of uniforms, standard normals and unit
exponentials with vectorised numpy calls and hands them out one at a time, which keeps
per-event cost small.
"""

from __future__ import annotations

import math

import numpy as np

#: Sources of randomness, in a fixed order that must only ever be appended to.
STREAM_NAMES: tuple[str, ...] = (
    "concerns",
    "community",
    "front_door",
    "assessment",
    "decisions",
    "help",
    "workforce",
    "court",
    "incidents",
    "initial",
    "system",
    "initial_workforce",
    "leavers",
)

_BLOCK = 4096
#: Smallest duration a sampled time may take (days): guards against zero-length waits.
MIN_DURATION: float = 1e-6


class Stream:
    """A buffered random stream for one source of randomness.

    Parameters
    ----------
    seed_seq : numpy.random.SeedSequence
        The stream's own seed sequence.
    """

    __slots__ = ("gen", "_u", "_ui", "_n", "_ni", "_e", "_ei")

    def __init__(self, seed_seq: np.random.SeedSequence) -> None:
        self.gen = np.random.Generator(np.random.PCG64(seed_seq))
        self._u: list[float] = []
        self._ui = 0
        self._n: list[float] = []
        self._ni = 0
        self._e: list[float] = []
        self._ei = 0

    def random(self) -> float:
        """A uniform draw on [0, 1)."""
        i = self._ui
        if i >= len(self._u):
            self._u = self.gen.random(_BLOCK).tolist()
            i = 0
        self._ui = i + 1
        return self._u[i]

    def normal(self, sd: float = 1.0) -> float:
        """A normal draw with mean 0 and standard deviation ``sd``."""
        i = self._ni
        if i >= len(self._n):
            self._n = self.gen.standard_normal(_BLOCK).tolist()
            i = 0
        self._ni = i + 1
        return self._n[i] * sd

    def exponential(self, mean: float) -> float:
        """An exponential draw with the given mean (same unit as the mean), at least
        :data:`MIN_DURATION`."""
        i = self._ei
        if i >= len(self._e):
            self._e = self.gen.standard_exponential(_BLOCK).tolist()
            i = 0
        self._ei = i + 1
        x = self._e[i] * mean
        return x if x > MIN_DURATION else MIN_DURATION

    def bernoulli(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.random() < p

    def lognormal_mean1(self, sigma: float) -> float:
        """A lognormal draw with mean 1 and log-scale standard deviation ``sigma``."""
        return math.exp(self.normal(sigma) - 0.5 * sigma * sigma)

    def poisson(self, lam: float) -> int:
        """A Poisson count with mean ``lam`` (unbuffered; used for batch sizes)."""
        return int(self.gen.poisson(lam)) if lam > 0 else 0


class Streams:
    """All the random streams of one replication.

    Parameters
    ----------
    seed : int
        Base seed of the experiment.
    rep : int
        Replication number; replication ``rep`` of every scenario gets the same streams.
    """

    def __init__(self, seed: int, rep: int) -> None:
        self.seed = seed
        self.rep = rep
        for index, name in enumerate(STREAM_NAMES):
            ss = np.random.SeedSequence(seed, spawn_key=(rep, index))
            setattr(self, name, Stream(ss))

    def __getitem__(self, name: str) -> Stream:
        if name not in STREAM_NAMES:
            raise KeyError(name)
        return getattr(self, name)
