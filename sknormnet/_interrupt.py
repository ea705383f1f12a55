"""Ctrl-C, handled in one place for the whole package.

Python's own SIGINT handler raises KeyboardInterrupt wherever the main thread
happens to be. Training would rather finish the batch it is on and stop there,
with a usable model; a search would rather drop the round it is on, so that no
fit cut short is ever scored, and keep the rounds that finished. Both take the
handler of :func:`handling_ctrl_c` for the time they run:

- training checks :attr:`CtrlC.requested` after each batch;
- a search evaluates its candidates inside :meth:`CtrlC.raising`, where
  Ctrl-C raises KeyboardInterrupt at once, into the fits it interrupts.

The handler is installed only in the main thread, and only where SIGINT has
Python's default handler: a process that ignores SIGINT (started with
``nohup`` or ``&``) keeps ignoring it, and an application's own handler is
left in charge. Inside a block that has the handler, a nested block gets None
and leaves Ctrl-C to the outer one: a fit inside a search does not stop
gracefully, it is interrupted like the search.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class CtrlC:
    """The package's SIGINT handler: a first Ctrl-C is a request, a second one
    (or the first, inside :meth:`raising`) raises KeyboardInterrupt.

    Attributes
    ----------
    requested : bool
        Whether Ctrl-C was pressed since the handler was installed.
    """

    def __init__(self) -> None:
        self.requested = False
        self._raise_at_once = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested or self._raise_at_once:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def raising(self) -> Iterator[None]:
        """Within the block, Ctrl-C raises KeyboardInterrupt at once; a
        request made before the block raises on entry."""
        if self.requested:
            raise KeyboardInterrupt
        self._raise_at_once = True
        try:
            yield
        finally:
            self._raise_at_once = False


@contextlib.contextmanager
def handling_ctrl_c() -> Iterator[CtrlC | None]:
    """Install the package's handler for the block, if it may.

    Yields
    ------
    handler : CtrlC or None
        The handler installed for this block, or None when Ctrl-C is left as
        it was: outside the main thread, where SIGINT is ignored or has an
        application's handler, or inside another block that has the handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield None
        return
    handler = CtrlC()
    signal.signal(signal.SIGINT, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGINT, previous)
