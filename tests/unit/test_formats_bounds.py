"""The bounds every stored result, task data and meta keeps (formats.label_studio), so that no
label can break the lists and exports that read it (issue #16 H1)."""

from __future__ import annotations

import orjson
import pytest

from assay.formats import label_studio as ls
from assay.formats.label_config import parse_label_config
from assay.formats.label_studio import RegionError, check_json, check_task_json, validate_result
from builders import RECT_CONFIG, box

CONFIG = parse_label_config(RECT_CONFIG)
POLYGON_CONFIG = parse_label_config(
    '<View><Image name="image" value="$image"/><PolygonLabels name="poly" toName="image">'
    '<Label value="Field"/></PolygonLabels></View>'
)


def nested(levels: int) -> dict:
    """{"a": {"a": ... {}}}: `levels` objects, the outer one included."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def polygon(n: int) -> dict:
    points = [[50 + 40 * (i % 2), 50 + 40 * ((i // 2) % 2)] for i in range(n)]
    return {"from_name": "poly", "to_name": "image", "type": "polygonlabels",
            "value": {"points": points, "polygonlabels": ["Field"]}}  # fmt: skip


def test_a_region_keeps_extras_nested_up_to_the_limit():
    # the region is level 1 and its meta level 2: meta may hold MAX_DEPTH - 1 levels
    validate_result([box(1, 1, 5, 5, meta=nested(ls.MAX_DEPTH - 1), origin="manual")], CONFIG)


def test_a_region_nested_past_the_limit_is_refused_where_it_goes_too_deep():
    """The attack: 250 levels of meta stored, then every task list failed in orjson."""
    with pytest.raises(RegionError) as err:
        validate_result([box(1, 1, 5, 5), box(1, 1, 5, 5, meta=nested(250))], CONFIG)
    assert err.value.field == "result[1].meta" + ".a" * (ls.MAX_DEPTH - 1)  # level 17
    assert "deeper than 16" in err.value.reason


@pytest.mark.parametrize(
    ("region", "field", "reason"),
    [
        (box(1, 1, 5, 5, meta={"n": 2**64}), "result[0].meta.n", "64 bits"),
        (box(1, 1, 5, 5, meta=[1.0, float("inf")]), "result[0].meta[1]", "finite"),
        (box(1, 1, 5, 5, meta={"t": "x" * (ls.MAX_TEXT_LENGTH + 1)}), "result[0].meta.t", "longer"),
        (box(1, 1, 5, 5, meta={"k" * (ls.MAX_TEXT_LENGTH + 1): 1}), "result[0].meta", "key"),
        (box(1, 1, 5, 5, original_width=1e300), "result[0].original_width", "at most"),
        (box(1, 1, 5, 5, label="L" * (ls.MAX_LABEL_LENGTH + 1)), "result[0].value.rectanglelabels",
         "longer"),
        ({**box(1, 1, 5, 5), "from_name": "f" * 5000}, "result[0].from_name", "not a control"),
    ],
)  # fmt: skip
def test_each_bound_names_its_field(region, field, reason):
    with pytest.raises(RegionError) as err:
        validate_result([region], CONFIG)
    assert err.value.field == field
    assert reason in err.value.reason
    assert len(str(err.value)) < 300  # a megabyte string is never quoted back


def test_regions_per_result_and_points_per_polygon_are_bounded():
    validate_result([polygon(ls.MAX_POLYGON_POINTS)], POLYGON_CONFIG)
    with pytest.raises(RegionError) as err:
        validate_result([polygon(ls.MAX_POLYGON_POINTS + 1)], POLYGON_CONFIG)
    assert err.value.field == "result[0].value.points"
    with pytest.raises(RegionError) as err:
        validate_result([box(1, 1, 5, 5)] * (ls.MAX_REGIONS + 1), CONFIG)
    assert err.value.field == "result"


def test_task_data_is_an_object_nested_and_sized_within_the_limits():
    check_task_json({"image": "a.jpg", "extra": nested(ls.MAX_DEPTH - 1)}, "data")
    with pytest.raises(RegionError) as err:
        check_task_json({"image": "a.jpg", "d": nested(253)}, "data")
    assert err.value.field.startswith("data.d.a")
    with pytest.raises(RegionError) as err:
        check_task_json({"texts": ["y" * 60_000] * 20}, "meta")
    assert err.value.field == "meta" and "bytes" in err.value.reason
    with pytest.raises(RegionError) as err:
        check_task_json(["not", "an", "object"], "data")
    assert err.value.field == "data"


def test_check_json_accepts_what_json_holds():
    check_json({"a": [1, -2.5, True, None, "s", {"b": []}], "c": 2**63 - 1, "d": -(2**63)})


def test_rows_stored_before_the_bounds_are_written_clipped_not_failed():
    deep = {"data": nested(300), "ok": [1, {"x": 2}]}
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(deep)
    out = orjson.loads(orjson.dumps(ls.clipped(deep)))
    assert out["ok"] == [1, {"x": 2}]
    depth, node = 0, out["data"]
    while isinstance(node, dict):
        depth, node = depth + 1, node.get("a")
    assert depth == ls.WRITABLE_DEPTH - 1 and node is None
