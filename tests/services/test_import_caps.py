"""#16 M4: the caps of one import (files, unpacked bytes, one file's bytes) hold over every zip
of the request, are checked from the central directories before anything is read and again
while reading, and only the files the format reads are ever decompressed."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest

from assay.services import projects
from assay.services.access import Actor, Role
from assay.services.errors import Invalid
from assay.services.io import label_files
from assay.services.io.unpacking import ImportLimits, unpack
from builders import RECT_CONFIG, make_zip, zip_lying

SMALL = ImportLimits(files=10, total_bytes=4000, file_bytes=3000)


def coco(n_images: int = 1) -> bytes:
    return json.dumps(
        {
            "images": [
                {"id": i + 1, "file_name": f"img{i}.png", "width": 64, "height": 48}
                for i in range(n_images)
            ],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            ],
            "categories": [{"id": 1, "name": "Elephant"}],
        }
    ).encode()


def refused(sources, fmt="coco", limits=SMALL) -> str:
    with pytest.raises(Invalid) as err:
        unpack(sources, fmt, limits)
    return err.value.detail


def test_only_the_files_a_format_reads_are_read():
    png = zip_lying(make_zip({"images/a.png": b"\0" * 5000}), "images/a.png", crc=0)  # never opened
    got = unpack({"a.zip": make_zip({"ann/instances.json": b"{}", "x.txt": b"0 1 2 3 4"}),
                  "b.zip": png, "notes.md": b"hello"}, "coco", SMALL)  # fmt: skip
    assert got.files == {"ann/instances.json": b"{}"}
    assert got.heads == {"x.txt": b"0 1 2 3 4"}  # a label file of another format: its head
    assert got.skipped == 3
    # a lone file is read whatever its name; the caps count every file, read or not
    assert unpack({"tasks": b"[]"}, "ls-json", SMALL).files == {"tasks": b"[]"}
    many = {f"img{i}.png": b"" for i in range(10)}
    assert "more than 10 files" in refused({**many, "a.json": b"{}"})


def test_the_caps_hold_over_every_zip_of_the_request_before_anything_is_read():
    members = {f"{i}.json": b"x" * 1500 for i in range(2)}  # 3000 bytes a zip: under each cap
    bad_crc = zip_lying(make_zip(members), "0.json", crc=0)  # read first, if anything were read
    detail = refused({"a.zip": bad_crc, "b.zip": make_zip(members)})
    assert detail == (
        "file: b.zip: the label files of this import unpack to more than 4,000 bytes, "
        "the most one import reads"
    )
    four = make_zip({f"{i}.png": b"" for i in range(4)})
    detail = refused({"a.zip": four, "b.zip": four, "c.zip": four})
    assert detail.startswith("file: c.zip: this import holds more than 10 files and zip members")
    big = make_zip({"big.json": b"{}"})
    detail = refused({"a.zip": zip_lying(big, "big.json", size=600 << 20)})  # a declared bomb
    assert detail == (
        "file: a.zip: big.json unpacks to more than 3,000 bytes, the most one label file may"
    )
    assert "a.json unpacks to more than" in refused({"a.json": b" " * 3001, "b.json": b""})


def test_a_member_whose_header_lies_is_stopped_and_named():
    zeros = make_zip({"labels.json": b"\0" * (2 << 20)})  # 2 MiB, declared 100 bytes
    detail = refused({"up.zip": zip_lying(zeros, "labels.json", size=100)}, limits=ImportLimits())
    assert detail.startswith("file: up.zip: labels.json cannot be unpacked: Bad CRC-32")
    detail = refused({"up.zip": zip_lying(make_zip({"a.xml": b"<a/>"}), "a.xml", crc=1)}, fmt="voc")
    assert detail.startswith("file: up.zip: a.xml cannot be unpacked: Bad CRC-32")


def test_the_entries_of_a_zip_are_counted_from_its_central_directory_not_its_end_record():
    data = bytearray(make_zip({f"{i}.png": b"" for i in range(20)}))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 1, 1)  # the end record claims one entry
    assert "more than 10 files" in refused({"a.zip": bytes(data)})
    assert "not a readable zip file" in refused({"a.zip": b"PK\x03\x04 not really"})


def as_zip64(data: bytes, claimed: int) -> bytes:
    """The zip with a zip64 end record (as a zip of over 65,535 entries has) claiming
    `claimed` entries, and the classic end record saying "see zip64"."""
    end = data.rfind(b"PK\x05\x06")
    _, _, _, _, _, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", data, end)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, claimed, claimed,
                         cd_size, cd_offset)  # fmt: skip
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    classic = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                          0xFFFFFFFF, 0)  # fmt: skip
    return data[:end] + record + locator + classic


def test_zip64_archives_are_counted_too():
    data = as_zip64(make_zip({f"{i}.png": b"" for i in range(11)}), claimed=1)
    assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == 11  # zipfile reads them all
    assert "more than 10 files" in refused({"a.zip": data})
    assert unpack({"a.zip": data}, "coco", ImportLimits()).skipped == 11


def test_a_coco_zip_with_its_images_imports_without_reading_them(db, people):
    lead = Actor(people["lead"].id, Role.LEAD, people["lead"].email)
    with db.session() as s:
        pid = projects.create_project(s, lead, title="p", label_config=RECT_CONFIG).id
    images = {f"images/img{i}.png": b"\0" * 1000 for i in range(3)}
    data = make_zip({"annotations/instances.json": coco(3), **images})
    data = zip_lying(data, "images/img0.png", size=600 << 20)  # a bomb the import never opens
    data = zip_lying(data, "images/img1.png", crc=0)  # a bad CRC it never sees
    with db.session() as s:
        done = label_files.import_files(s, lead, pid, "coco", {"ds.zip": data},
                                        create_missing=True, limits=SMALL)  # fmt: skip
    assert (done.tasks_created, done.annotations) == (3, 3)
    assert done.notes == ["3 file(s) not read: coco reads .json files"]
    with db.session() as s, pytest.raises(Invalid, match="holds no file the coco import reads"):
        label_files.import_files(s, lead, pid, "coco", {"ds.zip": make_zip(images)})
