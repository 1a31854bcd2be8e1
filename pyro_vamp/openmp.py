"""OpenMP thread waiting: a short bounded spin instead of sleeping at once (or spinning forever).

Between two parallel operations torch's OpenMP threads (GNU libgomp) either spin, waiting for the
next one, or sleep. ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep at once, so every one of the
hundreds of small operations of a training step pays for waking them (a VampPrior HVAE step took
48-65 ms instead of 36-45 ms on 2 cores); spinning without a bound (``ACTIVE``, or libgomp's
default of 300,000 spins) steals the cores from other work when the machine is shared.
A bounded ``GOMP_SPINCOUNT`` of 10,000 spins (well under a millisecond) keeps the fast case and
was no slower than ``PASSIVE`` with two busy processes on the same 2 cores.

libgomp reads its settings once, when torch is first imported, so :func:`tune_openmp` must run
before that: the ``pyro-vamp`` command and the benchmarks call it first thing. This module
imports nothing heavy for that reason.
"""

import os
import sys

#: Spins of libgomp's busy-wait loop before a waiting thread sleeps.
SPIN_COUNT = 10_000

#: What :func:`tune_openmp` set in this process (recorded in run folders).
APPLIED: dict = {}


def tune_openmp() -> dict:
    """Set ``GOMP_SPINCOUNT=10000`` for libgomp unless the user chose a wait policy themselves
    (``GOMP_SPINCOUNT`` given, or ``OMP_WAIT_POLICY=ACTIVE``) or torch is already imported (then it
    is too late). ``OMP_WAIT_POLICY=PASSIVE`` alone is overridden by the bounded spin.
    Returns what was set."""
    user_choice = "GOMP_SPINCOUNT" in os.environ or os.environ.get("OMP_WAIT_POLICY", "").upper() == "ACTIVE"
    if not user_choice and "torch" not in sys.modules:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
        APPLIED["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    return APPLIED


def openmp_settings() -> dict:
    """The OpenMP wait settings of this process's environment, as torch's libgomp saw them."""
    return {name: os.environ[name] for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
            if name in os.environ}
