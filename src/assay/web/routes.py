"""Web pages: login, project list, project page, task page."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from assay.http.context import client_address, database, start_web_session, web_session_key
from assay.http.csrf import check_csrf
from assay.http.params import Id, PageNumber
from assay.services import authors, consensus, honeypots, projects, tasks, users
from assay.services.access import Action, Actor, Role, can_review, sees_ground_truth
from assay.services.errors import Forbidden, Invalid, TooManyRequests, Unauthorized
from assay.services.ground_truth import annotator_coverage
from assay.services.honeypots.pool import active_pool_size
from assay.services.task_aliases import seen_tasks
from assay.services.tasks import ls_json
from assay.services.views import dm_filters, saved_views, task_list, task_table
from assay.store.models import Annotation, Prediction, SavedView
from assay.web import adjudication
from assay.web.common import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    PageRoute,
    config_of,
    image_src,
    label_colours,
    pager,
    reading,
    region_count,
    render,
    safe_next,
    when,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next_: str = Query("/", alias="next")) -> Response:
    target = safe_next(next_)
    if web_session_key(request) is not None:
        return RedirectResponse(target, status_code=303)
    context = {"title": "Log in", "next": target, "email": "", "error": None}
    return render(request, "login.html", context, None)


@router.post("/login")
def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    submitted_csrf: str = Form("", alias="csrf_token"),
    next_: str = Form("/", alias="next"),
) -> Response:
    target = safe_next(next_)
    form = {"title": "Log in", "next": target, "email": email}
    try:
        check_csrf(request, submitted_csrf)
    except Forbidden as exc:
        return render(request, "login.html", {**form, "error": exc.detail}, None, 403)
    lifetime = timedelta(seconds=request.app.state.settings.session_max_age_s)
    try:
        _actor, key = users.log_in(
            database(request), email, password, client_address(request), lifetime
        )
    except TooManyRequests as exc:
        page = render(request, "login.html", {**form, "error": exc.detail}, None, 429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except Unauthorized as exc:
        return render(request, "login.html", {**form, "error": exc.detail}, None, 400)
    start_web_session(request, key)  # a fresh cookie (and CSRF token) for the signed-in user
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, submitted_csrf: str = Form("", alias="csrf_token")) -> Response:
    """End the session on the server (a copy of the cookie stops working too)."""
    key = web_session_key(request)
    if key is not None:
        check_csrf(request, submitted_csrf)
        with database(request).session(write=True) as s:
            users.log_out(s, key)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def project_list(
    request: Request,
    page: PageNumber = 1,
    page_size: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
) -> Response:
    with reading(request) as (s, actor):
        rows, pg = projects.list_projects(s, actor, page, page_size)
        counts = tasks.counts_seen_by(s, actor, [p.id for p in rows])
        context = {
            "title": "Projects",
            "projects": [(p, counts[p.id]) for p in rows],
            "pages": pager(request, pg),
            "sees_gt": sees_ground_truth(actor),
        }
        return render(request, "projects.html", context, actor)


@router.get("/projects/{project_id}")
def project_page(
    request: Request,
    project_id: Id,
    page: PageNumber = 1,
    page_size: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    ground_truth: bool | None = Query(None),
    review_status: str | None = Query(None),
    view: Id | None = Query(None),
    ordering: str | None = Query(None),
    new_job: bool = Query(False),
) -> Response:
    """The data manager: the project's counts and its task table, filtered by ground truth,
    by review status and by a saved view (its filters and ordering), ordered by `ordering`.
    `new_job` (the jobs page's "New job") shows how to make a job of the selected tasks."""
    review_status = review_status or None
    ordering = ordering or None
    with reading(request) as (s, actor):
        project = projects.get_project(s, actor, project_id)
        views = saved_views.list_views(s, actor, project_id)
        current = saved_views.get_view(s, actor, view) if view is not None else None
        query = (
            saved_views.query_of(s, actor, view, project_id)
            if view is not None
            else dm_filters.DmQuery()
        )
        if ordering is not None:
            query = replace(query, ordering=dm_filters.parse_ordering([ordering], "ordering"))
        listing_of = partial(
            task_list.list_tasks,
            s,
            actor,
            project_id,
            page,
            page_size,
            has_ground_truth=ground_truth,
            review_status=review_status,
        )
        refusal = None
        try:
            listing = listing_of(query=query)
        except Forbidden as exc:
            if current is None:
                raise
            # a project-wide view may filter by what this member may not (an annotator, GT):
            # the tab stays, the table says why it is empty
            listing, refusal = listing_of(), exc.detail
        header = task_table.table_header(s, actor, project_id)
        task_ids = [t.id for t in listing.tasks]
        sees_gt = sees_ground_truth(actor)
        changes_gt = actor.may(Action.GROUND_TRUTH_CHANGE)
        gt = task_table.ground_truth_cells(s, actor, project_id, task_ids) if sees_gt else {}
        sees_quality = actor.may(Action.QUALITY_VIEW)
        quality = task_table.quality_cells(s, actor, project_id, task_ids) if sees_quality else {}
        sees_honeypots = actor.may(Action.HONEYPOTS_VIEW)
        pool = task_table.honeypot_cells(s, actor, project_id, task_ids) if sees_honeypots else {}
        reviews = actor.may(Action.REVIEW)
        review_cells = (
            task_table.review_cells(s, actor, project_id, task_ids, listing.annotations)
            if reviews
            else {}
        )
        config = config_of(project)
        key = config.image_key() if config else None
        shown = {t.id: ls_json.shown(t, listing.seen) for t in listing.tasks}
        rows = [
            {
                "task": t,
                "shown": shown[t.id],
                "image": tasks.thumbnail_url(image_src(shown[t.id].data.get(key)) if key else None),
                "annotations": len(ls_json.people_work(listing.annotations.get(t.id, []))[1]),
                "predictions": len(listing.predictions.get(t.id, [])),
                "gt": gt.get(t.id),
                "quality": quality.get(t.id),
                "review": review_cells.get(t.id),
                "honeypot": pool.get(t.id),
            }
            for t in listing.tasks
            if refusal is None
        ]
        members = projects.list_members(s, actor, project_id) if changes_gt else []
        covered = annotator_coverage(s, actor, project_id) if changes_gt else {}
        annotators = [(u, covered.get(u.id, 0)) for u in members if u.role == Role.ANNOTATOR]
        reviewers = [u for u in members if u.is_active and can_review(u.role)]
        manages_reviews = actor.may(Action.REVIEWS_MANAGE)
        creates_jobs = changes_gt and actor.may(Action.JOBS_MANAGE)
        # who a new job may go to: the members, annotators first
        job_people = sorted(
            (u for u in members if u.is_active), key=lambda u: (u.role != Role.ANNOTATOR, u.id)
        )
        honeypot_rule = (
            _honeypot_rule(honeypots.settings_of(project), active_pool_size(s, project_id))
            if creates_jobs
            else ""
        )
        waiting = consensus.waiting_count(s, actor, project_id) if changes_gt else None
        pages = pager(request, listing.page)
        context = {
            "title": project.title or f"Project {project.id}",
            "project": project,
            "header": header,
            "rows": rows,
            "pages": pages,
            "sees_gt": sees_gt,
            "changes_gt": changes_gt,
            "sees_quality": sees_quality,
            "reviews": reviews,
            "manages_reviews": manages_reviews,
            "sees_honeypots": sees_honeypots,
            "manages_honeypots": actor.may(Action.HONEYPOTS_MANAGE),
            "samples_gt": actor.may(Action.JOBS_MANAGE),
            "creates_jobs": creates_jobs,
            "job_people": job_people,
            "honeypot_rule": honeypot_rule,
            "new_job_hint": new_job and creates_jobs,
            "difficulties": honeypots.DIFFICULTIES,
            "sees_dashboard": actor.may(Action.DASHBOARD_VIEW),
            "filter": ground_truth,
            "review_filter": review_status,
            "filters": _gt_filters(request, ground_truth) if sees_gt else [],
            "review_filters": _review_filters(request, review_status) if reviews else [],
            "annotators": annotators,
            "reviewers": reviewers,
            "review_url": f"/projects/{project.id}/review",
            "waiting": waiting,
            "adjudication_url": adjudication.adjudication_url(project.id),
            "weightings": WEIGHTING_TITLES,
            "GT_STATUS_TITLES": GT_STATUS_TITLES,
            "views": _view_tabs(request, views, current, actor),
            "all_views_url": _filter_url(request, "view", None, keep=("page_size",)),
            "current_view": current,
            "view_refusal": refusal,
            "request_params": request.query_params,
            "orderings": _orderings(actor, ordering or _ordering_of(current)),
            "ordering": ordering or _ordering_of(current),
            "views_data": {
                "project": project.id,
                "view": current.id if current else None,
                "data": current.data if current else None,
                "shares": actor.may(Action.DM_VIEWS_SHARE),
                "page": _page_view(current, ground_truth, review_status, ordering),
                "all_url": _filter_url(request, "view", None, keep=("page_size",)),
            },
            "dm": {
                "project": project.id,
                "filter": ground_truth,
                "review_status": review_status,
                "view": current.id if current else None,
                "ordering": ordering,
                "total": pages["total"],
                "sample_url": f"/api/projects/{project.id}/ground-truth/sample",
                "jobs_url": f"/projects/{project.id}/jobs",
                "create_job_url": f"/api/projects/{project.id}/jobs",
            },
            "consensus_urls": {
                "merge": f"/api/projects/{project.id}/consensus/merge",
                "preview": f"/api/projects/{project.id}/consensus/preview",
                "job": "/api/background-jobs/{job}",
                "waiting": f"/api/projects/{project.id}/adjudication/next",
            },
        }
        return render(request, "project.html", context, actor)


def _honeypot_rule(cfg: honeypots.HoneypotSettings, pool: int) -> str:
    """What honeypots a new job gets, in the words of the "Create job" dialog."""
    per_job = cfg.per_job
    if not per_job or not pool:
        why = "its honeypot settings add none" if not per_job else "its honeypot pool is empty"
        return f"No honeypots are added: {why}."
    share = (
        f"{per_job} per job"
        if isinstance(per_job, int)
        else f"{100 * per_job:g} % of the job's tasks, at least one"
    )
    return (
        f"Honeypots from the project's pool ({pool} active) are mixed in per its honeypot "
        f"settings: {share}, none an assignee has seen before."
    )


# The GT status column: the GT stage's state, and for a task that has not been through the
# stage whether it has a ground truth all the same (a starred one is never "none").
GT_STATUS_TITLES = {
    "done": "its ground-truth stage is finished",
    "empty": "its ground-truth stage finished with no regions",
    "set": "it has a ground truth, not made in the ground-truth stage",
    "none": "no ground truth yet",
}
WEIGHTING_TITLES = {
    "uniform": "Uniform: every annotator counts the same",
    "accuracy": "Accuracy: each annotator's mean accuracy against GT",
    "dawid_skene": "Dawid-Skene: reliability estimated from the votes",
}
REVIEW_FILTERS = (
    (None, "Any review"),
    ("none", "Not reviewed"),
    ("accepted", "Accepted"),
    ("fixed", "Fixed"),
    ("rejected", "Rejected"),
)


FILTER_PARAMS = ("page_size", "ground_truth", "review_status", "view", "ordering")
# The table's orderings (Label Studio's `ordering`), each offered to those who may use it.
ORDERINGS = (
    ("tasks:id", "Task ↑"),
    ("-tasks:id", "Task ↓"),
    ("-tasks:total_annotations", "Most annotations"),
    ("tasks:total_annotations", "Fewest annotations"),
    ("-tasks:created_at", "Newest first"),
    ("tasks:created_at", "Oldest first"),
)


def _filter_url(
    request: Request, name: str, value: str | None, keep: tuple[str, ...] = FILTER_PARAMS
) -> str:
    """This page with one filter set (or cleared), the others (`keep`) kept, page 1."""
    kept = {k: v for k, v in request.query_params.items() if k in keep and k != name and v}
    params = {**kept, **({name: value} if value is not None else {})}
    return request.url.path + (f"?{urlencode(params)}" if params else "")


def _view_tabs(
    request: Request, views: list[SavedView], current: SavedView | None, actor: Actor
) -> list[dict[str, Any]]:
    """The saved-view tabs: a tab applies the view alone (page size kept, other filters not)."""
    return [
        {
            "id": v.id,
            "title": v.data.get("title") or f"View {v.id}",
            "personal": v.scope == saved_views.PERSONAL,
            "may_change": saved_views.may_change(actor, v),
            "url": _filter_url(request, "view", str(v.id), keep=("page_size",)),
            "current": current is not None and v.id == current.id,
        }
        for v in views
    ]


def _ordering_of(view: SavedView | None) -> str:
    ordering = view.data.get("ordering") if view else None
    return ordering[0] if ordering else "tasks:id"


def _orderings(actor: Actor, current: str) -> list[tuple[str, str]]:
    """The ordering choices, the current one among them even when a view brought another."""
    out = [
        (value, label)
        for value, label in ORDERINGS
        if dm_filters.may_use(actor, value.lstrip("-").removeprefix(dm_filters.ORDER_PREFIX))
    ]
    if current not in {value for value, _ in out}:
        out.append((current, current))
    return out


def _page_view(
    current: SavedView | None,
    ground_truth: bool | None,
    review_status: str | None,
    ordering: str | None,
) -> dict[str, Any]:
    """What "Save view" saves: the page's filters and ordering, or why they cannot be saved."""
    try:
        return {
            "data": saved_views.page_data(
                current.data if current else None, ground_truth, review_status, ordering
            )
        }
    except Invalid as exc:
        return {"error": exc.detail}


def _gt_filters(request: Request, current: bool | None) -> list[dict[str, Any]]:
    """The All / Has GT / No GT links: same page size and review filter, back to page 1."""
    out = []
    for value, label in ((None, "All"), (True, "Has GT"), (False, "No GT")):
        text = str(value).lower() if value is not None else None
        url = _filter_url(request, "ground_truth", text)
        out.append({"label": label, "url": url, "current": value is current})
    return out


def _review_filters(request: Request, current: str | None) -> list[dict[str, Any]]:
    """Tasks with an annotation of this review status: same page size and GT filter."""
    return [
        {"label": label, "url": _filter_url(request, "review_status", value),
         "current": value == current}
        for value, label in REVIEW_FILTERS
    ]  # fmt: skip


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: Id) -> Response:
    with reading(request) as (s, actor):
        task, job_id = tasks.resolve_task(s, actor, task_id)
        me = ls_json.shown(task, seen_tasks(s, actor, [task.id], job_id))
        project = projects.get_project(s, actor, task.project_id)
        anns, preds = tasks.regions_of(s, actor, [task.id])
        emails = authors.emails_of(s, [a.completed_by_id for a in anns.get(task.id, [])])
        config = config_of(project)
        key = config.image_key() if config else None
        merged = _consensus_of(s, actor, task.id, anns.get(task.id, []))
        previous, following = tasks.neighbours(s, actor, task)
        sources = [_annotation_source(a, actor, emails, merged) for a in anns.get(task.id, [])]
        sources += [_prediction_source(p) for p in preds.get(task.id, [])]
        payload = {
            "task": {"id": me.id, "width": task.width, "height": task.height},
            "colours": label_colours(config),
            "sources": sources,
            "selected": _default_source(sources),
        }
        context = {
            "title": f"Task {me.id}",
            "project": project,
            "task": task,
            "shown": me,
            "image": image_src(me.data.get(key)) if key else None,
            "sources": sources,
            "payload": payload,
            "sees_gt": sees_ground_truth(actor),
            "changes_gt": actor.may(Action.GROUND_TRUTH_CHANGE),
            "previous": previous,
            "next": following,
        }
        return render(request, "task.html", context, actor)


def _consensus_of(
    s: Session, actor: Actor, task_id: int, anns: list[Annotation]
) -> dict[str, Any] | None:
    """The task's consensus (status, agreement, tied vote) when one of `anns` is its merged
    annotation and the actor may read consensus; else None."""
    if not any(a.kind == "consensus" for a in anns) or not actor.may(Action.QUALITY_VIEW):
        return None
    result = consensus.task_consensus(s, actor, task_id).result
    if result is None:
        return None
    return {"status": result.status, "agreement": result.agreement, "tied": result.tied}


def _annotation_source(
    a: Annotation, actor: Actor, emails: dict[int, str], merged: dict[str, Any] | None = None
) -> dict[str, Any]:
    if a.kind == "consensus":
        title = "Consensus"
    else:
        title = emails.get(a.completed_by_id or -1, f"user {a.completed_by_id}")
    return {
        "key": f"annotation-{a.id}",
        "kind": "annotation",
        "id": a.id,
        "title": title,
        "merged": a.kind == "consensus",  # listed apart: a consensus result is nobody's work
        "consensus": merged if a.kind == "consensus" else None,
        "ground_truth": a.ground_truth if sees_ground_truth(actor) else False,
        "cancelled": a.was_cancelled,
        "created": when(a.created_at),
        "regions": region_count(tasks.result_seen_by(actor, a)),
        "result": tasks.result_seen_by(actor, a),
    }


def _prediction_source(p: Prediction) -> dict[str, Any]:
    return {
        "key": f"prediction-{p.id}",
        "kind": "prediction",
        "id": p.id,
        "title": p.model_version or "model",
        "score": p.score,
        "created": when(p.created_at),
        "regions": region_count(p.result),
        "result": p.result,
    }


def _default_source(sources: list[dict[str, Any]]) -> str:
    """The ground truth when the actor sees it, else the first annotation, else everything."""
    for s in sources:
        if s.get("ground_truth"):
            return s["key"]
    return sources[0]["key"] if sources else "all"
