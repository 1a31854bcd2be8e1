"""The ``pyro-vamp`` command line (installed as ``pyro_vamp.cli``): parses, calls the library, prints.

OpenMP's wait policy is set here, before anything imports torch (see :mod:`pyro_vamp.openmp`).
"""

from pyro_vamp.openmp import tune_openmp

tune_openmp()
