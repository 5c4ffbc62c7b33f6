"""#16 M4: zip uploads are unpacked within the caps of one request, over all its zips; a zip
that lies or is broken is a 400 naming the file, the member or the cap, never a 500."""

from __future__ import annotations

import json

from builders import make_zip, zip_lying

COCO = json.dumps(
    {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]}],
        "categories": [{"id": 1, "name": "Elephant"}],
    }
).encode()


def _upload(client, people, project, *zips: tuple[str, bytes]):
    return client.post(
        f"/api/projects/{project['id']}/import?format=coco&create_missing=true",
        files=[("file", (name, data)) for name, data in zips],
        headers=people["lead"].headers,
    )


def _refused(r) -> str:
    assert r.status_code == 400, r.text
    return r.json()["detail"]


def test_a_member_with_a_bad_crc_is_a_400_naming_it(client, people, project):
    data = zip_lying(make_zip({"coco/instances.json": COCO}), "coco/instances.json", crc=7)
    detail = _refused(_upload(client, people, project, ("gt.zip", data)))
    assert detail.startswith("file: gt.zip: coco/instances.json cannot be unpacked: Bad CRC-32")


def test_a_member_whose_header_understates_its_size_is_stopped(client, people, project):
    bomb = make_zip({"instances.json": b" " * (8 << 20)})  # 8 MiB, declared 1 KiB
    detail = _refused(
        _upload(client, people, project, ("gt.zip", zip_lying(bomb, "instances.json", size=1024)))
    )
    assert detail.startswith("file: gt.zip: instances.json cannot be unpacked: Bad CRC-32")


def test_the_caps_are_per_request_and_checked_before_reading(client, people, project):
    big = zip_lying(make_zip({"instances.json": COCO}), "instances.json", size=600 << 20)
    detail = _refused(_upload(client, people, project, ("gt.zip", big)))
    assert detail == (
        "file: gt.zip: instances.json unpacks to more than 512 MiB, the most one label file may"
    )
    # two archives of 400 MiB of labels each: each under every cap, together over the total
    half = zip_lying(make_zip({"a.json": COCO}), "a.json", size=400 << 20)
    other = zip_lying(make_zip({"b.json": COCO}), "b.json", size=400 << 20)
    third = zip_lying(make_zip({"c.json": COCO}), "c.json", size=400 << 20)
    detail = _refused(
        _upload(client, people, project, ("a.zip", half), ("b.zip", other), ("c.zip", third))
    )
    assert detail == (
        "file: c.zip: the label files of this import unpack to more than 1,024 MiB, "
        "the most one import reads"
    )


def test_the_images_of_a_coco_zip_are_never_read(client, people, project):
    """A COCO zip with its images/: the images are counted, not decompressed, so neither a
    bomb nor a broken image among them stops the import."""
    data = make_zip({"annotations/instances.json": COCO, "images/a.png": b"\0" * 4096,
                     "images/b.png": b"\0" * 4096})  # fmt: skip
    data = zip_lying(zip_lying(data, "images/a.png", size=600 << 20), "images/b.png", crc=0)
    r = _upload(client, people, project, ("ds.zip", data))
    assert r.status_code == 201, r.text
    assert (r.json()["task_count"], r.json()["annotation_count"]) == (1, 1)
    assert r.json()["notes"] == ["2 file(s) not read: coco reads .json files"]


def test_the_server_settings_set_the_caps(client, people, project, settings, monkeypatch):
    monkeypatch.setattr(settings, "import_max_file_mb", 0.001)  # 1,048 bytes
    padded = make_zip({"a.json": COCO + b" " * 2000})
    detail = _refused(_upload(client, people, project, ("gt.zip", padded)))
    assert detail.endswith("a.json unpacks to more than 1,048 bytes, the most one label file may")
    monkeypatch.setattr(settings, "import_max_file_mb", 512.0)
    monkeypatch.setattr(settings, "import_max_files", 2)
    three = make_zip({"a.json": COCO, "images/a.png": b"", "images/b.png": b""})
    detail = _refused(_upload(client, people, project, ("gt.zip", three)))
    assert detail.startswith("file: gt.zip: this import holds more than 2 files")
