"""Who may do what: every role check of every action is decided here, once.

Admins may do everything. Everyone else works only inside projects they are a member of; a
project they are not a member of answers NotFound, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.errors import Forbidden, NotFound
from assay.store.models import Annotation, Project, ProjectMember


class Role(StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    REVIEWER = "reviewer"
    ANNOTATOR = "annotator"


class Action(StrEnum):
    PROJECT_CREATE = "project.create"
    PROJECT_VIEW = "project.view"
    PROJECT_CHANGE = "project.change"
    PROJECT_DELETE = "project.delete"
    MEMBERS_MANAGE = "members.manage"
    TASKS_IMPORT = "tasks.import"
    TASK_VIEW = "task.view"
    TASK_CHANGE = "task.change"
    TASK_DELETE = "task.delete"
    ANNOTATION_CREATE = "annotation.create"
    ANNOTATIONS_VIEW_ALL = "annotations.view_all"  # others' annotations, GT flags
    ANNOTATION_CHANGE_ANY = "annotation.change_any"  # edit or delete others' annotations
    PREDICTION_VIEW = "prediction.view"
    PREDICTION_CHANGE = "prediction.change"  # create, update, delete
    PROJECT_EXPORT = "project.export"
    GROUND_TRUTH_CHANGE = "ground_truth.change"  # set, unset, bulk actions
    GROUND_TRUTH_VIEW = "ground_truth.view"  # which annotation is GT, its history
    JOBS_MANAGE = "jobs.manage"  # create and change jobs
    JOBS_VIEW_ALL = "jobs.view_all"  # every job of a project, not only one's own
    GT_STAGE = "gt_stage"  # run a job's ground-truth stage
    TASK_REOPEN = "task.reopen"  # take a done task back out of done
    QUALITY_VIEW = "quality.view"  # everyone's scores and agreement
    QUALITY_SETTINGS = "quality.settings"  # change matching settings, recompute
    REVIEW = "review"  # accept, fix & accept or reject others' annotations; undo one's own
    REVIEWS_MANAGE = "reviews.manage"  # undo anyone's review, assign reviewers to tasks
    DASHBOARD_VIEW = "dashboard.view"  # annotator performance, agreement matrix, models
    USERS_VIEW = "users.view"  # list and read people (a lead adds them to projects by id)
    USERS_MANAGE = "users.manage"
    HONEYPOTS_MANAGE = "honeypots.manage"  # the pool, its settings, rerolling a job's honeypots
    HONEYPOTS_VIEW = "honeypots.view"  # which tasks are honeypots, every attempt and its score
    JOB_SUBMIT = "job.submit"  # hand in one's own work on a job and get feedback
    DM_VIEWS_SHARE = "dm_views.share"  # make, change, delete project-wide saved filters
    JOB_ACCEPT = "job.accept"  # accept (close) a job, reopen it; edit in a closed job
    EVALUATION_VIEW = "evaluation.view"  # evaluation settings, annotators' standing, pauses
    EVALUATION_MANAGE = "evaluation.manage"  # change evaluation settings, pause and unpause
    GUIDELINE_PUBLISH = "guideline.publish"  # publish a new version of the project's guideline
    GUIDELINE_HISTORY = "guideline.history"  # every version, not only the one in force
    GUIDELINE_RECHECK = "guideline.recheck"  # the GT re-check queue: read it, resolve its tasks
    EDGE_CASES_VIEW_ALL = "edge_cases.view_all"  # everyone's edge cases, not only one's own
    EDGE_CASES_MANAGE = "edge_cases.manage"  # answer and resolve edge cases
    DRIFT_VIEW = "drift.view"  # model drift, audits and which tasks they sampled, feedback
    DRIFT_MANAGE = "drift.manage"  # change drift settings, start audits
    FEEDBACK_SEND = "feedback.send"  # report a wrong prediction on a task one may see
    CONFLICTS_VIEW = "conflicts.view"  # annotators' conflicts with GT, grouped for diagnosis
    CONFLICTS_DECIDE = "conflicts.decide"  # say what a group of conflicts is (guideline, GT, ...)
    BACKGROUND_CANCEL = "background.cancel"  # stop a project's background job someone else began


# A project's visibility policy (`Project.visibility`): blind, annotators see their own work
# only; shared, also their co-assignees' work in the same job (tasks.visibility says exactly).
BLIND = "blind"
SHARED = "shared"
VISIBILITY_POLICIES = (BLIND, SHARED)

_ALL = frozenset(Role)
_STAFF = frozenset({Role.ADMIN, Role.LEAD})
_READERS = frozenset({Role.ADMIN, Role.LEAD, Role.REVIEWER})

POLICY: dict[Action, frozenset[Role]] = {
    Action.PROJECT_CREATE: _STAFF,
    Action.PROJECT_VIEW: _ALL,
    Action.PROJECT_CHANGE: _STAFF,
    Action.PROJECT_DELETE: _STAFF,
    Action.MEMBERS_MANAGE: _STAFF,
    Action.TASKS_IMPORT: _STAFF,
    Action.TASK_VIEW: _ALL,
    Action.TASK_CHANGE: _STAFF,
    Action.TASK_DELETE: _STAFF,
    Action.ANNOTATION_CREATE: _ALL,
    Action.ANNOTATIONS_VIEW_ALL: _READERS,
    Action.ANNOTATION_CHANGE_ANY: _STAFF,
    Action.PREDICTION_VIEW: _ALL,
    Action.PREDICTION_CHANGE: _STAFF,
    Action.PROJECT_EXPORT: _READERS,
    Action.GROUND_TRUTH_CHANGE: _STAFF,
    Action.GROUND_TRUTH_VIEW: _READERS,
    Action.JOBS_MANAGE: _STAFF,
    Action.JOBS_VIEW_ALL: _READERS,
    Action.GT_STAGE: _STAFF,
    Action.TASK_REOPEN: frozenset({Role.ADMIN}),
    Action.QUALITY_VIEW: _READERS,
    Action.QUALITY_SETTINGS: _STAFF,
    Action.REVIEW: _READERS,
    Action.REVIEWS_MANAGE: _STAFF,
    Action.DASHBOARD_VIEW: _READERS,
    Action.USERS_VIEW: _STAFF,
    Action.USERS_MANAGE: frozenset({Role.ADMIN}),
    Action.HONEYPOTS_MANAGE: _STAFF,
    Action.HONEYPOTS_VIEW: _STAFF,
    Action.JOB_SUBMIT: _ALL,
    Action.DM_VIEWS_SHARE: _STAFF,
    Action.JOB_ACCEPT: _STAFF,
    Action.EVALUATION_VIEW: _STAFF,  # GT accuracy on honeypots: as sees_honeypots
    Action.EVALUATION_MANAGE: _STAFF,
    Action.GUIDELINE_PUBLISH: _STAFF,
    Action.GUIDELINE_HISTORY: _READERS,
    Action.GUIDELINE_RECHECK: _STAFF,  # its queue is a list of GT tasks
    Action.EDGE_CASES_VIEW_ALL: _READERS,
    Action.EDGE_CASES_MANAGE: _STAFF,
    Action.DRIFT_VIEW: _READERS,
    Action.DRIFT_MANAGE: _STAFF,
    Action.FEEDBACK_SEND: _ALL,  # what an annotator sees may be wrong too; they cannot list it
    Action.CONFLICTS_VIEW: _READERS,  # they reveal the GT: as GROUND_TRUTH_VIEW
    Action.CONFLICTS_DECIDE: _STAFF,
    Action.BACKGROUND_CANCEL: _STAFF,
}


# What each action is, as the end of "Annotators cannot ...": the one place a refusal's words
# come from (the API's 403 detail and the web's "Not allowed" page say the same sentence).
ACTION_WORDS: dict[Action, str] = {
    Action.PROJECT_CREATE: "create projects",
    Action.PROJECT_VIEW: "open this project",
    Action.PROJECT_CHANGE: "change a project's settings",
    Action.PROJECT_DELETE: "delete projects",
    Action.MEMBERS_MANAGE: "add or remove a project's members",
    Action.TASKS_IMPORT: "import tasks, images or labels",
    Action.TASK_VIEW: "open tasks",
    Action.TASK_CHANGE: "change tasks",
    Action.TASK_DELETE: "delete tasks",
    Action.ANNOTATION_CREATE: "annotate tasks",
    Action.ANNOTATIONS_VIEW_ALL: "see other people's annotations",
    Action.ANNOTATION_CHANGE_ANY: "change or delete other people's annotations",
    Action.PREDICTION_VIEW: "see model predictions",
    Action.PREDICTION_CHANGE: "add, change or delete model predictions",
    Action.PROJECT_EXPORT: "export projects",
    Action.GROUND_TRUTH_CHANGE: "set or clear ground truth",
    Action.GROUND_TRUTH_VIEW: "see which annotations are ground truth",
    Action.JOBS_MANAGE: "create or change jobs",
    Action.JOBS_VIEW_ALL: "see every job of a project",
    Action.GT_STAGE: "open the ground-truth stage",
    Action.TASK_REOPEN: "reopen a done task",
    Action.QUALITY_VIEW: "see quality scores and agreement",
    Action.QUALITY_SETTINGS: "change quality settings or recompute scores",
    Action.REVIEW: "review annotations",
    Action.REVIEWS_MANAGE: "assign reviewers or undo other people's reviews",
    Action.DASHBOARD_VIEW: "open the dashboard",
    Action.USERS_VIEW: "see the list of people",
    Action.USERS_MANAGE: "add people or change their roles",
    Action.HONEYPOTS_MANAGE: "manage honeypots",
    Action.HONEYPOTS_VIEW: "see which tasks are honeypots",
    Action.JOB_SUBMIT: "hand in jobs",
    Action.DM_VIEWS_SHARE: "make or change the project's shared Data Manager views",
    Action.JOB_ACCEPT: "accept or reopen jobs, or change work in an accepted job",
    Action.EVALUATION_VIEW: "see annotators' evaluation or pauses",
    Action.EVALUATION_MANAGE: "change evaluation settings, or pause or unpause annotators",
    Action.GUIDELINE_PUBLISH: "publish guideline versions",
    Action.GUIDELINE_HISTORY: "see earlier guideline versions",
    Action.GUIDELINE_RECHECK: "re-check ground truth after a guideline change",
    Action.EDGE_CASES_VIEW_ALL: "see other people's edge cases",
    Action.EDGE_CASES_MANAGE: "answer or resolve edge cases",
    Action.DRIFT_VIEW: "see model drift, audits or field feedback",
    Action.DRIFT_MANAGE: "change drift settings or start audits",
    Action.FEEDBACK_SEND: "report feedback on predictions",
    Action.CONFLICTS_VIEW: "see the conflicts with ground truth grouped for diagnosis",
    Action.CONFLICTS_DECIDE: "record decisions on groups of conflicts",
    Action.BACKGROUND_CANCEL: "cancel other people's background jobs",
}

_ROLE_PLURALS = {
    Role.ADMIN: "Admins",
    Role.LEAD: "Leads",
    Role.REVIEWER: "Reviewers",
    Role.ANNOTATOR: "Annotators",
}


def role_plural(role: Role) -> str:
    """'Annotators' for the annotator role: how a refusal names who is refused."""
    return _ROLE_PLURALS[Role(role)]


def refusal(role: Role, action: Action) -> str:
    """Why the role may not do the action, in plain words.

    >>> refusal(Role.ANNOTATOR, Action.GT_STAGE)
    'Annotators cannot open the ground-truth stage.'
    """
    return f"{role_plural(role)} cannot {ACTION_WORDS[action]}."


@dataclass(frozen=True)
class Actor:
    """The authenticated user a request acts for."""

    id: int
    role: Role
    email: str = ""

    def may(self, action: Action) -> bool:
        """Whether the role allows the action at all (membership is checked separately)."""
        return self.role in POLICY[action]


def sees_ground_truth(actor: Actor) -> bool:
    """Whether the actor is shown ground-truth state: which annotation is a task's GT, the
    task's GT status and done state, a project's GT counts. Never annotators: the flag would
    give the honeypots in their jobs away. Every serializer and page asks this."""
    return actor.may(Action.GROUND_TRUTH_VIEW)


def sees_honeypots(actor: Actor) -> bool:
    """Whether the actor may know which tasks are honeypots and how each was answered: the
    per-honeypot details of hand-ins and honeypot scores on the dashboard. Never annotators,
    who get a hand-in's score and hints only."""
    return actor.may(Action.HONEYPOTS_VIEW)


def shows_annotation_details(actor: Actor, ann: Annotation) -> bool:
    """Whether the actor is shown an annotation's review status, reviews, revisions, reviewer's
    fix and scores: for their own annotations and for reviewers, leads and admins. A
    co-assignee's annotation that a shared project shows an annotator
    (`tasks.visibility.annotation_visibility`) is shown as its author's result only."""
    return ann.completed_by_id == actor.id or actor.may(Action.ANNOTATIONS_VIEW_ALL)


def authorize_annotation_change(actor: Actor, ann: Annotation) -> None:
    """Raise Forbidden unless the actor may edit or delete this annotation (the caller has
    checked that they may see it).

    Everyone changes their own annotations; admins and leads anyone's. Once an annotation is
    its task's ground truth it is the answer key, and only those who change ground truth
    (admin, lead) change or delete it: not its author, not a reviewer. The author's own work
    stays measured as it was (`Annotation.own_result` keeps it when someone else edits).
    An actor who may not know about ground truth is not told that it is the reason.
    """
    own = ann.completed_by_id == actor.id
    if not own and not actor.may(Action.ANNOTATION_CHANGE_ANY):
        raise Forbidden("You may change or delete only your own annotations.")
    if ann.ground_truth and not actor.may(Action.GROUND_TRUTH_CHANGE):
        if sees_ground_truth(actor):
            raise Forbidden(
                f"Annotation {ann.id} is its task's ground truth: only a lead or admin "
                "may change or delete it."
            )
        raise Forbidden(
            f"Annotation {ann.id} is locked: only a lead or admin may change or delete it now."
        )


def authorize(
    session: Session, actor: Actor, action: Action, project_id: int | None = None
) -> None:
    """Raise unless the actor may do `action` (inside `project_id`, when given).

    NotFound when the project is missing, deleted or the actor is no member of it;
    Forbidden when the actor can see the project but the role does not allow the action.
    """
    if project_id is not None:
        require_project_access(session, actor, project_id)
    if not actor.may(action):
        raise Forbidden(refusal(actor.role, action))


def require_project_access(session: Session, actor: Actor, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFound(f"Project {project_id} not found.")
    if not works_in(session, actor.id, actor.role, project_id):
        raise NotFound(f"Project {project_id} not found.")
    return project


def in_every_project(role: str) -> bool:
    """Admins belong to every project without being members of it."""
    return role == Role.ADMIN


def works_in(session: Session, user_id: int, role: str, project_id: int) -> bool:
    """Whether a person works in a project: admins in all, everyone else where a member.
    Who may be named as a job's assignee, a task's reviewer or an import's annotator."""
    return in_every_project(role) or is_member(session, user_id, project_id)


def can_review(role: str) -> bool:
    """Whether a person of this role reviews others' annotations (may be assigned as a
    reviewer): the roles Action.REVIEW allows."""
    return role in POLICY[Action.REVIEW]


def is_member(session: Session, user_id: int, project_id: int) -> bool:
    stmt = select(ProjectMember.user_id).where(
        ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
    )
    return session.execute(stmt).first() is not None


def visible_project_ids(session: Session, actor: Actor) -> select | None:
    """A subquery of project ids the actor may see, or None when they see all (admin)."""
    if in_every_project(actor.role):
        return None
    return select(ProjectMember.project_id).where(ProjectMember.user_id == actor.id)
