"""The ``pyro-vamp`` command line (installed as ``pyro_vamp.cli``): parses, calls the library, prints.

OpenMP's wait policy is set here, before anything imports torch (see :mod:`pyro_vamp.runtime`).
"""

from pyro_vamp.runtime import tune_openmp

tune_openmp()
