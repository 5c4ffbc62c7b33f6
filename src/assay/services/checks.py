"""Checks of values from requests and files that several services share.

JSON numbers arrive as int, float or bool, and `True` is an `int` in Python: an id or a count
must be an int that is not a bool. Ids are 32-bit integer columns on PostgreSQL (SQLite's hold
64 bits): an id outside 1..MAX_ID names nothing, and sent to the database it fails there, so
every id from outside is checked against this range before it reaches a query.
"""

from __future__ import annotations

import math
from typing import Any

MAX_ID = 2**31 - 1  # the largest id a row can have (PostgreSQL `integer`)


def is_int(value: Any) -> bool:
    """An integer, and not True/False."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_id(value: Any) -> bool:
    """An integer that can be a row's id: 1..MAX_ID, and not True/False."""
    return is_int(value) and 1 <= value <= MAX_ID


def is_count(value: Any, low: int = 0) -> bool:
    """An integer from `low` to MAX_ID (a count, a size, a seed), and not True/False."""
    return is_int(value) and low <= value <= MAX_ID


def is_number(value: Any) -> bool:
    """An int or a float, and not True/False."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A number (`is_number`) that a float holds finitely: not NaN or infinite, and not an int
    beyond float's range (`math.isfinite` raises on those)."""
    if not is_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def is_id_list(value: Any) -> bool:
    """A list whose items are all ids (`is_id`)."""
    return isinstance(value, list) and all(is_id(v) for v in value)
