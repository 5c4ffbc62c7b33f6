"""project_counts (#20 item 3): a project's task, annotation, prediction and GT counts kept by
the database itself (triggers on tasks, annotations, predictions and projects), so reading
them costs one row however big the project; tasks.live_annotations counts each task's live
annotations (kind manual), so "tasks with annotations" moves exactly when a task gains its
first or loses its last, also under concurrent writers (the task row's lock orders them).

What counts (as `services.projects.project_counts` defines it): live tasks (by GT status),
live manual annotations on live tasks, live tasks with at least one, live predictions on live
tasks, live GT annotations on live tasks. A task's soft delete (or restore) takes out (puts
back) everything on it.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

COUNTS = (
    "tasks", "done", "empty", "annotations", "annotated_tasks", "predictions", "ground_truths"
)  # fmt: skip

# -- the counts of the current rows (backfill) -------------------------------------------------
BACKFILL = [
    """UPDATE tasks SET live_annotations = (
        SELECT count(*) FROM annotations a
        WHERE a.task_id = tasks.id AND a.deleted_at IS NULL AND a.kind = 'manual')""",
    """INSERT INTO project_counts (project_id) SELECT id FROM projects""",
]

# -- SQLite: row triggers ----------------------------------------------------------------------
_SQLITE_TASK_LIVE = "(SELECT t.deleted_at IS NULL FROM tasks t WHERE t.id = {row}.task_id)"


def _sqlite_task_side(row: str, sign: str) -> str:
    """Add (sign +) or take out (sign -) what a task row and everything on it count."""
    live = f"({row}.deleted_at IS NULL)"
    gt = (
        f"(SELECT count(*) FROM annotations a WHERE a.task_id = {row}.id "
        "AND a.deleted_at IS NULL AND a.ground_truth)"
    )
    preds = (
        f"(SELECT count(*) FROM predictions p WHERE p.task_id = {row}.id AND p.deleted_at IS NULL)"
    )
    return f"""UPDATE project_counts SET
        tasks = tasks {sign} {live},
        done = done {sign} ({live} AND {row}.gt_status = 'done'),
        empty = empty {sign} ({live} AND {row}.gt_status = 'empty'),
        annotations = annotations {sign} {live} * {row}.live_annotations,
        annotated_tasks = annotated_tasks {sign} ({live} AND {row}.live_annotations > 0),
        predictions = predictions {sign} {live} * {preds},
        ground_truths = ground_truths {sign} {live} * {gt}
        WHERE project_id = {row}.project_id;"""


def _sqlite_annotation(old: str | None, new: str | None) -> str:
    """The body for an annotation row going from `old` to `new` (None: no row)."""

    def counted(row: str | None) -> str:
        return "0" if row is None else f"({row}.deleted_at IS NULL AND {row}.kind = 'manual')"

    def gt(row: str | None) -> str:
        return "0" if row is None else f"({row}.deleted_at IS NULL AND {row}.ground_truth)"

    row = new or old
    delta = f"({counted(new)} - {counted(old)})"
    after = f"(SELECT live_annotations FROM tasks WHERE id = {row}.task_id)"
    return f"""
        UPDATE tasks SET live_annotations = live_annotations + {delta}
            WHERE id = {row}.task_id AND {delta} <> 0;
        UPDATE project_counts SET
            annotations = annotations + {delta},
            annotated_tasks = annotated_tasks + CASE
                WHEN {delta} = 1 AND {after} = 1 THEN 1
                WHEN {delta} = -1 AND {after} = 0 THEN -1
                ELSE 0 END,
            ground_truths = ground_truths + ({gt(new)} - {gt(old)})
            WHERE project_id = {row}.project_id
            AND {_SQLITE_TASK_LIVE.format(row=row)};"""


def _sqlite_prediction(old: str | None, new: str | None) -> str:
    def live(row: str | None) -> str:
        return "0" if row is None else f"({row}.deleted_at IS NULL)"

    row = new or old
    return f"""UPDATE project_counts SET predictions = predictions + ({live(new)} - {live(old)})
        WHERE project_id = {row}.project_id AND {_SQLITE_TASK_LIVE.format(row=row)};"""


SQLITE_TRIGGERS = {
    "project_counts_project_insert": """AFTER INSERT ON projects BEGIN
        INSERT INTO project_counts (project_id) VALUES (NEW.id); END""",
    "project_counts_task_insert": (
        f"AFTER INSERT ON tasks BEGIN {_sqlite_task_side('NEW', '+')} END"
    ),
    "project_counts_task_update": (
        "AFTER UPDATE OF deleted_at, gt_status, project_id ON tasks BEGIN "
        f"{_sqlite_task_side('OLD', '-')} {_sqlite_task_side('NEW', '+')} END"
    ),
    "project_counts_task_delete": (
        f"AFTER DELETE ON tasks BEGIN {_sqlite_task_side('OLD', '-')} END"
    ),
    "project_counts_annotation_insert": (
        f"AFTER INSERT ON annotations BEGIN {_sqlite_annotation(None, 'NEW')} END"
    ),
    "project_counts_annotation_update": (
        "AFTER UPDATE OF deleted_at, kind, ground_truth ON annotations BEGIN "
        f"{_sqlite_annotation('OLD', 'NEW')} END"
    ),
    "project_counts_annotation_delete": (
        f"AFTER DELETE ON annotations BEGIN {_sqlite_annotation('OLD', None)} END"
    ),
    "project_counts_prediction_insert": (
        f"AFTER INSERT ON predictions BEGIN {_sqlite_prediction(None, 'NEW')} END"
    ),
    "project_counts_prediction_update": (
        f"AFTER UPDATE OF deleted_at ON predictions BEGIN {_sqlite_prediction('OLD', 'NEW')} END"
    ),
    "project_counts_prediction_delete": (
        f"AFTER DELETE ON predictions BEGIN {_sqlite_prediction('OLD', None)} END"
    ),
}

# -- PostgreSQL: one trigger function per table ---------------------------------------------------
PG_FUNCTIONS = {
    "project_counts_project": """
BEGIN
    INSERT INTO project_counts (project_id) VALUES (NEW.id);
    RETURN NULL;
END""",
    "project_counts_task": """
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM project_counts_task_side(OLD, -1); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM project_counts_task_side(NEW, 1); END IF;
    RETURN NULL;
END""",
    "project_counts_annotation": """
DECLARE
    row_ annotations;
    d integer := 0;
    g integer := 0;
    k integer;
    task_live boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        d := d + (NEW.deleted_at IS NULL AND NEW.kind = 'manual')::int;
        g := g + (NEW.deleted_at IS NULL AND NEW.ground_truth)::int;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        d := d - (OLD.deleted_at IS NULL AND OLD.kind = 'manual')::int;
        g := g - (OLD.deleted_at IS NULL AND OLD.ground_truth)::int;
    END IF;
    IF d = 0 AND g = 0 THEN
        RETURN NULL;
    END IF;
    -- the task row's lock orders concurrent writers: k is its count after this change
    UPDATE tasks SET live_annotations = live_annotations + d WHERE id = row_.task_id
        RETURNING live_annotations, deleted_at IS NULL INTO k, task_live;
    IF task_live THEN
        UPDATE project_counts SET
            annotations = annotations + d,
            annotated_tasks = annotated_tasks
                + CASE WHEN d = 1 AND k = 1 THEN 1 WHEN d = -1 AND k = 0 THEN -1 ELSE 0 END,
            ground_truths = ground_truths + g
            WHERE project_id = row_.project_id;
    END IF;
    RETURN NULL;
END""",
    "project_counts_prediction": """
DECLARE
    row_ predictions;
    d integer := 0;
BEGIN
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN d := d + (NEW.deleted_at IS NULL)::int; END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN d := d - (OLD.deleted_at IS NULL)::int; END IF;
    IF d <> 0 AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = row_.task_id
                          AND t.deleted_at IS NULL) THEN
        UPDATE project_counts SET predictions = predictions + d
            WHERE project_id = row_.project_id;
    END IF;
    RETURN NULL;
END""",
}
# What a task row and everything on it count, added (s = 1) or taken out (s = -1).
PG_TASK_SIDE = """CREATE FUNCTION project_counts_task_side(t tasks, s integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF t.deleted_at IS NULL THEN
        UPDATE project_counts SET
            tasks = tasks + s,
            done = done + s * (t.gt_status = 'done')::int,
            empty = empty + s * (t.gt_status = 'empty')::int,
            annotations = annotations + s * t.live_annotations,
            annotated_tasks = annotated_tasks + s * (t.live_annotations > 0)::int,
            predictions = predictions + s * (SELECT count(*) FROM predictions p
                WHERE p.task_id = t.id AND p.deleted_at IS NULL),
            ground_truths = ground_truths + s * (SELECT count(*) FROM annotations a
                WHERE a.task_id = t.id AND a.deleted_at IS NULL AND a.ground_truth)
            WHERE project_id = t.project_id;
    END IF;
END$$"""
PG_TRIGGERS = {
    "project_counts_project": "AFTER INSERT ON projects",
    "project_counts_task": "AFTER INSERT OR UPDATE OF deleted_at, gt_status, project_id OR DELETE "
    "ON tasks",
    "project_counts_annotation": "AFTER INSERT OR UPDATE OF deleted_at, kind, ground_truth OR "
    "DELETE ON annotations",
    "project_counts_prediction": "AFTER INSERT OR UPDATE OF deleted_at OR DELETE ON predictions",
}


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("live_annotations", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "project_counts",
        sa.Column("project_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in COUNTS),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_counts_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_counts")),
    )
    for statement in BACKFILL:
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TASK_SIDE)
        for name, body in PG_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
            op.execute(
                f"CREATE TRIGGER {name} {PG_TRIGGERS[name]} FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute(RECOUNT)


# Every project's counts from its rows (the backfill).
RECOUNT = """UPDATE project_counts SET
    tasks = (SELECT count(*) FROM tasks t WHERE t.project_id = project_counts.project_id
             AND t.deleted_at IS NULL),
    done = (SELECT count(*) FROM tasks t WHERE t.project_id = project_counts.project_id
            AND t.deleted_at IS NULL AND t.gt_status = 'done'),
    empty = (SELECT count(*) FROM tasks t WHERE t.project_id = project_counts.project_id
             AND t.deleted_at IS NULL AND t.gt_status = 'empty'),
    annotations = (SELECT coalesce(sum(t.live_annotations), 0) FROM tasks t
                   WHERE t.project_id = project_counts.project_id AND t.deleted_at IS NULL),
    annotated_tasks = (SELECT count(*) FROM tasks t
                       WHERE t.project_id = project_counts.project_id
                       AND t.deleted_at IS NULL AND t.live_annotations > 0),
    predictions = (SELECT count(*) FROM predictions p JOIN tasks t ON t.id = p.task_id
                   WHERE p.project_id = project_counts.project_id
                   AND p.deleted_at IS NULL AND t.deleted_at IS NULL),
    ground_truths = (SELECT count(*) FROM annotations a JOIN tasks t ON t.id = a.task_id
                     WHERE a.project_id = project_counts.project_id AND a.ground_truth
                     AND a.deleted_at IS NULL AND t.deleted_at IS NULL)"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, on in PG_TRIGGERS.items():
            table = on.rsplit(" ", 1)[-1]
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        op.execute("DROP FUNCTION IF EXISTS project_counts_task_side(tasks, integer)")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("project_counts")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("live_annotations")
