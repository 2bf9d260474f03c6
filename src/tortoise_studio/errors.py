"""Errors the user can act on.

A `UserError` carries a one-line message that names the file or field and what is wrong with it.
The command line prints it and exits with status 2; the web UI shows it in the page.
"""


class UserError(Exception):
    """Invalid input: a bad name, value, file or configuration field."""
