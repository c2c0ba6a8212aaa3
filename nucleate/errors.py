"""The one exception type a user can cause; the CLI turns it into a message and exit code 2."""


class NucleateError(Exception):
    """A problem with the user's input or environment, with a message that says how to fix it."""
