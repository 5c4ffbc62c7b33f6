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

# -- PostgreSQL -----------------------------------------------------------------------------------
# Statement triggers over transition tables for annotations, predictions and new or removed
# tasks: one UPDATE of each touched counts row per statement, whatever its number of rows (a
# row trigger would update a project's row once per imported row, and PostgreSQL slows down on
# a row updated thousands of times in one transaction). A task's soft delete, restore or GT
# status is a row trigger limited to those columns, so the many UPDATEs of other task columns
# (agreement, live_annotations) fire nothing. `assay.store.db` sends executemany INSERTs as
# multi-row statements, so an import fires each trigger once per thousand rows.

_ANN_C = "({r}.deleted_at IS NULL AND {r}.kind = 'manual')::int"
_ANN_G = "({r}.deleted_at IS NULL AND {r}.ground_truth)::int"
_ANN_ROWS = {
    "INSERT": f"SELECT n.task_id, n.project_id, {_ANN_C.format(r='n')} AS c, "
    f"{_ANN_G.format(r='n')} AS g FROM new_rows n",
    "DELETE": f"SELECT o.task_id, o.project_id, -{_ANN_C.format(r='o')} AS c, "
    f"-{_ANN_G.format(r='o')} AS g FROM old_rows o",
    "UPDATE": f"SELECT n.task_id, n.project_id, {_ANN_C.format(r='n')} - {_ANN_C.format(r='o')} "
    f"AS c, {_ANN_G.format(r='n')} - {_ANN_G.format(r='o')} AS g "
    "FROM new_rows n JOIN old_rows o ON o.id = n.id",
}
# k: the task's live annotations after this statement (its row's lock orders concurrent
# writers), so a task gaining its first (k = c) or losing its last (k = 0) moves
# annotated_tasks by exactly one.
# First the touched tasks' row locks, in id order: a concurrent soft delete of one of them
# (which counts what is on it) then either waits for this statement's commit and counts its
# rows, or commits first and the next statement's fresh snapshot sees the task deleted.
_LOCK_TASKS = """
    PERFORM 1 FROM tasks WHERE id IN (SELECT x.task_id FROM ({rows}) x) ORDER BY id FOR {mode};"""
_ANN_BODY = (
    """
BEGIN"""
    + _LOCK_TASKS.replace("{mode}", "NO KEY UPDATE")
    + """
    WITH delta AS (
        SELECT task_id, project_id, sum(c) AS c, sum(g) AS g FROM ({rows}) x
        GROUP BY task_id, project_id HAVING sum(c) <> 0 OR sum(g) <> 0
    ), moved AS (
        UPDATE tasks t SET live_annotations = t.live_annotations + d.c FROM delta d
        WHERE t.id = d.task_id AND d.c <> 0
        RETURNING t.id, t.live_annotations AS k
    ), per_project AS (
        SELECT d.project_id, sum(d.c) AS c, sum(d.g) AS g,
               sum(CASE WHEN d.c > 0 AND m.k = d.c THEN 1
                        WHEN d.c < 0 AND m.k = 0 THEN -1 ELSE 0 END) AS a
        FROM delta d JOIN tasks t ON t.id = d.task_id AND t.deleted_at IS NULL
        LEFT JOIN moved m ON m.id = d.task_id
        GROUP BY d.project_id
    )
    UPDATE project_counts pc SET annotations = pc.annotations + p.c,
        ground_truths = pc.ground_truths + p.g, annotated_tasks = pc.annotated_tasks + p.a
    FROM per_project p WHERE pc.project_id = p.project_id;
    RETURN NULL;
END"""
)

_PRED_D = "({r}.deleted_at IS NULL)::int"
_PRED_ROWS = {
    "INSERT": f"SELECT n.task_id, n.project_id, {_PRED_D.format(r='n')} AS d FROM new_rows n",
    "DELETE": f"SELECT o.task_id, o.project_id, -{_PRED_D.format(r='o')} AS d FROM old_rows o",
    "UPDATE": f"SELECT n.task_id, n.project_id, {_PRED_D.format(r='n')} - "
    f"{_PRED_D.format(r='o')} AS d FROM new_rows n JOIN old_rows o ON o.id = n.id",
}
_PRED_BODY = (
    """
BEGIN"""
    + _LOCK_TASKS.replace("{mode}", "SHARE")
    + """
    UPDATE project_counts pc SET predictions = pc.predictions + p.d
    FROM (
        SELECT x.project_id, sum(x.d) AS d FROM ({rows}) x
        JOIN tasks t ON t.id = x.task_id AND t.deleted_at IS NULL
        GROUP BY x.project_id HAVING sum(x.d) <> 0
    ) p WHERE pc.project_id = p.project_id;
    RETURN NULL;
END"""
)

# What a live task row and everything on it count; s = 1 added, -1 taken out.
_TASK_SIDE = """SELECT {r}.project_id AS project_id, {s} AS s,
    ({r}.gt_status = 'done')::int AS done, ({r}.gt_status = 'empty')::int AS empty,
    {r}.live_annotations AS ann, ({r}.live_annotations > 0)::int AS annotated,
    (SELECT count(*) FROM predictions p WHERE p.task_id = {r}.id AND p.deleted_at IS NULL) AS pred,
    (SELECT count(*) FROM annotations a WHERE a.task_id = {r}.id AND a.deleted_at IS NULL
        AND a.ground_truth) AS gt
    FROM {source} WHERE {r}.deleted_at IS NULL"""
_TASK_ROWS = {
    "INSERT": _TASK_SIDE.format(r="n", s=1, source="new_rows n"),
    "DELETE": _TASK_SIDE.format(r="o", s=-1, source="old_rows o"),
    # a row trigger: OLD and NEW are the row before and after
    "UPDATE": _TASK_SIDE.format(r="OLD", s=-1, source="(SELECT 1) AS one")
    + " UNION ALL "
    + _TASK_SIDE.format(r="NEW", s=1, source="(SELECT 1) AS one"),
}
_TASK_BODY = """
BEGIN
    UPDATE project_counts pc SET tasks = pc.tasks + p.tasks, done = pc.done + p.done,
        empty = pc.empty + p.empty, annotations = pc.annotations + p.ann,
        annotated_tasks = pc.annotated_tasks + p.annotated,
        predictions = pc.predictions + p.pred, ground_truths = pc.ground_truths + p.gt
    FROM (
        SELECT project_id, sum(s) AS tasks, sum(s * done) AS done, sum(s * empty) AS empty,
            sum(s * ann) AS ann, sum(s * annotated) AS annotated, sum(s * pred) AS pred,
            sum(s * gt) AS gt
        FROM ({rows}) x GROUP BY project_id
    ) p WHERE pc.project_id = p.project_id;
    RETURN NULL;
END"""

_STATEMENT = {
    "INSERT": "AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
    "DELETE": "AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
    "UPDATE": "AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT",
}
# name -> (table, when it fires, function body)
PG_TRIGGERS: dict[str, tuple[str, str, str]] = {
    f"project_counts_{table}_{event.lower()}": (
        table,
        _STATEMENT[event].format(table=table),
        body.format(rows=rows[event]),
    )
    for table, body, rows in (
        ("tasks", _TASK_BODY, _TASK_ROWS),
        ("annotations", _ANN_BODY, _ANN_ROWS),
        ("predictions", _PRED_BODY, _PRED_ROWS),
    )
    for event in ("INSERT", "UPDATE", "DELETE")
}
PG_TRIGGERS["project_counts_tasks_update"] = (
    "tasks",
    "AFTER UPDATE OF deleted_at, gt_status, project_id ON tasks FOR EACH ROW",
    _TASK_BODY.format(rows=_TASK_ROWS["UPDATE"]),
)
PG_TRIGGERS["project_counts_projects_insert"] = (
    "projects",
    _STATEMENT["INSERT"].format(table="projects"),
    """
BEGIN
    INSERT INTO project_counts (project_id) SELECT id FROM new_rows;
    RETURN NULL;
END""",
)


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
        for name, (_table, when, body) in PG_TRIGGERS.items():
            # by id through the indexes: in an import's transaction the new rows have no
            # statistics yet, and a plan that scans tasks once per row is quadratic
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                f"SET enable_seqscan = off AS $${body}$$"
            )
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {name}()")
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
        for name, (table, _when, _body) in PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("project_counts")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("live_annotations")
