"""Building a Label Studio config from a label set, and changing a config's label set."""

from __future__ import annotations

import pytest

from assay.formats.label_config import (
    BUILD_CONTROLS,
    LabelConfigError,
    LabelSpec,
    build_label_config,
    label_specs,
    labelled_control,
    parse_label_config,
    split_labels,
    with_label_set,
)


@pytest.mark.parametrize("shape", list(BUILD_CONTROLS))
def test_every_shape_builds_a_config_the_parser_reads(shape):
    xml = build_label_config([LabelSpec("car", "#ff0000"), LabelSpec(" bus ")], shape)
    config = parse_label_config(xml)
    control = labelled_control(xml)
    assert control is not None and control.type == BUILD_CONTROLS[shape]
    assert config.labels == ("car", "bus") and config.image_key() == "image"
    assert config.colours == {"car": "#ff0000"}
    assert control.to_name == ("image",) and not control.multiple


@pytest.mark.parametrize(
    ("labels", "shape", "message"),
    [
        ([], "rectangle", "the label set is empty"),
        ([LabelSpec("  ")], "rectangle", "the label set is empty"),
        ([LabelSpec("a"), LabelSpec("a")], "polygon", 'label "a" is listed twice'),
        ([LabelSpec("a", "red")], "polygon", 'label "a" has colour "red"; write it as #rrggbb'),
        ([LabelSpec("a")], "mask", 'shape type "mask" is not one of'),
        ([LabelSpec("x" * 101)], "keypoint", "is over 100 characters"),
    ],
)
def test_bad_label_sets_are_named(labels, shape, message):
    with pytest.raises(LabelConfigError, match=message):
        build_label_config(labels, shape)


def test_markup_in_a_label_is_escaped():
    xml = build_label_config([LabelSpec('a "quoted" <b>&')], "rectangle")
    assert parse_label_config(xml).labels == ('a "quoted" <b>&',)


def test_with_label_set_keeps_other_attributes_and_the_rest_of_the_config():
    xml = (
        '<View><Header value="Find cars"/><Image name="img" value="$img"/>'
        '<RectangleLabels name="box" toName="img" strokeWidth="2">'
        '<Label value="car" hotkey="c" background="#111111"/><Label value="bus"/>'
        "</RectangleLabels></View>"
    )
    out = with_label_set(
        xml, "box", [LabelSpec("bus", "#00ff00"), LabelSpec("car"), LabelSpec("van")]
    )
    assert label_specs(out, "box") == [
        LabelSpec("bus", "#00ff00"),
        LabelSpec("car", None),
        LabelSpec("van", None),
    ]
    assert 'hotkey="c"' in out and 'strokeWidth="2"' in out and "Find cars" in out
    with pytest.raises(LabelConfigError, match='no control named "nope"'):
        with_label_set(xml, "nope", [LabelSpec("a")])


def test_labelled_control_only_when_there_is_one():
    two = (
        '<View><Image name="i" value="$i"/>'
        '<RectangleLabels name="a" toName="i"><Label value="x"/></RectangleLabels>'
        '<Choices name="b" toName="i"><Choice value="y"/></Choices></View>'
    )
    assert labelled_control(two) is None


def test_split_labels():
    assert split_labels("car, bus\n person ,,") == ["car", "bus", "person"]
