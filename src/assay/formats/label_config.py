"""Label Studio label configs (XML): which objects there are, which controls label them, with
which labels. Parsed once per config text; the server validates every region against it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache

OBJECT_TAGS = frozenset(
    {"Image", "Text", "HyperText", "Audio", "AudioPlus", "Video", "TimeSeries", "Paragraphs",
     "Table", "List", "Pdf"}
)  # fmt: skip
# Control tags whose results assay checks in detail; other controls are accepted by type name.
SHAPE_CONTROLS = {
    "RectangleLabels": "rectangle",
    "Rectangle": "rectangle",
    "PolygonLabels": "polygon",
    "Polygon": "polygon",
    "KeyPointLabels": "keypoint",
    "KeyPoint": "keypoint",
    "BrushLabels": "brush",
    "Brush": "brush",
    "Choices": "choices",
}
LABEL_CHILD = {"Choices": "Choice"}
# Characters of a region's label: one label name, or several joined with "|" (the scores keep
# it per label in a column of this size).
MAX_LABEL_LENGTH = 200
NON_CONTROL_TAGS = frozenset({"View", "Header", "Style", "Label", "Choice", "Filter", "Relations",
                              "Relation", "Collapse", "Shortcut"})  # fmt: skip


class LabelConfigError(ValueError):
    """The label config cannot be used; the message says what is wrong and where."""


@dataclass(frozen=True)
class ObjectTag:
    name: str
    type: str  # "Image", "Text", ...
    value: str  # the task data key, "$image" -> "image"


@dataclass(frozen=True)
class ControlTag:
    name: str
    type: str  # "RectangleLabels", "Choices", ...
    to_name: tuple[str, ...]
    labels: tuple[str, ...]
    multiple: bool = False  # Choices with choice="multiple"

    @property
    def result_type(self) -> str:
        """The `type` a result item from this control carries, as Label Studio writes it."""
        return self.type.lower()

    @property
    def shape(self) -> str | None:
        return SHAPE_CONTROLS.get(self.type)


@dataclass(frozen=True)
class LabelConfig:
    objects: dict[str, ObjectTag]
    controls: dict[str, ControlTag]

    @property
    def labels(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for control in self.controls.values():
            for label in control.labels:
                seen.setdefault(label, None)
        return tuple(seen)

    def image_key(self) -> str | None:
        """The task data key holding the image URL, e.g. "image" for value="$image"."""
        for obj in self.objects.values():
            if obj.type == "Image":
                return obj.value
        return None

    def parsed_label_config(self) -> dict[str, dict[str, object]]:
        """Label Studio's `parsed_label_config` project field."""
        return {
            c.name: {
                "type": c.type,
                "to_name": list(c.to_name),
                "inputs": [
                    {"type": self.objects[n].type, "value": self.objects[n].value}
                    for n in c.to_name
                    if n in self.objects
                ],
                "labels": list(c.labels),
                "labels_attrs": {label: {"value": label} for label in c.labels},
            }
            for c in self.controls.values()
        }


def parse_label_config(xml: str) -> LabelConfig:
    """Parse and check a config; raises LabelConfigError naming the problem."""
    return _parse_cached(xml)


@lru_cache(maxsize=256)
def _parse_cached(xml: str) -> LabelConfig:
    if not xml or not xml.strip():
        raise LabelConfigError("label_config is empty")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise LabelConfigError(f"label_config is not well-formed XML: {exc}") from None
    if root.tag != "View":
        raise LabelConfigError(f"label_config must have <View> at its root, not <{root.tag}>")

    objects: dict[str, ObjectTag] = {}
    controls: dict[str, ControlTag] = {}
    for el in root.iter():
        tag = el.tag
        if tag in NON_CONTROL_TAGS:
            continue
        name = el.get("name")
        if tag in OBJECT_TAGS:
            value = el.get("value", "")
            if not name:
                raise LabelConfigError(f"<{tag}> needs a name attribute")
            if not value.startswith("$") or len(value) < 2:
                raise LabelConfigError(
                    f'<{tag} name="{name}"> needs value="$key" naming a task data field'
                )
            _check_unique(name, objects, controls)
            objects[name] = ObjectTag(name=name, type=tag, value=value[1:])
            continue
        if el.get("toName") is None:
            continue  # layout or unknown visual tag
        if not name:
            raise LabelConfigError(f"<{tag}> needs a name attribute")
        _check_unique(name, objects, controls)
        child = LABEL_CHILD.get(tag, "Label")
        labels = tuple(c.get("value", "") for c in el if c.tag == child)
        if any(not label for label in labels):
            raise LabelConfigError(f'<{tag} name="{name}"> has a <{child}> without a value')
        if any(len(label) > MAX_LABEL_LENGTH for label in labels):
            raise LabelConfigError(
                f'<{tag} name="{name}"> has a <{child}> value longer than {MAX_LABEL_LENGTH} '
                "characters"
            )
        if len(set(labels)) != len(labels):
            dup = next(label for label in labels if labels.count(label) > 1)
            raise LabelConfigError(f'<{tag} name="{name}"> lists label "{dup}" twice')
        if (tag.endswith("Labels") or tag == "Choices") and not labels:
            raise LabelConfigError(f'<{tag} name="{name}"> has no <{child}> children')
        controls[name] = ControlTag(
            name=name,
            type=tag,
            to_name=tuple(n.strip() for n in el.get("toName", "").split(",") if n.strip()),
            labels=labels,
            multiple=el.get("choice") == "multiple",
        )

    if not objects:
        raise LabelConfigError("label_config has no object tag to label (e.g. <Image>)")
    if not controls:
        raise LabelConfigError("label_config has no control tag (e.g. <RectangleLabels>)")
    for control in controls.values():
        for target in control.to_name:
            if target not in objects:
                raise LabelConfigError(
                    f'<{control.type} name="{control.name}"> has toName="{target}", '
                    "which names no object tag"
                )
    return LabelConfig(objects=objects, controls=controls)


def _check_unique(name: str, *seen: dict[str, object]) -> None:
    if any(name in s for s in seen):
        raise LabelConfigError(f'name "{name}" is used by two tags')


def with_labels(xml: str, control: str, labels: list[str]) -> str:
    """The config with `labels` appended as <Label> children of the named control (for an
    import that brings labels the project does not have yet)."""
    root = ET.fromstring(xml)
    for el in root.iter():
        if el.get("name") == control and el.get("toName") is not None:
            child = LABEL_CHILD.get(el.tag, "Label")
            for label in labels:
                ET.SubElement(el, child, {"value": label})
            return ET.tostring(root, encoding="unicode")
    raise LabelConfigError(f'label_config has no control named "{control}"')
