"""``python -m pyro_vamp``: the ``pyro-vamp`` command line."""

import sys

from pyro_vamp.cli.main import main

sys.exit(main())
