"""Every migration runs up and down on the database under test, and matches the models."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from assay.store import (  # the models' modules: their tables join Base's metadata
    bookkeeping,  # noqa: F401
    diagnosis_models,  # noqa: F401
    drift_models,  # noqa: F401
    evaluation_models,  # noqa: F401
    guideline_models,  # noqa: F401
    migrate,
    models,  # noqa: F401
    suspect_models,  # noqa: F401
)
from assay.store.base import Base
from assay.store.db import Database
from builders import RECT_CONFIG, make_temp_database


def test_upgrade_downgrade_upgrade(tmp_path):
    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    try:
        migrate.upgrade(db.engine)
        assert {"users", "projects", "tasks", "annotations", "predictions"} <= set(
            inspect(db.engine).get_table_names()
        )
        migrate.downgrade(db.engine, "base")
        assert "annotations" not in inspect(db.engine).get_table_names()
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": migrate.include_name})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        db.dispose()
        temp.drop()


def test_heads_read_from_the_files_are_alembics():
    """`upgrade` skips Alembic when the database holds these heads, so they must be Alembic's."""
    from alembic.script import ScriptDirectory

    assert migrate.heads() == frozenset(ScriptDirectory(str(migrate.MIGRATIONS)).get_heads())


def test_upgrade_at_head_is_recognised_and_a_step_behind_is_not(tmp_path):
    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    try:
        assert not migrate.at_head(db.engine)  # empty database: no alembic_version
        migrate.upgrade(db.engine, "0027")
        assert not migrate.at_head(db.engine)
        migrate.upgrade(db.engine)
        assert migrate.at_head(db.engine)
        assert "conflict_decisions" in inspect(db.engine).get_table_names()
    finally:
        db.dispose()
        temp.drop()


def test_sqlite_runs_in_wal_with_foreign_keys(database):
    if database.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_keeps_existing_rows(tmp_path):
    """A database with projects, tasks and annotations survives every later migration."""
    from sqlalchemy import text

    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    try:
        migrate.upgrade(db.engine, "0001")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, username, first_name, last_name, role, is_active, created_at) VALUES (1, 'a@x.org', 'a', '', '', 'admin', true, '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO projects (id, title, description, label_config, expert_instruction, color, created_at, updated_at) VALUES (1, 'p', '', '<View/>', '', '#fff', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    """INSERT INTO tasks (id, project_id, data, meta, created_at, updated_at) VALUES (1, 1, '{"image": "a.jpg"}', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"""
                )
            )
            conn.execute(
                text(
                    """INSERT INTO tasks (id, project_id, data, meta, created_at, updated_at) VALUES (2, 1, '{"n": 3, "image": "/data/media/project-1/b.png"}', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"""
                )
            )
            conn.execute(
                text(
                    "INSERT INTO annotations (id, task_id, project_id, completed_by_id, result, ground_truth, was_cancelled, revision, created_at, updated_at) VALUES (1, 1, 1, 1, '[]', true, false, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            assert (
                conn.execute(text("SELECT count(*) FROM annotations WHERE task_id = 1")).scalar()
                == 1
            )
            assert conn.execute(text("SELECT gt_status FROM tasks WHERE id = 1")).scalar() == "none"
            paths = dict(conn.execute(text("SELECT id, media_path FROM tasks")).all())
            assert paths == {1: None, 2: "project-1/b.png"}  # media access needs the backfill
    finally:
        db.dispose()
        temp.drop()


def test_annotations_fixed_before_0012_keep_their_annotators_result(tmp_path):
    """Migration 0012 fills `own_result` of annotations someone else rewrote after their
    author's last change, with that change, so their annotator's scores stop counting the fix."""
    import json

    from sqlalchemy import text

    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    mine, fix = [{"id": "a", "type": "choices"}], [{"id": "b", "type": "choices"}]
    try:
        migrate.upgrade(db.engine, "0011")
        ts = "'2026-01-01 00:00:00'"
        with db.engine.begin() as conn:
            for stmt in (
                f"INSERT INTO users (id, email, username, first_name, last_name, role, is_active, created_at) VALUES (1, 'a@x.org', 'a', '', '', 'admin', true, {ts})",
                f"INSERT INTO users (id, email, username, first_name, last_name, role, is_active, created_at) VALUES (2, 'r@x.org', 'r', '', '', 'reviewer', true, {ts})",
                f"INSERT INTO projects (id, title, description, label_config, expert_instruction, color, created_at, updated_at) VALUES (1, 'p', '', '<View/>', '', '#fff', {ts}, {ts})",
                f"""INSERT INTO tasks (id, project_id, data, meta, created_at, updated_at) VALUES (1, 1, '{{}}', '{{}}', {ts}, {ts})""",
            ):
                conn.execute(text(stmt))
            # 1: fixed by a reviewer; 2: untouched; 3: fixed, then changed by its author
            for ann_id, status in ((1, "fixed"), (2, "none"), (3, "fixed")):
                conn.execute(
                    text(
                        "INSERT INTO annotations (id, task_id, project_id, completed_by_id, result, ground_truth, was_cancelled, revision, review_status, created_at, updated_at) "
                        f"VALUES ({ann_id}, 1, 1, 1, :fix, false, false, 2, '{status}', {ts}, {ts})"
                    ),
                    {"fix": json.dumps(fix)},
                )
                history = {
                    1: [(1, mine), (2, fix)],
                    2: [(1, mine)],
                    3: [(1, mine), (2, fix), (1, fix)],
                }
                for rev, (who, result) in enumerate(history[ann_id], start=1):
                    conn.execute(
                        text(
                            "INSERT INTO annotation_revisions (annotation_id, revision, action, result, ground_truth, was_cancelled, changed_by_id, changed_at) "
                            f"VALUES ({ann_id}, {rev}, 'updated', :r, false, false, {who}, {ts})"
                        ),
                        {"r": json.dumps(result)},
                    )
            conn.execute(
                text(
                    "INSERT INTO reviews (annotation_id, task_id, project_id, reviewer_id, action, comment, reviewed_revision, fixed_revision, created_at) "
                    f"VALUES (1, 1, 1, 1, 'fix_accept', '', 1, 2, {ts})"
                )
            )
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, own_result FROM annotations")).all())
        own = {k: json.loads(v) if isinstance(v, str) else v for k, v in rows.items()}
        assert own == {1: mine, 2: None, 3: None}
    finally:
        db.dispose()
        temp.drop()


def test_0013_names_the_images_of_existing_tasks(tmp_path):
    """Migration 0013 fills `tasks.image_name` from each project's image field, so label files
    naming bare file names find tasks imported before it."""
    from sqlalchemy import text

    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    config = RECT_CONFIG.replace("$image", "$photo")
    try:
        migrate.upgrade(db.engine, "0012")
        ts = "'2026-01-01 00:00:00'"
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO projects (id, title, description, label_config, expert_instruction, color, created_at, updated_at) "
                    f"VALUES (1, 'p', '', :c, '', '#fff', {ts}, {ts}), (2, 'q', '', '<View/>', '', '#fff', {ts}, {ts})"
                ),
                {"c": config},
            )
            for task_id, project_id, data in (
                (1, 1, {"photo": "/data/media/project-1/herd%231.png"}),
                (2, 1, {"photo": "https://x.org/a/b.jpg?sig=1"}),
                (3, 1, {"other": "c.png"}),
                (4, 2, {"photo": "d.png"}),
            ):
                conn.execute(
                    text(
                        "INSERT INTO tasks (id, project_id, data, meta, created_at, updated_at) "
                        f"VALUES ({task_id}, {project_id}, :d, '{{}}', {ts}, {ts})"
                    ),
                    {"d": json.dumps(data)},
                )
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            names = dict(conn.execute(text("SELECT id, image_name FROM tasks")).all())
        assert names == {1: "herd#1.png", 2: "b.jpg", 3: None, 4: None}
    finally:
        db.dispose()
        temp.drop()


def test_0018_renumbers_duplicate_revisions_and_makes_them_unique(tmp_path):
    """Concurrent edits on PostgreSQL before issue #16 M3 wrote one revision number several
    times (1, 2, 2, 2). Migration 0018 numbers them 1..n, the annotation's current state last,
    moves the numbers that reviews, GT changes and scores hold along, and then refuses a
    duplicate."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    temp = make_temp_database(tmp_path)
    db = Database.connect(temp.url)
    r1, x, y, z = ([{"id": name, "type": "choices"}] for name in ("r1", "x", "y", "z"))
    try:
        migrate.upgrade(db.engine, "0017")
        ts = "'2026-01-01 00:00:00'"
        with db.engine.begin() as conn:
            for stmt in (
                f"INSERT INTO users (id, email, username, first_name, last_name, role, is_active, created_at) VALUES (1, 'a@x.org', 'a', '', '', 'lead', true, {ts})",
                f"INSERT INTO users (id, email, username, first_name, last_name, role, is_active, created_at) VALUES (2, 'r@x.org', 'r', '', '', 'reviewer', true, {ts})",
                f"INSERT INTO projects (id, title, description, label_config, expert_instruction, color, created_at, updated_at) VALUES (1, 'p', '', '<View/>', '', '#fff', {ts}, {ts})",
                f"INSERT INTO tasks (id, project_id, data, meta, created_at, updated_at) VALUES (1, 1, '{{}}', '{{}}', {ts}, {ts})",
            ):
                conn.execute(text(stmt))
            # 1: the GT; three edits read revision 1 and wrote 2 (x by 1, y fixed by 2, z by
            # 1), y committed last. 2: an annotation with a clean history.
            for ann_id, gt, result in ((1, "true", y), (2, "false", x)):
                conn.execute(
                    text(
                        "INSERT INTO annotations (id, task_id, project_id, completed_by_id, result, ground_truth, was_cancelled, revision, created_at, updated_at) "
                        f"VALUES ({ann_id}, 1, 1, 1, :r, {gt}, false, 2, {ts}, {ts})"
                    ),
                    {"r": json.dumps(result)},
                )
            history = [
                (1, 1, "created", r1, 1),
                (1, 2, "updated", x, 1),
                (1, 2, "fixed", y, 2),
                (1, 2, "updated", z, 1),
                (2, 1, "created", r1, 1),
                (2, 2, "updated", x, 1),
            ]
            for ann_id, rev, action, result, who in history:
                conn.execute(
                    text(
                        "INSERT INTO annotation_revisions (annotation_id, revision, action, result, ground_truth, was_cancelled, changed_by_id, changed_at) "
                        f"VALUES ({ann_id}, {rev}, '{action}', :r, false, false, {who}, {ts})"
                    ),
                    {"r": json.dumps(result)},
                )
            conn.execute(
                text(
                    "INSERT INTO reviews (annotation_id, task_id, project_id, reviewer_id, action, comment, reviewed_revision, fixed_revision, created_at) "
                    f"VALUES (1, 1, 1, 2, 'fix_accept', '', 1, 2, {ts})"
                )
            )
            for action, rev in (("set", 1), ("edited", 2), ("edited", 2)):
                conn.execute(
                    text(
                        "INSERT INTO ground_truth_changes (project_id, task_id, action, from_annotation_id, to_annotation_id, revision, changed_by_id, changed_at) "
                        f"VALUES (1, 1, '{action}', 1, 1, {rev}, 1, {ts})"
                    )
                )
            conn.execute(
                text(
                    "INSERT INTO quality_scores (project_id, task_id, subject_kind, subject_key, annotation_id, gt_annotation_id, gt_revision, tp, fp, fn, matched, iou_sum, accuracy, labels, confusion, computed_at) "
                    f"VALUES (1, 1, 'annotation', '1', 2, 1, 2, 0, 0, 0, 0, 0, 1, '{{}}', '{{}}', {ts})"
                )
            )
        migrate.upgrade(db.engine)
        with db.engine.begin() as conn:
            revisions = conn.execute(
                text(
                    "SELECT annotation_id, revision, result FROM annotation_revisions ORDER BY annotation_id, revision"
                )
            ).all()
            assert [(a, r, json.loads(v)[0]["id"] if isinstance(v, str) else v[0]["id"]) for a, r, v in revisions] == [
                (1, 1, "r1"), (1, 2, "x"), (1, 3, "z"), (1, 4, "y"), (2, 1, "r1"), (2, 2, "x")
            ]  # fmt: skip
            assert dict(conn.execute(text("SELECT id, revision FROM annotations")).all()) == {
                1: 4,
                2: 2,
            }
            assert conn.execute(
                text("SELECT reviewed_revision, fixed_revision FROM reviews")
            ).one() == (1, 4)
            changes = conn.execute(
                text("SELECT revision FROM ground_truth_changes ORDER BY id")
            ).scalars()
            assert list(changes) == [1, 2, 3]
            assert conn.execute(text("SELECT gt_revision FROM quality_scores")).scalar() == 4
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO annotation_revisions (annotation_id, revision, action, result, ground_truth, was_cancelled, changed_by_id, changed_at) "
                    f"VALUES (2, 2, 'updated', '[]', false, false, 1, {ts})"
                )
            )
    finally:
        db.dispose()
        temp.drop()
