"""Rules that used to live in the shell (api/, web/, the CLI), tested where they live now: in
services, called directly over a session."""

from __future__ import annotations

import math
from datetime import date

import pytest

from assay.metrics.scoring import QualitySettings
from assay.services import honeypots
from assay.services.access import ACTION_WORDS, POLICY, Action, Actor, Role, refusal
from assay.services.quality.tables import number
from assay.services.views import dashboard
from builders import RECT_CONFIG


def test_the_target_is_one_rule_for_the_dashboard_and_the_hand_in():
    settings = QualitySettings(target_accuracy=0.8)
    assert not settings.meets_target(0.79)
    assert settings.meets_target(0.8)
    assert settings.meets_target(None)  # nothing scored yet: no one flagged, a hand-in passes


def test_table_numbers_round_and_hide_nan():
    assert number(1 / 3) == 0.333333
    assert number(math.nan) is None and number(None) is None


def test_honeypot_numbers_only_for_who_may_know_the_honeypots(db, people, monkeypatch):
    weeks = {people["annotator"].id: {date(2026, 1, 5): [2.0, 1.5]}}
    monkeypatch.setattr(honeypots, "weekly_accuracy", lambda _s, _p: weeks)
    with db.session(write=False) as s:
        for role, expected in (
            (Role.ADMIN, weeks),
            (Role.LEAD, weeks),
            (Role.REVIEWER, {}),
            (Role.ANNOTATOR, {}),
        ):
            assert dashboard.honeypot_accuracy(s, Actor(1, role), 1) == expected


def test_ground_truth_is_shown_to_everyone_but_annotators():
    from assay.services.access import sees_ground_truth

    shown = {role: sees_ground_truth(Actor(1, role)) for role in Role}
    assert shown == {Role.ADMIN: True, Role.LEAD: True, Role.REVIEWER: True, Role.ANNOTATOR: False}


def test_task_json_leaves_ground_truth_out_for_annotators():
    from assay.services.tasks import ls_json
    from assay.store.models import Annotation, Task

    task = Task(id=3, project_id=1, data={"image": "a.jpg"}, meta={}, gt_status="done")
    gt = Annotation(
        id=7, task_id=3, project_id=1, completed_by_id=2, result=[], was_cancelled=False,
        revision=1, review_status="none", ground_truth=True,
    )  # fmt: skip
    lead = ls_json.task(task, Actor(1, Role.LEAD), [gt], [])
    assert lead["ground_truth"] is True and lead["gt_status"] == "done"
    assert lead["annotations"][0]["ground_truth"] is True
    hidden = ls_json.task(task, Actor(2, Role.ANNOTATOR), [gt], [])
    assert not {"ground_truth", "gt_status", "done_at", "done_by"} & hidden.keys()
    assert "ground_truth" not in hidden["annotations"][0]


def test_only_big_imports_refresh_statistics(db, monkeypatch):
    from assay.services import tasks
    from assay.services.tasks import importing

    calls = []
    monkeypatch.setattr(importing, "refresh_statistics", lambda d, wait=False: calls.append(wait))
    assert not tasks.refresh_after_import(db, tasks.BIG_IMPORT - 1)
    assert tasks.refresh_after_import(db, tasks.BIG_IMPORT, wait=True)
    assert calls == [True]


def test_export_type_picks_writer_media_type_and_file_name(db, people, project):
    from assay.services.errors import Invalid
    from assay.services.io import exporting

    lead = Actor(people["lead"].id, Role.LEAD)
    pid = project["id"]

    def opened(kind: str, **options: object) -> exporting.ExportFile:
        flt = exporting.export_filter(kind, **options)  # type: ignore[arg-type]
        return exporting.open_export(db, lead, pid, kind, flt)

    expected = {
        "json": ("JSON", "application/json", f"project-{pid}-export.json"),
        "JSON_MIN": ("JSON_MIN", "application/json", f"project-{pid}-export.json"),
        "coco": ("COCO", "application/json", f"project-{pid}-export-coco.json"),
        "YOLO": ("YOLO", "application/zip", f"project-{pid}-export-yolo.zip"),
        "voc": ("VOC", "application/zip", f"project-{pid}-export-voc.zip"),
        "CSV": ("CSV", "application/zip", f"project-{pid}-export-csv.zip"),
    }
    for kind, (upper, media_type, filename) in expected.items():
        file = opened(kind)
        assert (file.kind, file.media_type, file.filename) == (upper, media_type, filename)
    key = opened("JSON", ground_truth_only=True)
    assert key.filename == f"project-{pid}-ground-truth.json" and b"".join(key.chunks) == b"[]"
    with pytest.raises(Invalid, match="exportType"):
        opened("XML")


def test_command_line_acts_as_the_named_user_else_the_first_active_admin(db):
    from assay.services import users
    from assay.services.errors import Forbidden, NotFound

    with db.session() as s:
        with pytest.raises(NotFound, match="no active admin yet"):
            users.command_line_actor(s, None)
        lead, _ = users.create_user(s, "lead@example.com", "lead")
        first, _ = users.create_user(s, "first@example.com", "admin")
        users.create_user(s, "second@example.com", "admin")
        assert users.command_line_actor(s, None) == Actor(first.id, Role.ADMIN, first.email)
        assert users.command_line_actor(s, "lead@example.com").id == lead.id
        with pytest.raises(NotFound, match=r"no user with email nobody@example\.com"):
            users.command_line_actor(s, "nobody@example.com")
        first.is_active = False  # left the lab: neither the default nor --as
        assert users.command_line_actor(s, None).email == "second@example.com"
        with pytest.raises(Forbidden, match="deactivated"):
            users.command_line_actor(s, "first@example.com")


def test_recompute_covers_live_projects_the_actor_may_rescore(db, people, project, client):
    from assay.services import quality
    from assay.services.errors import Forbidden, NotFound

    as_admin = people["admin"].headers
    other, gone = (
        client.post(
            "/api/projects/", json={"title": t, "label_config": RECT_CONFIG}, headers=as_admin
        )
        for t in ("Other", "Gone")
    )
    assert client.delete(f"/api/projects/{gone.json()['id']}", headers=as_admin).status_code == 204
    admin = Actor(people["admin"].id, Role.ADMIN)
    lead = Actor(people["lead"].id, Role.LEAD)
    reviewer = Actor(people["reviewer"].id, Role.REVIEWER)
    with db.session(write=False) as s:
        assert quality.projects_to_recompute(s, admin) == [project["id"], other.json()["id"]]
        assert quality.projects_to_recompute(s, lead, [project["id"]]) == [project["id"]]
        with pytest.raises(NotFound):  # the lead is no member of the admin's project
            quality.projects_to_recompute(s, lead)
        with pytest.raises(Forbidden):
            quality.projects_to_recompute(s, reviewer, [project["id"]])


def test_who_reviews_and_who_works_in_a_project(db, people, project):
    from assay.services.access import can_review, works_in

    assert [r for r in Role if can_review(r)] == [Role.ADMIN, Role.LEAD, Role.REVIEWER]
    assert can_review("reviewer") and not can_review("annotator")
    with db.session(write=False) as s:
        pid = project["id"]
        outsider = people["admin"]  # no member of the lead's project, yet works in every one
        assert works_in(s, outsider.id, "admin", pid)
        assert works_in(s, people["annotator"].id, "annotator", pid)
        assert not works_in(s, people["annotator"].id, "annotator", pid + 1)


def test_every_refusal_is_a_plain_sentence(client, people, project):
    """One mapping from action to words: every action has them, and the API's 403 says the
    same sentence the web's "Not allowed" page does (issue #17)."""
    assert set(ACTION_WORDS) == set(Action) == set(POLICY)
    assert (
        refusal(Role.ANNOTATOR, Action.GT_STAGE) == "Annotators cannot open the ground-truth stage."
    )
    for role in Role:
        for action in Action:
            text = refusal(role, action)
            assert text[0].isupper() and text.endswith(".") and "_" not in text, text
    r = client.get(f"/api/projects/{project['id']}/dashboard", headers=people["annotator"].headers)
    detail = "Annotators cannot see quality scores and agreement."
    assert r.status_code == 403 and r.json()["detail"] == detail
