"""The one exception hierarchy of marginlab.

Every error names the field or rule it is about and the value it was given, so a front end can print
``str(error)`` as a single line without a traceback::

    MarginLabError
     ├── InputError(ValueError)        a field has a bad value (portfolio files, CLI options, API arguments)
     ├── RuleSetError(LookupError)     unknown venue or symbol, tier table gaps, notional beyond the last tier
     ├── DataError(ValueError)         a data file cannot be read or fails validation
     └── OperationRejected             an account operation breaks a venue rule; the account is unchanged
          └── InsufficientMargin       the operation needs more margin or balance than is available
"""

from __future__ import annotations

import reprlib
from decimal import Decimal

SHOWN = 40
"""Characters of a value an error message shows; a longer one is cut there and ends with ``…``."""


class MarginLabError(Exception):
    """Base class of every error raised on purpose by marginlab."""


class InputError(MarginLabError, ValueError):
    """A field has a bad value. The message names the field and the value."""

    def __init__(self, field: str, value: object, expected: str, *, problem: str | None = None) -> None:
        if problem is not None:
            super().__init__(f"{field}: {problem}")
        else:
            super().__init__(f"{field}: expected {expected}, was {shown(value)}")
        self.field = field
        self.value = value
        self.expected = expected


def shown(value: object, limit: int = SHOWN) -> str:
    """Return ``value`` as an error message shows it, never whole when it is long.

    ``repr`` (a Decimal as ``str``), cut after ``limit`` characters with ``…`` (a string also gives its
    length), so a 50 MB symbol or a deeply nested document is never echoed back.
    """
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + f"… ({len(value):,} characters)"
    else:
        brief = reprlib.Repr()
        brief.maxlevel, brief.maxstring, brief.maxother = 3, limit + 2, limit + 2
        text = brief.repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class RuleSetError(MarginLabError, LookupError):
    """A venue, symbol or tier cannot be found, or a tier table is inconsistent."""


class DataError(MarginLabError, ValueError):
    """A data file cannot be read or fails validation (the message names the file and the row)."""


class OperationRejected(MarginLabError):
    """An account operation breaks a rule; the account state is left unchanged.

    Parameters
    ----------
    rule : str
        Short name of the rule that rejected the operation (e.g. ``"binance.mode_switch"``).
    message : str
        One-line explanation that names the values involved.
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} [rule: {rule}]")
        self.rule = rule


class InsufficientMargin(OperationRejected):
    """The operation needs more margin or balance than is available."""

    def __init__(self, *, what: str, required: Decimal, available: Decimal, rule: str) -> None:
        super().__init__(rule, f"insufficient balance for {what}: required {required}, available {available}")
        self.required = required
        self.available = available
