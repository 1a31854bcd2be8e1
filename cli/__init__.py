"""The ``pyro-vamp`` command line (installed as ``pyro_vamp.cli``): parses, calls the library, prints.

OpenMP's wait policy is set here, before anything imports torch (see :mod:`pyro_vamp.runtime`).
Ctrl-C (or SIGTERM) while the command line starts up exits at once with one line and code 130
(143), instead of a traceback; :func:`pyro_vamp.cli.main.main` then takes over the signals.
"""

import os
import signal
import sys


def _stopped_while_starting(signum, frame):  # nothing is written yet: nothing to clean up
    sys.stderr.write(f"interrupted ({signal.Signals(signum).name})\n")
    sys.stderr.flush()
    os._exit(128 + signum)


_STARTING = sys.argv[:1] == ["-m"] or os.path.basename(sys.argv[0]) == "pyro-vamp"  # not imported by a program
if _STARTING and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _stopped_while_starting)
    signal.signal(signal.SIGTERM, _stopped_while_starting)

from pyro_vamp.runtime import tune_openmp  # noqa: E402 - after the handlers

tune_openmp()
