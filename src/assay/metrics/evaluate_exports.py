"""Score Label Studio JSON exports against a GT export, without a server (`assay evaluate`).

Pure: JSON in, rows out. Tasks are paired by id, or by their image when the ids differ (two
exports of the same images from different servers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assay.formats.regions import RegionError
from assay.metrics.scores import Counts
from assay.metrics.scoring import QualitySettings, regions_of, score_result


class ExportError(ValueError):
    """An export that cannot be scored: the JSON path of the field at fault, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class SubjectRow:
    kind: str  # annotator | model
    name: str
    scored: int
    counts: Counts
    mean_accuracy: float


def _tasks(data: Any, name: str) -> list[Mapping[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise ExportError(name, "must be a Label Studio JSON export: a list of tasks")
    return data


def _image(task: Mapping[str, Any]) -> str | None:
    data = task.get("data") or {}
    for value in data.values():
        if isinstance(value, str):
            return value
    return None


def _size(task: Mapping[str, Any], result: Sequence[Any]) -> tuple[Any, Any]:
    for region in result:
        if (
            isinstance(region, dict)
            and region.get("original_width")
            and region.get("original_height")
        ):
            return region["original_width"], region["original_height"]
    return task.get("width"), task.get("height")


def ground_truth_of(task: Mapping[str, Any], i: int) -> list[Any] | None:
    """The task's GT result: its ground_truth annotation, or its only annotation."""
    anns = [
        a
        for a in task.get("annotations") or []
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    gts = [a for a in anns if a.get("ground_truth")]
    if len(gts) > 1:
        raise ExportError(f"gt[{i}].annotations", "has more than one ground_truth annotation")
    if gts:
        return gts[0].get("result") or []
    if len(anns) == 1:
        return anns[0].get("result") or []
    if not anns:
        return None
    raise ExportError(
        f"gt[{i}].annotations", "has several annotations and none marked ground_truth"
    )


def _who(annotation: Mapping[str, Any]) -> str:
    by = annotation.get("completed_by")
    if isinstance(by, dict):
        return str(by.get("email") or by.get("id"))
    return str(by) if by is not None else "unknown"


def _subject(annotation: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, name) an annotation is scored under: a consensus result (`"kind": "consensus"`
    in assay's exports) under its own row, everything else under its annotator."""
    if annotation.get("kind") == "consensus":
        return "consensus", "consensus"
    return "annotator", _who(annotation)


def evaluate_exports(
    gt_data: Any, pred_data: Any, settings: QualitySettings | None = None
) -> list[SubjectRow]:
    """Per annotator and per model version: counts and scores against the GT export."""
    settings = settings or QualitySettings()
    gt_tasks, pred_tasks = _tasks(gt_data, "gt"), _tasks(pred_data, "pred")
    by_id = {t.get("id"): (i, t) for i, t in enumerate(gt_tasks) if t.get("id") is not None}
    by_image = {_image(t): (i, t) for i, t in enumerate(gt_tasks) if _image(t)}
    use_ids = any(t.get("id") in by_id for t in pred_tasks)
    totals: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Counts(), 0.0])
    paired = 0
    for j, task in enumerate(pred_tasks):
        hit = by_id.get(task.get("id")) if use_ids else by_image.get(_image(task))
        if hit is None:
            continue
        i, gt_task = hit
        gt_result = ground_truth_of(gt_task, i)
        if gt_result is None:
            continue
        paired += 1
        try:
            gt_regions = regions_of(gt_result, *_size(gt_task, gt_result))
        except RegionError as exc:
            raise ExportError(f"gt[{i}].{exc.field}", exc.reason) from None
        subjects = [
            (*_subject(a), a.get("result") or [], f"annotations[{k}]")
            for k, a in enumerate(task.get("annotations") or [])
            if isinstance(a, dict) and not a.get("was_cancelled") and not a.get("ground_truth")
        ]
        subjects += [
            (
                "model",
                str(p.get("model_version") or "unversioned"),
                p.get("result") or [],
                f"predictions[{k}]",
            )
            for k, p in enumerate(task.get("predictions") or [])
            if isinstance(p, dict)
        ]
        for kind, name, result, where in subjects:
            try:
                regions = regions_of(result, *_size(task, result))
            except RegionError as exc:
                raise ExportError(f"pred[{j}].{where}.{exc.field}", exc.reason) from None
            counts = score_result(gt_regions, regions, settings).counts
            acc = totals[(kind, name)]
            acc[0] += 1
            acc[1] = acc[1] + counts
            acc[2] += float(counts.accuracy)
    if not paired:
        raise ExportError("pred", "no task pairs with a GT task (by id or by image)")
    return [
        SubjectRow(kind, name, n, counts, acc_sum / n)
        for (kind, name), (n, counts, acc_sum) in sorted(totals.items())
    ]
