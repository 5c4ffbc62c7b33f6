"""Conflict diagnosis (issue #19): annotators' conflicts with the GT, grouped so that a lead can
tell a worker's misunderstanding (one annotator) from a specification ambiguity or a GT error
(the same conflict repeating across the annotators of the same tasks), and record which it is.

One pass over the project's scored annotations: the scored work and the GT results are loaded
in two queries, each annotator's latest annotation of a task (`annotator_work`) is compared
with the GT by `metrics.scoring.conflicts_of`, the same function the per-annotation quality
view uses, and the conflicts are grouped in memory. Grouping rules: docs/metrics.md.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.formats.regions import RegionError, TaskRegions
from assay.metrics.conflicts import ConflictKind
from assay.metrics.scoring import QualitySettings, conflicts_of, regions_of
from assay.services.access import Action, Actor, authorize
from assay.services.annotator_work import SCORED_WORK, latest_by_annotator
from assay.services.errors import Invalid, NotFound
from assay.services.pagination import Page, page_of
from assay.services.projects import quality_settings_of
from assay.store.diagnosis_models import ConflictDecision
from assay.store.models import Annotation, Project, QualityScore, Task
from assay.store.types import utcnow

GROUPINGS = ("label_pair", "annotator", "data_field")
DECISIONS = ("guideline_issue", "gt_error", "training_need")
KINDS = tuple(k.value for k in ConflictKind)
REPEATS = "repeats across annotators: likely a specification ambiguity or a GT error"
ONE_ANNOTATOR = "one annotator: likely a misunderstanding"
SCATTERED = "a few of the annotators of these tasks: look case by case"
REPEAT_SPREAD = 0.5  # at least this share of the tasks' annotators made it: it repeats
MAX_EXAMPLES = 5
MAX_NOTE = 2000
MAX_TEXT = 200  # a label or a data field name in a filter

# The filters that can leave part of a group's conflicts out, per grouping: they become part
# of the group's key (a group of annotator 5's "missing" conflicts is not the group of all
# of annotator 5's conflicts). The other filters keep or drop whole groups.
_NARROWING = {
    "label_pair": ("annotator",),
    "annotator": ("kind", "label"),
    "data_field": ("annotator", "kind", "label"),
}


@dataclass(frozen=True)
class Filters:
    """How to group (`by`, with the data `field` for data_field) and which conflicts count."""

    by: str
    field: str | None = None
    label: str | None = None
    annotator: int | None = None
    kind: str | None = None

    def narrowing(self) -> dict[str, str]:
        """The filters given that narrow groups, as the key's query string holds them."""
        values = {"annotator": self.annotator, "kind": self.kind, "label": self.label}
        return {k: str(values[k]) for k in _NARROWING[self.by] if values[k] is not None}


@dataclass(frozen=True)
class Found:
    """One conflict of one annotator's annotation with its task's GT."""

    id: str  # annotation:kind:gt region:region, stable while the same regions disagree
    task_id: int
    annotation_id: int
    annotator_id: int
    kind: str
    gt_label: str | None
    label: str | None
    gt_region: str | None
    region: str | None
    value: Any = None  # the task's data field value (data_field grouping)


@dataclass
class ConflictGroup:
    key: str
    by: str
    fields: dict[str, Any]  # what the key says: gt_label/label/kind, annotator, field/value
    conflicts: list[Found] = field(default_factory=list)
    workers: int = 0  # annotators who worked on the group's tasks
    decision: ConflictDecision | None = None

    @property
    def kinds(self) -> list[str]:
        present = {c.kind for c in self.conflicts}
        return [k for k in KINDS if k in present]

    @property
    def annotators(self) -> list[int]:
        return sorted({c.annotator_id for c in self.conflicts})

    @property
    def task_ids(self) -> list[int]:
        return sorted({c.task_id for c in self.conflicts})

    @property
    def spread(self) -> float:
        return round(len(self.annotators) / self.workers, 4) if self.workers else 0.0

    @property
    def reading(self) -> str:
        if len(self.annotators) == 1:
            return ONE_ANNOTATOR
        return REPEATS if self.spread >= REPEAT_SPREAD else SCATTERED

    @property
    def conflict_ids(self) -> list[str]:
        return sorted(c.id for c in self.conflicts)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.conflict_ids).encode()).hexdigest()

    def examples(self) -> list[dict[str, Any]]:
        return [
            {
                "task": c.task_id,
                "annotation": c.annotation_id,
                "annotator": c.annotator_id,
                "kind": c.kind,
                "gt_region": c.gt_region,
                "region": c.region,
            }
            for c in self.conflicts[:MAX_EXAMPLES]
        ]


def filters_of(
    by: str,
    field: str | None = None,
    label: str | None = None,
    annotator: int | None = None,
    kind: str | None = None,
) -> Filters:
    """Checked grouping and filters; a filter that cannot apply is refused, not ignored."""
    if by not in GROUPINGS:
        raise Invalid.field("by", f"must be one of {', '.join(GROUPINGS)}")
    if by == "data_field" and not field:
        raise Invalid.field("field", "is required with by=data_field: the task data key")
    if by != "data_field" and field is not None:
        raise Invalid.field("field", "is only for by=data_field")
    if field is not None and len(field) > MAX_TEXT:
        raise Invalid.field("field", f"must be at most {MAX_TEXT} characters")
    if label is not None and len(label) > MAX_TEXT:
        raise Invalid.field("label", f"must be at most {MAX_TEXT} characters")
    if kind is not None and kind not in KINDS:
        raise Invalid.field("kind", f"must be one of {', '.join(KINDS)}")
    return Filters(by, field, label, annotator, kind)


def _key(f: Filters, c: Found) -> tuple[str, dict[str, Any]]:
    """The group key of a conflict under grouping `f` and what the key says."""
    if f.by == "label_pair":
        parts = [c.kind, c.gt_label or "", c.label or ""]
        fields: dict[str, Any] = {"kind": c.kind, "gt_label": c.gt_label, "label": c.label}
    elif f.by == "annotator":
        parts = [str(c.annotator_id)]
        fields = {"annotator": c.annotator_id}
    else:
        parts = [f.field or "", json.dumps(c.value, sort_keys=True)]
        fields = {"field": f.field, "value": c.value}
    key = "/".join([f.by, *(quote(p, safe="") for p in parts)])
    narrowing = f.narrowing()
    return (key + "?" + urlencode(narrowing) if narrowing else key), fields


def parse_key(key: Any) -> Filters:
    """The grouping and filters a group key was made under (the inverse of `_key`), so that a
    decision names its group by the key the list gave; Invalid naming `group` otherwise."""
    if not isinstance(key, str) or not key or len(key) > 1000:
        raise Invalid.field("group", "must be a group key as the conflict groups list gives it")
    path, _, query = key.partition("?")
    parts = [unquote(p) for p in path.split("/")]
    sizes = {"label_pair": 4, "annotator": 2, "data_field": 3}
    if parts[0] not in sizes or len(parts) != sizes[parts[0]]:
        raise Invalid.field("group", "is not a group key: it starts with the grouping")
    by = parts[0]
    try:
        given = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError as e:
        raise Invalid.field("group", "has an unreadable filter part") from e
    if set(given) - set(_NARROWING[by]):
        raise Invalid.field("group", "has a filter its grouping does not take")
    try:
        annotator = int(given["annotator"]) if "annotator" in given else None
        if by == "annotator":
            int(parts[1])
        if by == "data_field":
            json.loads(parts[2])
    except ValueError as e:
        raise Invalid.field("group", "is not a group key: a part cannot be read") from e
    return filters_of(
        by,
        field=parts[1] if by == "data_field" else None,
        label=given.get("label"),
        annotator=annotator,
        kind=given.get("kind"),
    )


def _scored_work(
    session: Session, project_id: int, with_data: bool
) -> tuple[dict[int, dict[int, Any]], dict[int, list[Any]]]:
    """task -> annotator -> their latest scored annotation row, and GT id -> GT result: two
    queries over the project, whatever its size."""
    cols = [
        QualityScore.task_id,
        Annotation.completed_by_id,
        Annotation.id,
        Annotation.work_result,
        QualityScore.gt_annotation_id,
        Task.width,
        Task.height,
        QualityScore.settings_version,
        QualityScore.tp,
        QualityScore.fp,
        QualityScore.fn,
        QualityScore.matched,
        QualityScore.iou_sum,
    ]
    if with_data:
        cols.append(Task.data)
    where = (QualityScore.project_id == project_id, QualityScore.subject_kind == "annotation")
    rows = session.execute(
        select(*cols)
        .join(Annotation, Annotation.id == QualityScore.annotation_id)
        .join(Task, Task.id == QualityScore.task_id)
        .where(*where, *SCORED_WORK)
        .order_by(Annotation.id)
    ).all()
    work = latest_by_annotator((r[0], r[1], r) for r in rows)
    gt_ids = select(QualityScore.gt_annotation_id).where(*where).distinct()
    gts = dict(
        session.execute(
            select(Annotation.id, Annotation.result).where(
                Annotation.id.in_(gt_ids),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        ).all()
    )
    return work, gts


def _conflict_ids(annotation_id: int, found: list[Any]) -> list[str]:
    """An id per conflict of one annotation, stable while the same regions disagree:
    annotation:kind:GT region:region (a label where there is no region id; a repeat of the
    same id, regions without ids, numbered in order)."""
    out, seen = [], Counter[str]()
    for c in found:
        gt_side = c.gt_region or f"#{c.gt_label or ''}"
        side = c.region or f"#{c.label or ''}"
        base = f"{annotation_id}:{c.kind}:{gt_side}:{side}"
        seen[base] += 1
        out.append(base if seen[base] == 1 else f"{base}:{seen[base]}")
    return out


def _agrees(counts: list[Any], settings: QualitySettings) -> bool:
    """Whether a current score says its annotation has no conflict, so that it need not be
    compared again: every region matched to one of the same label (no FP, no FN, TP =
    matched) and the IoUs' shortfall from 1 summed below 1 - low_overlap_threshold, which
    bounds each pair's (no pair is below the low-overlap line)."""
    tp, fp, fn, matched, iou_sum = counts
    return (
        fp == 0
        and fn == 0
        and tp == matched
        and matched - iou_sum < 1 - settings.low_overlap_threshold - 1e-9
    )


def find_all(
    session: Session, project_id: int, f: Filters
) -> tuple[list[Found], dict[int, set[int]]]:
    """Every conflict the filters keep, and task -> the annotators with scored work on it."""
    project = session.get(Project, project_id)
    assert project is not None
    settings = quality_settings_of(project)
    work, gts = _scored_work(session, project_id, f.by == "data_field")
    gt_regions: dict[int, TaskRegions | None] = {}
    out: list[Found] = []
    who = {t: set(per) for t, per in work.items()}
    for task_id, per in work.items():
        for annotator_id, row in per.items():
            if f.annotator is not None and annotator_id != f.annotator:
                continue
            _, _, ann_id, result, gt_id, w, h, version = row[:8]
            counts, data = list(row[8:13]), (row[13] if len(row) > 13 else None)
            if gt_id not in gts:
                continue  # its GT was unset since it was scored
            if version == project.quality_settings_version and _agrees(counts, settings):
                continue
            if gt_id not in gt_regions:
                try:
                    gt_regions[gt_id] = regions_of(gts[gt_id], w, h)
                except RegionError:
                    gt_regions[gt_id] = None
            gt = gt_regions[gt_id]
            try:
                found = conflicts_of(gt, regions_of(result, w, h), settings) if gt else []
            except RegionError:
                found = []  # unreadable: the per-annotation view shows none either
            value = data.get(f.field) if isinstance(data, dict) else None
            for c, cid in zip(found, _conflict_ids(ann_id, found), strict=True):
                if f.kind is not None and c.kind != f.kind:
                    continue
                if f.label is not None and f.label not in (c.label, c.gt_label):
                    continue
                out.append(
                    Found(
                        cid, task_id, ann_id, annotator_id, c.kind,
                        c.gt_label, c.label, c.gt_region, c.region, value,
                    )
                )  # fmt: skip
    return out, who


def _group(f: Filters, found: Iterable[Found], who: dict[int, set[int]]) -> list[ConflictGroup]:
    """Conflicts into groups, most conflicts first; a group's `workers` are the annotators
    with scored work on any of its tasks (the base of `spread`)."""
    by_key: dict[str, ConflictGroup] = {}
    for c in found:
        key, fields = _key(f, c)
        if key not in by_key:
            by_key[key] = ConflictGroup(key, f.by, fields)
        by_key[key].conflicts.append(c)
    out = list(by_key.values())
    for g in out:
        g.workers = len(set().union(*(who.get(t, set()) for t in g.task_ids)))
        g.conflicts.sort(key=lambda c: (c.task_id, c.annotation_id, c.id))
    out.sort(key=lambda g: (-len(g.conflicts), -len(g.annotators), g.key))
    return out


def groups(
    session: Session, actor: Actor, project_id: int, f: Filters, page: int, page_size: int
) -> tuple[list[ConflictGroup], Page]:
    """The project's conflict groups, most conflicts first, each with its latest decision
    while its conflicts are the ones decided on."""
    authorize(session, actor, Action.CONFLICTS_VIEW, project_id)
    found = _groups(session, project_id, f)
    pg = page_of(page, page_size, len(found))
    shown = found[pg.offset : pg.offset + pg.size]
    latest = _latest_decisions(session, project_id, [g.key for g in shown])
    for g in shown:
        d = latest.get(g.key)
        g.decision = d if d is not None and d.fingerprint == g.fingerprint else None
    return shown, pg


def _groups(session: Session, project_id: int, f: Filters) -> list[ConflictGroup]:
    found, who = find_all(session, project_id, f)
    return _group(f, found, who)


def _latest_decisions(
    session: Session, project_id: int, keys: list[str]
) -> dict[str, ConflictDecision]:
    """Group key -> its latest decision, for the given keys (the project's decisions are
    few: one query over them, no list of keys as parameters)."""
    wanted = set(keys)
    rows = session.scalars(
        select(ConflictDecision)
        .where(ConflictDecision.project_id == project_id)
        .order_by(ConflictDecision.id)
    )
    return {d.group_key: d for d in rows if d.group_key in wanted}  # later ones win


def _note(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid.field("note", "must be text")
    if len(value) > MAX_NOTE:
        raise Invalid.field("note", f"must be at most {MAX_NOTE} characters")
    return value.strip()


def decide(
    session: Session, actor: Actor, project_id: int, group: Any, decision: Any, note: Any = None
) -> ConflictDecision:
    """Record what a group of conflicts is, over the conflicts the group has now. Decisions
    are kept forever; a later one on the same group takes the place of the earlier in lists.
    A gt_error decision is recorded only: fixing the GT goes through the GT suspects or the
    GT stage."""
    authorize(session, actor, Action.CONFLICTS_DECIDE, project_id)
    if decision not in DECISIONS:
        raise Invalid.field("decision", f"must be one of {', '.join(DECISIONS)}")
    text = _note(note)
    f = parse_key(group)
    match = next((g for g in _groups(session, project_id, f) if g.key == group), None)
    if match is None:
        raise NotFound(f"No conflicts are in group {group!r} now.")
    row = ConflictDecision(
        project_id=project_id,
        group_key=match.key,
        decision=decision,
        note=text,
        fingerprint=match.fingerprint,
        conflicts=match.conflict_ids,
        task_ids=match.task_ids,
        decided_by_id=actor.id,
        decided_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def decisions(
    session: Session, actor: Actor, project_id: int, page: int, page_size: int
) -> tuple[list[ConflictDecision], Page]:
    """Every decision on the project's conflict groups, newest first."""
    authorize(session, actor, Action.CONFLICTS_VIEW, project_id)
    base = select(ConflictDecision).where(ConflictDecision.project_id == project_id)
    total = session.scalar(
        select(func.count(ConflictDecision.id)).where(ConflictDecision.project_id == project_id)
    )
    pg = page_of(page, page_size, total or 0)
    rows = session.scalars(
        base.order_by(ConflictDecision.id.desc()).offset(pg.offset).limit(pg.size)
    ).all()
    return list(rows), pg
