"""The errors a user sees as one line (the command line prints them, never a traceback). Here, apart
from the modules that raise them, so that the command line can catch them without importing those."""


class StoreError(Exception):
    """A problem with the store itself (locked, unreadable). One line."""


class InputError(Exception):
    """A whole file cannot be read (missing, truncated zip, empty, unknown format). One line."""
