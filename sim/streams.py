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
from collections.abc import Iterator

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
    "care",
    "breakdown",
    "early_help",
    "community_team",
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

    __slots__ = ("gen", "_u", "_n", "_e")

    def __init__(self, seed_seq: np.random.SeedSequence) -> None:
        self.gen = np.random.Generator(np.random.PCG64(seed_seq))
        # iterators over the current blocks (empty until the first draw)
        self._u: Iterator[float] = iter(())
        self._n: Iterator[float] = iter(())
        self._e: Iterator[float] = iter(())

    def random(self) -> float:
        """A uniform draw on [0, 1)."""
        try:
            return next(self._u)
        except StopIteration:
            self._u = iter(self.gen.random(_BLOCK).tolist())
            return next(self._u)

    def normal(self, sd: float = 1.0) -> float:
        """A normal draw with mean 0 and standard deviation ``sd``."""
        try:
            return next(self._n) * sd
        except StopIteration:
            self._n = iter(self.gen.standard_normal(_BLOCK).tolist())
            return next(self._n) * sd

    def exponential(self, mean: float) -> float:
        """An exponential draw with the given mean (same unit as the mean), at least
        :data:`MIN_DURATION`."""
        try:
            x = next(self._e) * mean
        except StopIteration:
            self._e = iter(self.gen.standard_exponential(_BLOCK).tolist())
            x = next(self._e) * mean
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
