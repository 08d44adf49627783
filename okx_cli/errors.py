"""What every command module shares: the program name and the error a user can fix."""

from __future__ import annotations

PROG = "okx-flows"


class UserError(Exception):
    """A problem the user can fix; printed as one line."""
