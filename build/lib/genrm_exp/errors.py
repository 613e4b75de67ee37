"""Errors a user can fix: bad data, a missing file, a wrong setting. The message is the whole story,
so the command line shows it alone (the traceback goes to the run folder's error.txt).
"""


class UserError(Exception):
    """A mistake in the input or the settings; its message names the file, row, key or setting."""


class ConfigError(UserError, ValueError):
    """A setting with a value the code cannot use; the message names the key and what it expects."""
