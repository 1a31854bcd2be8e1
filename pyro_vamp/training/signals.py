"""SIGINT and SIGTERM during training: noted, acted on between steps."""

import signal
import threading
from types import FrameType
from typing import Any


class StopSignals:
    """While active, SIGINT and SIGTERM only set :attr:`received`; the loop checks it after each step.

    Outside the main thread (where Python cannot install handlers) it does nothing.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @property
    def number(self) -> int:
        """The signal this process received, or SIGTERM when only another process received one."""
        return self.received if self.received is not None else signal.SIGTERM
