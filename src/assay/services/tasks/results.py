"""Label Studio results checked against the project's label config, for annotations and
predictions that arrive through any door (import, API, GT stage, review fix), and task data
and meta checked against the bounds every stored JSON keeps (`formats.label_studio`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from assay.formats.label_config import LabelConfig
from assay.formats.label_studio import RegionError, check_task_json, validate_result
from assay.services.checks import is_number
from assay.services.errors import Invalid
from assay.services.projects import label_config_of
from assay.store.models import (
    Project,
)


def label_config_of_project(session: Session, project_id: int) -> LabelConfig:
    project = session.get(Project, project_id)
    assert project is not None
    return label_config_of(project)


def checked_result(result: Any, config: LabelConfig, field: str) -> list[Any]:
    try:
        validate_result(result, config, field)
    except RegionError as exc:
        raise Invalid.field(exc.field, exc.reason) from None
    return result


def checked_task_json(value: Any, field: str) -> dict[str, Any]:
    """A task's data or meta, refused (Invalid naming the place) unless it is an object within
    the bounds of `formats.label_studio.check_task_json`."""
    try:
        check_task_json(value, field)
    except RegionError as exc:
        raise Invalid.field(exc.field, exc.reason) from None
    return value


MAX_LEAD_TIME = 1e9  # seconds spent on one annotation (about 30 years)


def checked_lead_time(value: Any, field: str = "lead_time") -> float | None:
    """An annotation's lead time: None, or seconds from 0 to MAX_LEAD_TIME, as a float."""
    if value is None:
        return None
    if not is_number(value) or not 0 <= value <= MAX_LEAD_TIME:
        raise Invalid.field(field, f"must be a number of seconds from 0 to {MAX_LEAD_TIME:.0e}")
    return float(value)


def checked_times(
    lead_time: Any, active_time: Any, prefix: str = ""
) -> tuple[float | None, float | None]:
    """An annotation's wall time (`lead_time`, task opened to submit) and active time (what the
    editor counted: focus and input, idle cut-off 60 s), both seconds or None; the active time
    cannot be longer than the wall time when both are known."""
    lead = checked_lead_time(lead_time, f"{prefix}lead_time")
    active = checked_lead_time(active_time, f"{prefix}active_time")
    if lead is not None and active is not None and active > lead:
        raise Invalid.field(
            f"{prefix}active_time", f"{active:g} s is longer than lead_time ({lead:g} s)"
        )
    return lead, active


def annotation_row(ann: Any, config: LabelConfig, path: str) -> dict[str, Any]:
    if not isinstance(ann, dict):
        raise Invalid.field(path, "must be an object")
    result = checked_result(ann.get("result", []), config, f"{path}.result")
    lead_time, active_time = checked_times(ann.get("lead_time"), ann.get("active_time"), f"{path}.")
    return {
        "result": result,
        "ground_truth": bool(ann.get("ground_truth", False)),
        "was_cancelled": bool(ann.get("was_cancelled", False)),
        "lead_time": lead_time,
        "active_time": active_time,
    }


def prediction_row(pred: Any, config: LabelConfig, path: str) -> dict[str, Any]:
    if not isinstance(pred, dict):
        raise Invalid.field(path, "must be an object")
    result = checked_result(
        _as_result_list(pred.get("result", []), config), config, f"{path}.result"
    )
    score = pred.get("score")
    if score is not None and (not is_number(score)):
        raise Invalid.field(f"{path}.score", "must be a number")
    version = pred.get("model_version") or ""
    if not isinstance(version, str):
        version = str(version)
    return {"result": result, "score": score, "model_version": version[:200]}


def _as_result_list(result: Any, config: LabelConfig) -> Any:
    """The legacy SDK sends a prediction's result as one region or as a bare class name."""
    if isinstance(result, dict):
        return [result]
    if isinstance(result, str):
        choices = next((c for c in config.controls.values() if c.type == "Choices"), None)
        if choices is None:
            return result  # validation names the problem
        return [
            {"from_name": choices.name, "to_name": choices.to_name[0], "type": "choices",
             "value": {"choices": [result]}}
        ]  # fmt: skip
    return result
