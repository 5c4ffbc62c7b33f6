"""What the shared editor offers for a project's label config: its drawing tools and its form
fields, read from the config the pages already have (formats.label_config).

A tool is a shape control labelling the image (RectangleLabels: boxes, rotatable unless
canRotate="false"; PolygonLabels: polygons; KeyPointLabels: points) with its labels; a field
is a Choices or TextArea control of the image, shown beside it as a form. Controls the editor
does not edit (brushes, other objects) are kept in the result as they came.
"""

from __future__ import annotations

from typing import Any

from assay.formats.label_config import ControlTag, LabelConfig
from assay.web.common import label_colours

TOOL_KINDS = {"RectangleLabels": "box", "PolygonLabels": "polygon", "KeyPointLabels": "point"}
FIELD_KINDS = {"Choices": "choices", "TextArea": "textarea"}
SUPPORTED = ", ".join([*TOOL_KINDS, *FIELD_KINDS])


def nothing_to_edit(what: str) -> str:
    """The sentence a page shows when the config gives the editor nothing to edit."""
    return (
        f"The project's label config has no control the editor supports ({SUPPORTED}) "
        f"on an image; {what}"
    )


def _image_target(config: LabelConfig, control: ControlTag) -> str | None:
    for name in control.to_name:
        obj = config.objects.get(name)
        if obj is not None and obj.type == "Image":
            return name
    return None


def editor_setup(config: LabelConfig | None) -> dict[str, Any] | None:
    """The editor's part of a page's payload, or None when it has nothing to edit:

    - `tools`: [{kind, type, from_name, to_name, labels: [{name, colour}], rotatable}]
    - `fields`: [{kind, type, from_name, to_name, options, multiple}]
    - `image_key`: the task data key of the image they label (the first tool's or field's)
    - `control`: the first box tool (null without one); `labels`: every tool's labels
    """
    if config is None:
        return None
    colours = label_colours(config)
    tools: list[dict[str, Any]] = []
    fields: list[dict[str, Any]] = []
    image = None
    for control in config.controls.values():
        target = _image_target(config, control)
        kind = TOOL_KINDS.get(control.type) or FIELD_KINDS.get(control.type)
        if target is None or kind is None:
            continue
        image = image or config.objects[target].value
        common = {
            "kind": kind,
            "type": control.result_type,
            "from_name": control.name,
            "to_name": target,
        }
        if control.type in TOOL_KINDS:
            if not control.labels:
                continue
            labels = [{"name": label, "colour": colours[label]} for label in control.labels]
            rotatable = kind == "box" and control.can_rotate
            tools.append({**common, "labels": labels, "rotatable": rotatable})
        else:
            fields.append({**common, "options": list(control.labels), "multiple": control.multiple})
    if not tools and not fields:
        return None
    box = next((t for t in tools if t["kind"] == "box"), None)
    every = {label["name"]: label for tool in tools for label in tool["labels"]}
    return {
        "tools": tools,
        "fields": fields,
        "image_key": image,
        "control": {"from_name": box["from_name"], "to_name": box["to_name"]} if box else None,
        "labels": list(every.values()),
    }
