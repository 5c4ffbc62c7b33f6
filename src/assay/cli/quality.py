"""`assay recompute`: rebuild a project's quality numbers in this process."""

from __future__ import annotations

import typer
from rich.progress import Progress, TaskID

from assay.cli.common import acting_actor, current_settings, err, fail, open_database, out
from assay.services.errors import AssayError


def recompute(
    projects: list[int] = typer.Argument(None, help="Project ids (default: every project)."),
    user: str = typer.Option(
        None, "--user", help="Email of the user to recompute as (default: the first active admin)."
    ),
) -> None:
    """Rebuild every quality score, aggregate and task agreement of projects, with progress.

    What `POST /api/projects/{id}/quality/recompute` does, in this process: after changing
    quality settings offline, or after an upgrade that changes how scores are computed.
    """
    from assay.services import quality

    db = open_database(current_settings())
    with db.session(write=False) as s:
        actor = acting_actor(s, user)
        try:
            ids = quality.projects_to_recompute(s, actor, projects)
        except AssayError as exc:
            fail(exc.detail)
    for project_id in ids:
        with Progress(console=err, transient=True) as progress:
            bar = progress.add_task(f"project {project_id}", total=None)

            def report(done: int, total: int, bar: TaskID = bar) -> None:
                progress.update(bar, completed=done, total=total)

            done = quality.recompute_project(db, project_id, report)
        out.print(
            f"project {project_id}: {done['tasks']} tasks with GT, {done['scores']} scores, "
            f"{done['agreement_tasks']} tasks with agreement"
        )
