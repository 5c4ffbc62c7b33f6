"""Checks of values from requests and files that several services share.

JSON numbers arrive as int, float or bool, and `True` is an `int` in Python: an id or a count
must be an int that is not a bool.
"""

from __future__ import annotations

from typing import Any


def is_int(value: Any) -> bool:
    """An integer, and not True/False."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or a float, and not True/False."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_id_list(value: Any) -> bool:
    """A list whose items are all integers (ids), and not True/False."""
    return isinstance(value, list) and all(is_int(v) for v in value)
