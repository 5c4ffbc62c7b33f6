"""Format import (services.io.label_files) in batches: matching reads only the tasks of the
images a file names, authors and their memberships are resolved in one query, and the
matching stays exactly that of `export.image_key` (first live task of each image) for every
way a task can name its image."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, select

from assay.formats.scout_csv import ANNOTATIONS_HEADER
from assay.services import projects, tasks, users
from assay.services.access import Actor, Role
from assay.services.errors import Invalid
from assay.services.io import label_files, task_index
from assay.services.io.exporting import image_key
from assay.store.models import Annotation, Task
from assay.store.types import utcnow as now
from builders import RECT_CONFIG, box

AUTHORS = 5


@dataclass
class Seen:
    statements: list[str] = field(default_factory=list)
    rows: int = 0  # rows the SELECTs answered


@contextmanager
def measuring(db, session) -> Iterator[Seen]:
    """Count the SQL statements sent and the rows the SELECTs of `session` answer."""
    seen = Seen()

    def on_cursor(conn, cursor, statement, *args) -> None:
        seen.statements.append(statement)

    def on_orm(state):
        if not state.is_select:
            return None
        frozen = state.invoke_statement().freeze()
        seen.rows += len(frozen.data)
        return frozen()

    event.listen(db.engine, "before_cursor_execute", on_cursor)
    event.listen(session, "do_orm_execute", on_orm)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", on_cursor)
        event.remove(session, "do_orm_execute", on_orm)


@pytest.fixture
def lead(db, people) -> Actor:
    return Actor(people["lead"].id, Role.LEAD, people["lead"].email)


@pytest.fixture
def authors(db) -> list[int]:
    """Annotators a0..a4@example.com (members of the projects `_project` makes)."""
    with db.session() as s:
        return [
            users.create_user(s, f"a{i}@example.com", "annotator", password="password-123")[0].id
            for i in range(AUTHORS)
        ]


SHARED = ("survey", "p", "q")  # media folders every project's tasks may show (ASSAY_SHARED_MEDIA)


def _project(
    db, lead: Actor, authors: list[int], data: list[dict], deleted=(), config=RECT_CONFIG
) -> int:
    """A project with one task per data dict (1600 x 1200), the authors as members; the tasks
    at the `deleted` positions are deleted. Their media may be in the `SHARED` folders, so
    tasks of several projects show the same files."""
    with db.session() as s:
        pid = projects.create_project(s, lead, title="p", label_config=config).id
        for uid in authors:
            projects.add_member(s, lead, pid, uid)
        if data:
            ids = tasks.import_tasks(
                s, lead, pid, [{"data": d} for d in data], sizes=[(1600, 1200)] * len(data),
                shared_media=SHARED,
            ).task_ids  # fmt: skip
            for i in deleted:
                s.get(Task, ids[i]).deleted_at = now()
    return pid


def _media(n: int, folder: str = "survey") -> list[dict]:
    return [{"image": f"/data/media/{folder}/img_{i:04d}.jpg"} for i in range(n)]


def _import(db, lead: Actor, pid: int, fmt: str, files: dict, **kw):
    """Run the import, measured; written only if it succeeds."""
    with db.session() as s, measuring(db, s) as seen:
        done = label_files.import_files(s, lead, pid, fmt, files, **kw)
    return done, seen


def _coco(keys: list[str], author: str = "a0@example.com") -> dict[str, bytes]:
    doc = {
        "images": [
            {"id": i + 1, "file_name": k, "width": 1600, "height": 1200}
            for i, k in enumerate(keys)
        ],
        "categories": [{"id": 1, "name": "Elephant"}],
        "annotations": [
            {"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [10, 10, 40, 30],
             "assay": {"author": author, "source": "annotation"}}
            for i in range(len(keys))
        ],
    }  # fmt: skip
    return {"instances.json": json.dumps(doc).encode()}


def _csv(rows: list[tuple[str, str]], gt: bool = False) -> dict[str, bytes]:
    """annotations.csv with one box per (image, author) row."""
    flag = "true" if gt else "false"
    lines = [",".join(ANNOTATIONS_HEADER)] + [
        f"{image},10,10,40,30,,Elephant,annotation,{author},,,{flag}" for image, author in rows
    ]
    return {"annotations.csv": "\n".join(lines).encode()}


# -- the two inefficiencies ---------------------------------------------------------------


def test_matching_reads_only_the_files_images_whatever_the_project_size(db, lead, authors):
    small = _project(db, lead, authors, _media(10))
    large = _project(db, lead, authors, _media(200))
    keys = ["survey/img_0001.jpg", "survey/img_0007.jpg", "survey/new.jpg"]
    measured = {}
    for pid in (small, large):
        done, seen = _import(db, lead, pid, "coco", _coco(keys), create_missing=True)
        assert (done.tasks_matched, done.tasks_created, done.annotations) == (2, 1, 3)
        measured[pid] = seen
    assert len(measured[small].statements) == len(measured[large].statements)
    # not one row more for 190 more tasks: the tasks are looked up by key, not all read
    assert measured[small].rows == measured[large].rows


def test_matching_by_file_name_reads_only_the_candidates_whatever_the_project_size(
    db, lead, authors
):
    """A file from another tool names `img_0001.jpg` for the task of survey/img_0001.jpg: the
    fallback looks file names up by their index, it does not read the project's tasks."""
    small = _project(db, lead, authors, _media(10))
    large = _project(db, lead, authors, _media(200))
    measured = {}
    for pid in (small, large):
        done, seen = _import(db, lead, pid, "coco", _coco(["img_0001.jpg", "x/img_0007.jpg"]))
        assert (done.tasks_matched, done.tasks_created, done.annotations) == (2, 0, 2)
        measured[pid] = seen
    assert len(measured[small].statements) == len(measured[large].statements)
    assert measured[small].rows == measured[large].rows


def test_authors_and_their_memberships_take_one_query_whatever_their_number(
    db, lead, authors, people
):
    pid = _project(db, lead, authors, _media(AUTHORS * 2))
    one = [(f"survey/img_{i:04d}.jpg", "a0@example.com") for i in range(AUTHORS)]
    many = [(f"survey/img_{i + AUTHORS:04d}.jpg", f"a{i}@example.com") for i in range(AUTHORS)]
    done_one, seen_one = _import(db, lead, pid, "csv", _csv(one))
    done_many, seen_many = _import(db, lead, pid, "csv", _csv(many))
    assert done_one.annotations == done_many.annotations == AUTHORS
    assert len(seen_one.statements) == len(seen_many.statements)
    with db.session() as s:
        by = dict(
            s.execute(
                select(Task.data["image"].as_string(), Annotation.completed_by_id).join(
                    Task, Task.id == Annotation.task_id
                )
            ).all()
        )
    assert [by[f"/data/media/{k}"] for k, _ in many] == authors
    assert {by[f"/data/media/{k}"] for k, _ in one} == {authors[0]}


def test_authors_who_are_not_members_are_the_importing_user(db, lead, authors, people):
    pid = _project(db, lead, authors[:1], _media(3))
    rows = [
        ("survey/img_0000.jpg", "A0@example.com"),  # a member, any case
        ("survey/img_0001.jpg", "a1@example.com"),  # a user, not a member
        ("survey/img_0002.jpg", "admin@example.com"),  # an admin, not a member
    ]
    _import(db, lead, pid, "csv", _csv(rows))
    with db.session() as s:
        got = s.execute(
            select(Annotation.completed_by_id).where(Annotation.project_id == pid)
            .order_by(Annotation.task_id)
        ).scalars().all()  # fmt: skip
    assert got == [authors[0], lead.id, lead.id]


def test_lookups_go_in_chunks_of_keys(db, lead, authors, monkeypatch):
    pid = _project(db, lead, authors, _media(7))
    monkeypatch.setattr(task_index, "CHUNK", 2)
    rows = [(f"survey/img_{i:04d}.jpg", f"a{i % AUTHORS}@example.com") for i in range(7)]
    done, seen = _import(db, lead, pid, "csv", _csv(rows))
    assert (done.tasks_matched, done.annotations) == (7, 7)
    by_media_path = [st for st in seen.statements if "media_path IN" in st]
    assert len(by_media_path) == 4  # 7 keys, 2 a query
    with db.session() as s:
        got = s.execute(
            select(Annotation.completed_by_id).where(Annotation.project_id == pid)
            .order_by(Annotation.task_id)
        ).scalars().all()  # fmt: skip
    assert got == [authors[i % AUTHORS] for i in range(7)]


# -- the matching is exactly export.image_key's ---------------------------------------------


MIXED = [
    {"image": "/data/media/p/a.jpg"},  # the usual: key = media path
    {"image": "https://cdn.example.com/p/a.jpg"},  # the same image again: not the first
    {"image": "https://cdn.example.com/p/b.jpg?sig=1#x"},  # an external URL
    {"image": "/data/media/p/b.jpg"},  # ... and later the same as media
    {"image": "/data/media/p/with%20space.jpg"},  # quoted: key "p/with space.jpg"
    {"image": "/data/media/p/100%25.jpg"},  # key "p/100%.jpg"
    {"image": "s3://bucket/p/c.jpg"},
    {"image": "gs://bucket/p/d%C3%A9.jpg"},  # key "p/dé.jpg"
    {"image": "/p/e.jpg"},  # a plain name: key "p/e.jpg"
    {"image": "f.jpg"},
    {"image": ""},  # no image value: key task-<id>
    {"image": 5},
    {"image": None},
    {"image": "https://cdn.example.com/p/h.jpg", "other": "/data/media/p/zz.jpg"},
    {"other": "/data/media/p/x1.jpg", "image": "/data/media/p/x2.jpg"},  # media path x1
    {"image": "/data/media/p/" + "l" * 1100 + ".jpg"},  # longer than a media path holds
    {"image": "/data/media/p/deleted.jpg"},  # deleted (below) ...
    {"image": "s3://bucket/p/deleted.jpg"},  # ... so this one is the image's first task
    {"image": "/data/media/p/gone.jpg"},  # deleted, no other
    {"image": "/data/media/p/a.jpg"},  # a third task of p/a.jpg
]
DELETED = (16, 18)


def _reference(session, pid: int) -> dict[str, tuple[int, int | None, int | None]]:
    """What the import matched before it looked keys up: every live task of the project
    read, the first of each image key kept."""
    config = tasks.label_config_of_project(session, pid)
    out: dict[str, tuple[int, int | None, int | None]] = {}
    for t in session.scalars(
        select(Task).where(Task.project_id == pid, Task.deleted_at.is_(None)).order_by(Task.id)
    ):
        out.setdefault(image_key(t, config), (t.id, t.width, t.height))
    return out


@pytest.mark.parametrize("chunk", [1000, 3])
def test_lookup_matches_exactly_what_reading_every_task_matched(
    db, lead, authors, monkeypatch, chunk
):
    monkeypatch.setattr(task_index, "CHUNK", chunk)
    other = _project(db, lead, authors, [{"image": "/data/media/p/only-elsewhere.jpg"}])
    pid = _project(db, lead, authors, MIXED, deleted=DELETED)
    with db.session() as s:
        expected = _reference(s, pid)
        ids = s.scalars(select(Task.id).where(Task.project_id == pid).order_by(Task.id)).all()
        assert {"p/with space.jpg", "p/100%.jpg", "p/dé.jpg", "p/x2.jpg"} <= set(expected)
        assert f"task-{ids[10]}" in expected and expected["p/a.jpg"][0] == ids[0]
        assert expected["p/b.jpg"][0] == ids[2] and expected["p/deleted.jpg"][0] == ids[17]
        config = tasks.label_config_of_project(s, pid)
        asked = [*expected, "p/gone.jpg", "p/only-elsewhere.jpg", "p/zz.jpg", "p/x1.jpg",
                 "task-999999", f"task-{ids[0]}", "nope.jpg"]  # fmt: skip
        index = task_index.TaskIndex(s, pid, config)
        got = {k: (e.task_id, e.width, e.height) for k, e in index.lookup(asked).items()}
        assert got == expected
        # asked again, in parts: the same answer, no more queries
        with measuring(db, s) as seen:
            again = index.lookup(asked[:5])
        assert [e.task_id for e in again.values()] == [expected[k][0] for k in asked[:5]]
        assert seen.statements == []
        whole = task_index.TaskIndex(s, pid, config).everything()
        assert {k: (e.task_id, e.width, e.height) for k, e in whole.items()} == expected
        assert list(whole) == list(expected)  # in task order, as before
        by_id = task_index.TaskIndex(s, pid, config).by_task_ids([*ids, 999999])
        live = [t for i, t in enumerate(ids) if i not in DELETED]
        assert sorted(by_id) == live
        assert by_id[ids[1]] == "p/a.jpg" and by_id[ids[10]] == f"task-{ids[10]}"
    assert other != pid


def test_an_image_field_sql_cannot_name_alone_is_read_with_the_whole_data(db, lead, authors):
    config = RECT_CONFIG.replace('value="$image"', 'value="$im&quot;g\\"')
    data = [{'im"g\\': v} for v in ("/data/media/q/a.jpg", "https://x.org/q/b.jpg", 7)]
    pid = _project(db, lead, authors, data, config=config)
    with db.session() as s:
        config_of = tasks.label_config_of_project(s, pid)
        assert config_of.image_key() == 'im"g\\'
        expected = _reference(s, pid)
        assert {"q/a.jpg", "q/b.jpg"} <= set(expected)
        got = task_index.TaskIndex(s, pid, config_of).lookup([*expected, "q/c.jpg"])
        assert {k: (e.task_id, e.width, e.height) for k, e in got.items()} == expected


def test_csv_import_matches_quoted_media_urls_and_external_urls(db, lead, authors):
    pid = _project(db, lead, authors, MIXED, deleted=DELETED)
    rows = [(k, "a0@example.com") for k in ("p/with space.jpg", "p/b.jpg", "p/deleted.jpg")]
    done, _ = _import(db, lead, pid, "csv", _csv(rows))
    assert (done.tasks_matched, done.tasks_created) == (3, 0)
    with db.session() as s:
        ids = s.scalars(select(Task.id).where(Task.project_id == pid).order_by(Task.id)).all()
        got = s.scalars(
            select(Annotation.task_id).where(Annotation.project_id == pid)
            .order_by(Annotation.task_id)
        ).all()  # fmt: skip
    assert got == [ids[2], ids[4], ids[17]]
    # an image the project has only as a deleted task is not one of its images
    r = _csv([("p/gone.jpg", "a0@example.com")])
    with pytest.raises(Invalid, match="nor an image of the project"):
        _import(db, lead, pid, "csv", r)


def test_ground_truth_onto_a_task_with_ground_truth_is_refused(db, lead, authors):
    pid = _project(db, lead, authors, _media(3))
    _import(db, lead, pid, "csv", _csv([("survey/img_0001.jpg", "a0@example.com")], gt=True))
    again = _csv([("survey/img_0002.jpg", "a0@example.com"), ("survey/img_0001.jpg", "")], True)
    with pytest.raises(Invalid, match="already has ground truth"):
        _import(db, lead, pid, "csv", again)
    done, _ = _import(db, lead, pid, "csv", again, as_="predictions", model_version="m")
    assert done.predictions == 2


def test_coco_results_name_tasks_by_id_and_only_the_first_task_of_an_image(db, lead, authors):
    pid = _project(db, lead, authors, MIXED, deleted=DELETED)
    with db.session() as s:
        ids = s.scalars(select(Task.id).where(Task.project_id == pid).order_by(Task.id)).all()

    def results(*task_ids):
        dets = [
            {"image_id": t, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5} for t in task_ids
        ]
        return {"results.json": json.dumps(dets).encode()}

    done, _ = _import(db, lead, pid, "coco", results(ids[0], float(ids[2]), ids[10]))
    assert (done.tasks_matched, done.predictions) == (3, 3)
    for second in (ids[1], ids[16], 10**12):  # the image's second task, deleted, unknown
        with pytest.raises(Invalid, match="is not an image id"):
            _import(db, lead, pid, "coco", results(ids[0], second))


def test_yolo_still_matches_label_files_by_a_unique_stem(db, lead, authors):
    pid = _project(db, lead, authors, [{"image": "https://cdn.example.com/deep/dir/q.jpg"}])
    files = {"data.yaml": b"names: [Elephant]\n", "labels/q.txt": b"0 0.5 0.5 0.1 0.1\n"}
    done, _ = _import(db, lead, pid, "yolo", files)
    assert (done.tasks_matched, done.annotations) == (1, 1)


def test_labelled_regions_land_on_the_matched_task(db, lead, authors):
    pid = _project(db, lead, authors, _media(2))
    done, _ = _import(db, lead, pid, "coco", _coco(["survey/img_0001.jpg"]))
    assert done.tasks_matched == 1
    with db.session() as s:
        ann = s.scalars(select(Annotation).where(Annotation.project_id == pid)).one()
        task = s.get(Task, ann.task_id)
        assert task.data["image"] == "/data/media/survey/img_0001.jpg"
        value = ann.result[0]["value"]
    expected = box(10 / 16, 10 / 12, 40 / 16, 30 / 12)["value"]
    assert (value["x"], value["y"], value["width"], value["height"]) == pytest.approx(
        (expected["x"], expected["y"], expected["width"], expected["height"])
    )
