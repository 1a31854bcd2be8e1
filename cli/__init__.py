"""The ``pyro-vamp`` command line (installed as ``pyro_vamp.cli``): parses, calls the library, prints."""
