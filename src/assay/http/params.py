"""The types of ids and page numbers in paths, queries and bodies, shared by api/ and web/.

An id outside 1..MAX_ID (`services.checks`) is refused with 400 naming the parameter before
the endpoint runs, so no id too large for the database's integer columns reaches a query.
`tests/api/test_bounds.py` checks that every integer any route takes is one of these (or has
bounds of its own).
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

from assay.services.checks import MAX_ID
from assay.services.pagination import MAX_PAGE_SIZE

Id = Annotated[int, Interval(ge=1, le=MAX_ID)]
"""A row's id: project, task, annotation, user, job, ..."""

PageNumber = Annotated[int, Interval(ge=1, le=MAX_ID)]
"""A page of a list, from 1 (past the last page answers 404)."""

PageSize = Annotated[int, Interval(ge=1, le=MAX_PAGE_SIZE)]
"""Items per page of an API list (label-studio-sdk asks for everything with a huge one)."""
