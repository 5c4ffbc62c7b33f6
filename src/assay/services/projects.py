"""Projects: create, list with counts, change, soft-delete, members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from assay.formats.image_names import image_name_of
from assay.formats.label_config import (
    LabelConfig,
    LabelConfigError,
    LabelSpec,
    build_label_config,
    labelled_control,
    parse_label_config,
    with_label_set,
)
from assay.formats.label_studio import RegionError, validate_result
from assay.metrics.scoring import QualitySettings
from assay.services.access import (
    VISIBILITY_POLICIES,
    Action,
    Actor,
    authorize,
    visible_project_ids,
)
from assay.services.annotator_work import COUNTED
from assay.services.errors import Conflict, Invalid, NotFound
from assay.services.pagination import Page, page_of
from assay.store.models import (
    Annotation,
    Prediction,
    Project,
    ProjectCount,
    ProjectMember,
    Task,
    User,
)
from assay.store.types import utcnow

EDITABLE = (
    "title", "description", "label_config", "expert_instruction", "color",
    "show_collab_predictions", "model_version", "visibility", "hourly_rate",
)  # fmt: skip
FLAGS = frozenset({"show_collab_predictions"})  # the fields that are true or false
MAX_MODEL_VERSION = 200
MAX_HOURLY_RATE = 1e6
MAX_TITLE = 200
MAX_COLOR = 16  # a CSS color, e.g. #FFFFFF


@dataclass(frozen=True)
class ProjectCounts:
    task_number: int = 0
    num_tasks_with_annotations: int = 0
    total_annotations_number: int = 0
    total_predictions_number: int = 0
    ground_truth_number: int = 0  # tasks with a GT annotation
    done_number: int = 0  # tasks whose GT stage is finished with regions
    empty_number: int = 0  # tasks finished as empty


def label_config_of(project: Project) -> LabelConfig:
    return parse_label_config(project.label_config)


def guideline_in_force(session: Session, project_id: int) -> int | None:
    """The project's guideline version in force (published by services.guidelines), or None:
    what annotation revisions and GT changes record as the rules they were made under."""
    return session.scalar(select(Project.guideline_version).where(Project.id == project_id))


def quality_settings_of(project: Project) -> QualitySettings:
    """How the project matches regions to its GT and which accuracy it targets."""
    return QualitySettings.from_json(project.quality_settings)


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        name = sorted(unknown)[0]
        raise Invalid.field(name, "is not a project field assay lets you set")
    for name, value in fields.items():
        if name in FLAGS:
            if not isinstance(value, bool):
                raise Invalid.field(name, "must be true or false")
        elif name != "hourly_rate" and not isinstance(value, str):
            raise Invalid.field(name, "must be a string")
    if "model_version" in fields and len(fields["model_version"]) > MAX_MODEL_VERSION:
        raise Invalid.field("model_version", f"must be at most {MAX_MODEL_VERSION} characters")
    if "visibility" in fields and fields["visibility"] not in VISIBILITY_POLICIES:
        raise Invalid.field("visibility", f"must be one of {', '.join(VISIBILITY_POLICIES)}")
    if "hourly_rate" in fields:
        fields["hourly_rate"] = _hourly_rate(fields["hourly_rate"])
    if "title" in fields and len(fields["title"]) > MAX_TITLE:
        raise Invalid.field("title", f"must be at most {MAX_TITLE} characters")
    if "color" in fields and len(fields["color"]) > MAX_COLOR:
        raise Invalid.field("color", f"must be at most {MAX_COLOR} characters, e.g. #FFFFFF")
    if "label_config" in fields:
        try:
            parse_label_config(fields["label_config"])
        except LabelConfigError as exc:
            raise Invalid.field("label_config", str(exc)) from None
    return fields


def _hourly_rate(value: Any) -> float | None:
    """What an hour of annotation costs: a number from 0 to 1e6, or None to unset it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise Invalid.field("hourly_rate", "must be a number (cost of one hour) or null")
    if not 0 <= value <= MAX_HOURLY_RATE:
        raise Invalid.field("hourly_rate", f"must be from 0 to {MAX_HOURLY_RATE:g}")
    return float(value)


def create_project(session: Session, actor: Actor, **fields: Any) -> Project:
    authorize(session, actor, Action.PROJECT_CREATE)
    fields = _clean({k: v for k, v in fields.items() if v is not None})
    fields.setdefault("label_config", "")
    if not fields["label_config"]:
        raise Invalid.field("label_config", "is required: a Label Studio XML config")
    project = Project(created_by_id=actor.id, **fields)
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=actor.id))
    session.flush()
    return project


def label_config_for(labels: list[LabelSpec], shape: str, label_config: str | None = None) -> str:
    """The label config a new project gets: `label_config` when one is given (a pasted Label
    Studio config), else the one built from the label set and shape type
    (`formats.label_config.build_label_config`). Invalid names what is wrong."""
    if label_config and label_config.strip():
        return label_config
    try:
        return build_label_config(labels, shape)
    except LabelConfigError as exc:
        name = "shape" if str(exc).startswith("shape type") else "labels"
        raise Invalid.field(name, str(exc)) from None


def relabelled_config(project: Project, labels: list[LabelSpec]) -> str:
    """The project's config with its label set replaced by `labels` (names and colours, in
    order). Only for a config with one labelled control; `update_project` then refuses to drop
    a label that live annotations use."""
    try:
        control = labelled_control(project.label_config)
        if control is None:
            raise Invalid.field(
                "labels", "the config has several labelled controls: edit its XML instead"
            )
        return with_label_set(project.label_config, control.name, labels)
    except LabelConfigError as exc:
        raise Invalid.field("labels", str(exc)) from None


def get_project(session: Session, actor: Actor, project_id: int) -> Project:
    authorize(session, actor, Action.PROJECT_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return project


def list_projects(
    session: Session, actor: Actor, page: int = 1, page_size: int = 100
) -> tuple[list[Project], Page]:
    stmt = select(Project).where(Project.deleted_at.is_(None))
    visible = visible_project_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(Project.id.in_(visible))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pg = page_of(page, page_size, total)
    rows = session.scalars(stmt.order_by(Project.id.desc()).offset(pg.offset).limit(pg.size))
    return list(rows), pg


def update_project(session: Session, actor: Actor, project_id: int, **fields: Any) -> Project:
    authorize(session, actor, Action.PROJECT_CHANGE, project_id)
    fields = _clean(fields)
    project = session.get(Project, project_id)
    assert project is not None
    image_field_before = None
    if "label_config" in fields:
        _check_labels_still_defined(session, project_id, parse_label_config(fields["label_config"]))
        image_field_before = label_config_of(project).image_key()
    for name, value in fields.items():
        setattr(project, name, value)
    project.updated_at = utcnow()
    if "label_config" in fields:
        image_field = label_config_of(project).image_key()
        if image_field != image_field_before:
            _rename_images(session, project_id, image_field)
    session.flush()
    return project


def _rename_images(session: Session, project_id: int, image_field: str | None) -> None:
    """Recompute `tasks.image_name` after the config moved the image to another data field."""
    rows = session.execute(select(Task.id, Task.data).where(Task.project_id == project_id))
    names = [
        {"task_id": i, "name": image_name_of(data.get(image_field)) if image_field else None}
        for i, data in rows
    ]
    if names:
        table = Task.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("task_id"))
            .values(image_name=bindparam("name"), updated_at=table.c.updated_at),
            names,
        )


def _check_labels_still_defined(session: Session, project_id: int, config: LabelConfig) -> None:
    """Refuse a config that drops a label live annotations use: their regions would dangle."""
    stmt = (
        select(Annotation.id, Annotation.result)
        .where(Annotation.project_id == project_id, Annotation.deleted_at.is_(None))
        .execution_options(yield_per=2000)
    )
    for ann_id, result in session.execute(stmt):
        try:
            validate_result(result, config)
        except RegionError as exc:
            raise Invalid.field(
                "label_config",
                f"annotation {ann_id} no longer fits the new config ({exc}); "
                "keep the labels and controls that existing annotations use",
            ) from None


def delete_project(session: Session, actor: Actor, project_id: int) -> None:
    """Soft-delete: the project disappears from every list, its labels stay in the database."""
    authorize(session, actor, Action.PROJECT_DELETE, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    project.deleted_at = utcnow()
    project.deleted_by_id = actor.id


def project_counts(
    session: Session,
    project_ids: list[int],
    tasks_seen: tuple[Any, ...] = (),
    annotations_seen: tuple[Any, ...] = (),
) -> dict[int, ProjectCounts]:
    """Counts for many projects: everything in them from `project_counts` (one row each, kept
    by the database's triggers), or what an actor may see in four grouped queries (no query
    per project).

    `tasks_seen` / `annotations_seen`: filters on Task / Annotation limiting the counts to
    what an actor may see (`tasks.task_visibility`, `tasks.annotation_visibility`).
    """
    if not project_ids:
        return {}
    if not tasks_seen and not annotations_seen:
        kept = {
            c.project_id: ProjectCounts(
                task_number=c.tasks,
                num_tasks_with_annotations=c.annotated_tasks,
                total_annotations_number=c.annotations,
                total_predictions_number=c.predictions,
                ground_truth_number=c.ground_truths,
                done_number=c.done,
                empty_number=c.empty,
            )
            for c in session.scalars(
                select(ProjectCount).where(ProjectCount.project_id.in_(project_ids))
            )
        }
        return {pid: kept.get(pid, ProjectCounts()) for pid in project_ids}
    return counted_from_rows(session, project_ids, tasks_seen, annotations_seen)


def counted_from_rows(
    session: Session,
    project_ids: list[int],
    tasks_seen: tuple[Any, ...] = (),
    annotations_seen: tuple[Any, ...] = (),
) -> dict[int, ProjectCounts]:
    """`project_counts` counted from the rows themselves: what an actor may see, and the
    check that the kept counts are right (tests compare the two after every kind of write)."""
    live = (Task.deleted_at.is_(None), *tasks_seen)
    by_status: dict[int, dict[str, int]] = {}
    for pid, status, n in session.execute(
        select(Task.project_id, Task.gt_status, func.count())
        .where(Task.project_id.in_(project_ids), *live)
        .group_by(Task.project_id, Task.gt_status)
    ):
        by_status.setdefault(pid, {})[status] = n
    tasks = {pid: sum(c.values()) for pid, c in by_status.items()}
    live_ann = (
        select(Annotation.project_id, Annotation.task_id)
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Annotation.project_id.in_(project_ids),
            Annotation.deleted_at.is_(None),
            COUNTED,
            *live,
            *annotations_seen,
        )
        .subquery()
    )
    ann = {
        pid: (n, n_tasks)
        for pid, n, n_tasks in session.execute(
            select(
                live_ann.c.project_id,
                func.count(),
                func.count(func.distinct(live_ann.c.task_id)),
            ).group_by(live_ann.c.project_id)
        )
    }
    preds = dict(
        session.execute(
            select(Prediction.project_id, func.count())
            .join(Task, Task.id == Prediction.task_id)
            .where(
                Prediction.project_id.in_(project_ids),
                Prediction.deleted_at.is_(None),
                *live,
            )
            .group_by(Prediction.project_id)
        ).all()
    )
    gts = dict(
        session.execute(
            select(Annotation.project_id, func.count())
            .join(Task, Task.id == Annotation.task_id)
            .where(
                Annotation.project_id.in_(project_ids),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
                *live,
            )
            .group_by(Annotation.project_id)
        ).all()
    )
    return {
        pid: ProjectCounts(
            task_number=tasks.get(pid, 0),
            num_tasks_with_annotations=ann.get(pid, (0, 0))[1],
            total_annotations_number=ann.get(pid, (0, 0))[0],
            total_predictions_number=preds.get(pid, 0),
            ground_truth_number=gts.get(pid, 0),
            done_number=by_status.get(pid, {}).get("done", 0),
            empty_number=by_status.get(pid, {}).get("empty", 0),
        )
        for pid in project_ids
    }


def add_member(session: Session, actor: Actor, project_id: int, user_id: int) -> None:
    authorize(session, actor, Action.MEMBERS_MANAGE, project_id)
    if session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} not found.")
    if session.get(ProjectMember, (project_id, user_id)) is None:
        session.add(ProjectMember(project_id=project_id, user_id=user_id))
        session.flush()


def remove_member(session: Session, actor: Actor, project_id: int, user_id: int) -> None:
    """Take `user_id` out of the project: only the membership row goes; their annotations,
    reviews and history stay. Same rule as `add_member`. NotFound when they are no member;
    Conflict when a non-admin would remove themselves (and lose the project).
    """
    authorize(session, actor, Action.MEMBERS_MANAGE, project_id)
    membership = session.get(ProjectMember, (project_id, user_id))
    if membership is None:
        raise NotFound(f"User {user_id} is not a member of project {project_id}.")
    if user_id == actor.id and not actor.may(Action.USERS_MANAGE):
        raise Conflict(
            "You cannot remove yourself from a project; ask another lead or an admin.",
            {"user": ["is you"]},
        )
    session.delete(membership)
    session.flush()


def list_members(session: Session, actor: Actor, project_id: int) -> list[User]:
    authorize(session, actor, Action.PROJECT_VIEW, project_id)
    stmt = (
        select(User)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project_id)
        .order_by(User.id)
    )
    return list(session.scalars(stmt))
