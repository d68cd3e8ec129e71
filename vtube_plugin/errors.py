"""The one error type for user mistakes: the CLI prints its message and exits with its code.

Raise `UserError` for anything the user can fix (a bad file, a bad value, a missing download);
never for programming errors, which should keep their traceback.
"""


class UserError(Exception):
    """A mistake the user can fix. `str(err)` says what was wrong and what to do."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code
