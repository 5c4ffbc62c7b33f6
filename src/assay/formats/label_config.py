"""Label Studio label configs (XML): which objects there are, which controls label them, with
which labels. Parsed once per config text; the server validates every region against it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
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
    can_rotate: bool = True  # RectangleLabels without canRotate="false"

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
    colours: dict[str, str] = field(default_factory=dict)  # label -> its `background`, if set

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
    colours: dict[str, str] = {}
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
        for c in el:
            if c.tag == child and c.get("background") and c.get("value") not in colours:
                colours[c.get("value", "")] = c.get("background", "")
        if (tag.endswith("Labels") or tag == "Choices") and not labels:
            raise LabelConfigError(f'<{tag} name="{name}"> has no <{child}> children')
        controls[name] = ControlTag(
            name=name,
            type=tag,
            to_name=tuple(n.strip() for n in el.get("toName", "").split(",") if n.strip()),
            labels=labels,
            multiple=el.get("choice") == "multiple",
            can_rotate=el.get("canRotate", "true").strip().lower() != "false",
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
    return LabelConfig(objects=objects, controls=controls, colours=colours)


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


# The shape types a new project can be built with: the control tag labelling the image.
BUILD_CONTROLS = {
    "rectangle": "RectangleLabels",
    "polygon": "PolygonLabels",
    "keypoint": "KeyPointLabels",
    "choices": "Choices",
}
MAX_LABELS = 500
MAX_LABEL_LENGTH = 100
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class LabelSpec:
    """One label of a label set: its name and, optionally, its colour ("#rrggbb")."""

    name: str
    colour: str | None = None


def split_labels(text: str) -> list[str]:
    """Label names from "a, b,c" or one a line; surrounding spaces and empty names dropped.

    >>> split_labels(" car, person\\nbus,, ")
    ['car', 'person', 'bus']
    """
    return [n.strip() for line in text.splitlines() for n in line.split(",") if n.strip()]


def _checked(labels: list[LabelSpec]) -> list[LabelSpec]:
    out = [LabelSpec(s.name.strip(), (s.colour or "").strip() or None) for s in labels]
    out = [s for s in out if s.name]
    if not out:
        raise LabelConfigError("the label set is empty: give at least one label")
    if len(out) > MAX_LABELS:
        raise LabelConfigError(f"the label set has {len(out)} labels; at most {MAX_LABELS}")
    seen: set[str] = set()
    for s in out:
        if len(s.name) > MAX_LABEL_LENGTH:
            raise LabelConfigError(
                f'label "{s.name[:20]}..." is over {MAX_LABEL_LENGTH} characters'
            )
        if s.name in seen:
            raise LabelConfigError(f'label "{s.name}" is listed twice')
        seen.add(s.name)
        c = s.colour
        if c is not None and not (len(c) == 7 and c[0] == "#" and set(c[1:]) <= _HEX):
            raise LabelConfigError(f'label "{s.name}" has colour "{c}"; write it as #rrggbb')
    return out


def _label_element(parent: ET.Element, tag: str, spec: LabelSpec) -> None:
    attrs = {"value": spec.name}
    if spec.colour:
        attrs["background"] = spec.colour
    ET.SubElement(parent, tag, attrs)


def build_label_config(labels: list[LabelSpec], shape: str) -> str:
    """The Label Studio XML of an image project with one labelling control.

    `shape`: rectangle (RectangleLabels), polygon (PolygonLabels), keypoint (KeyPointLabels)
    or choices (one class per image, Choices). Labels keep their order; a colour becomes the
    label's `background`. Raises LabelConfigError naming a bad shape, an empty set, a label
    listed twice or a colour that is not #rrggbb.

    >>> xml = build_label_config([LabelSpec("car", "#ff0000"), LabelSpec("bus")], "polygon")
    >>> parse_label_config(xml).controls["label"].type, parse_label_config(xml).colours
    ('PolygonLabels', {'car': '#ff0000'})
    """
    control = BUILD_CONTROLS.get(shape)
    if control is None:
        raise LabelConfigError(f'shape type "{shape}" is not one of {", ".join(BUILD_CONTROLS)}')
    specs = _checked(labels)
    root = ET.Element("View")
    ET.SubElement(root, "Image", {"name": "image", "value": "$image"})
    attrs = {"name": "choice" if control == "Choices" else "label", "toName": "image"}
    if control == "Choices":
        attrs["choice"] = "single"
    el = ET.SubElement(root, control, attrs)
    for spec in specs:
        _label_element(el, LABEL_CHILD.get(control, "Label"), spec)
    xml = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    parse_label_config(xml)  # what we build, we can read
    return xml


def labelled_control(xml: str) -> ControlTag | None:
    """The config's one control that carries labels, when it has exactly one (the label set a
    settings page can edit as a list); None otherwise."""
    with_labels_ = [c for c in parse_label_config(xml).controls.values() if c.labels]
    return with_labels_[0] if len(with_labels_) == 1 else None


def label_specs(xml: str, control: str) -> list[LabelSpec]:
    """The labels of the named control, in order, with their `background` colour if any."""
    root = ET.fromstring(xml)
    for el in root.iter():
        if el.get("name") == control and el.get("toName") is not None:
            child = LABEL_CHILD.get(el.tag, "Label")
            return [
                LabelSpec(c.get("value", ""), c.get("background")) for c in el if c.tag == child
            ]
    raise LabelConfigError(f'label_config has no control named "{control}"')


def with_label_set(xml: str, control: str, labels: list[LabelSpec]) -> str:
    """The config with the named control's labels replaced by `labels`, in that order.

    A label kept keeps its other attributes (hotkey, alias...); its colour is the new one.
    Whether dropping a label is allowed is the project's rule (labels in use must stay).
    """
    specs = _checked(labels)
    root = ET.fromstring(xml)
    for el in root.iter():
        if el.get("name") == control and el.get("toName") is not None:
            child = LABEL_CHILD.get(el.tag, "Label")
            old = {c.get("value"): c for c in el if c.tag == child}
            index = next((i for i, c in enumerate(el) if c.tag == child), len(el))
            for c in list(el):
                if c.tag == child:
                    el.remove(c)
            for offset, spec in enumerate(specs):
                new = ET.Element(child, dict(old[spec.name].attrib) if spec.name in old else {})
                new.set("value", spec.name)
                if spec.colour:
                    new.set("background", spec.colour)
                else:
                    new.attrib.pop("background", None)
                el.insert(index + offset, new)
            return ET.tostring(root, encoding="unicode")
    raise LabelConfigError(f'label_config has no control named "{control}"')
