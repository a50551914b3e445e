"""Progress bars for runs that take more than a second (tqdm), shared by the command line
and the Python interface."""

from __future__ import annotations

from typing import Any, TextIO

#: Seconds before a progress bar appears (runs shorter than that show none).
PROGRESS_DELAY = 1.0


def _tqdm(auto: bool) -> Any:
    """tqdm's class: with ``auto``, a widget in a notebook (tqdm.auto) when ipywidgets is
    installed; otherwise the text bar (a notebook shows it too)."""
    if auto:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            pass
        else:
            from tqdm.auto import tqdm as auto_tqdm

            return auto_tqdm
    from tqdm import tqdm as text_tqdm

    return text_tqdm


class ProgressBar:
    """A tqdm progress bar on standard error, fed by ``progress(done, total)`` callbacks.

    It appears only after :data:`PROGRESS_DELAY` seconds, and not at all when disabled
    (``--quiet``, or standard error is not a terminal). The total may grow between calls
    (automatic replications). Close it with :meth:`close` (or use it in a ``with`` block).
    """

    def __init__(self, label: str, stream: TextIO, *, enabled: bool = True,
                 unit: str = "rep", auto: bool = False, delay: float = PROGRESS_DELAY) -> None:
        self.auto = auto
        self.delay = delay
        self.label = label
        self.stream = stream
        self.enabled = enabled
        self.unit = unit
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            tqdm = _tqdm(self.auto)

            self.bar = tqdm(
                total=total, initial=done, desc=self.label, unit=self.unit, file=self.stream,
                delay=self.delay, disable=not self.enabled, dynamic_ncols=True,
                leave=True,
            )
            return
        if total != self.bar.total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
