"""The user-facing error of every alfred module (scripts show it as one line, exit code 2)."""


class AlfredError(Exception):
    """A problem with the user's input or files: shown as one line, exit code 2."""
