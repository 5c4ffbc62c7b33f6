"""The ground-truth stage editor page of a job."""

from __future__ import annotations

from fastapi import APIRouter

from assay.web.common import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
