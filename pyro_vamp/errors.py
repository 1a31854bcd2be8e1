"""The one exception type for bad input.

Anything the user can fix (a wrong dataset name, a missing file, a corrupt
checkpoint, a bad config value) raises :class:`InputError` with a one-line
message saying what is wrong and how to fix it. The CLI turns it into that line
on stderr and exit code 2.
"""


class InputError(ValueError):
    """Bad input from the user: the message is one line and says how to fix it."""
