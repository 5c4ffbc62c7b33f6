"""The My work page: the signed-in person's jobs and the reviews of their annotations.

`GET /me` says first in which projects they are paused (services.evaluation: why, since when,
by whom, whom to ask), then lists every job they are assigned to (progress, hand-in status,
the latest attempt's score and hints as the job's feedback page shows them) and, paginated, their
annotations that have a standing review (`?status=rejected` keeps one verdict). What it may
show is decided by services.views.my_work.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from assay.http.params import PageNumber
from assay.services import evaluation
from assay.services.views import my_work
from assay.web.common import MAX_PAGE_SIZE, PAGE_SIZE, PageRoute, pager, reading, render
from assay.web.feedback import STATUS_TITLES
from assay.web.gt_stage import annotate_url, feedback_url

router = APIRouter(route_class=PageRoute, include_in_schema=False)

VERDICT_TITLES = {"accepted": "Accepted", "fixed": "Fixed & accepted", "rejected": "Rejected"}
FILTERS = (
    (None, "All reviews"),
    ("rejected", "Rejected"),
    ("fixed", "Fixed"),
    ("accepted", "Accepted"),
)


@router.get("/me")
def my_work_page(
    request: Request,
    page: PageNumber = 1,
    page_size: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    status: str | None = Query(None),
) -> Response:
    status = status or None
    with reading(request) as (s, actor):
        mine = my_work.my_jobs(s, actor)
        paused = evaluation.current_pauses(s, actor)  # why, since when, by whom, whom to ask
        held = {project.id for project, _ in paused}
        reviews, pg = my_work.my_reviews(s, actor, status, page, page_size)
        rows = [
            {
                "job": m.job,
                "project": m.project,
                "done": m.done,
                "total": m.total,
                "status": m.status,
                "status_title": STATUS_TITLES[m.status],
                "latest": m.latest,
                "attempts_left": m.feedback.attempts_left,
                "feedback": feedback_url(m.job.id),
                "annotate": annotate_url(m.job.id)
                if m.status in ("open", "needs_fixes") and m.project.id not in held
                else None,
                "paused": m.project.id in held,
                "started": m.done > 0 or bool(m.latest),
            }
            for m in mine
        ]
        context = {
            "title": "My work",
            "jobs": rows,
            "paused": [{"project": project, **info} for project, info in paused],
            "reviews": reviews,
            "verdicts": VERDICT_TITLES,
            "status": status,
            "filters": _filters(request, status),
            "pages": pager(request, pg),
        }
        return render(request, "my_work.html", context, actor)


def _filters(request: Request, current: str | None) -> list[dict[str, Any]]:
    """All / one verdict: same page size, back to page 1."""
    size = request.query_params.get("page_size")
    out = []
    for value, label in FILTERS:
        params = {k: v for k, v in (("status", value), ("page_size", size)) if v}
        url = request.url.path + (f"?{urlencode(params)}" if params else "")
        out.append({"label": label, "url": url, "current": value == current})
    return out
