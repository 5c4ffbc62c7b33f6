"""Checking Label Studio regions against a label config: what passes, and the error for what doesn't."""

from __future__ import annotations

import pytest

from assay.formats.label_config import LabelConfigError, parse_label_config
from assay.formats.label_studio import RegionError, validate_result
from builders import RECT_CONFIG, box

CONFIG = parse_label_config(RECT_CONFIG)


def rotated(x, y, w, h, rotation, width=4000, height=1000):
    region = box(x, y, w, h)
    region["original_width"], region["original_height"] = width, height
    region["value"]["rotation"] = rotation
    return region


def test_rotated_box_inside_a_wide_image_is_accepted():
    # 10 % x 40 % of a 4000 x 1000 image is a 400 x 400 px square at (800, 100) px: turned 45
    # degrees about its top-left corner it spans x 517..1083 px, y 100..666 px, inside the image.
    # Rotating the percent values as if they were pixels would put a corner at x = 20 - 40 * 0.707
    # < 0 and wrongly call the region outside the image.
    validate_result([rotated(20, 10, 10, 40, 45)], CONFIG)


def test_rotated_box_leaving_the_image_names_the_axis():
    with pytest.raises(RegionError) as err:
        validate_result([rotated(1, 50, 10, 40, 90)], CONFIG)  # swings left of x = 0
    assert err.value.field == "result[0].value.x"


@pytest.mark.parametrize(
    ("region", "field"),
    [
        ({**box(1, 1, 2, 2), "from_name": "nope"}, "result[0].from_name"),
        ({**box(1, 1, 2, 2), "to_name": "other"}, "result[0].to_name"),
        ({**box(1, 1, 2, 2), "type": "polygonlabels"}, "result[0].type"),
        ({**box(1, 1, 2, 2), "original_width": -3}, "result[0].original_width"),
        ({**box(1, 1, 2, 2), "value": "x"}, "result[0].value"),
        (box(1, 1, 2, float("nan")), "result[0].value.height"),
    ],
)
def test_each_broken_field_is_named(region, field):
    with pytest.raises(RegionError) as err:
        validate_result([region], CONFIG)
    assert err.value.field == field


def test_config_problems_are_named():
    with pytest.raises(LabelConfigError, match='lists label "A" twice'):
        parse_label_config(
            "<View><Image name='i' value='$img'/><RectangleLabels name='l' toName='i'><Label value='A'/><Label value='A'/></RectangleLabels></View>"
        )
    with pytest.raises(LabelConfigError, match="used by two tags"):
        parse_label_config(
            "<View><Image name='i' value='$img'/><Choices name='i' toName='i'><Choice value='A'/></Choices></View>"
        )
