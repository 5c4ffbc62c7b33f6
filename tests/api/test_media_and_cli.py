"""Local images: safe serving, `assay import` of a folder and of a JSON file, `assay user add`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from urllib.parse import unquote

import pytest
from PIL import Image
from typer.testing import CliRunner

from assay.cli import app as cli_app
from assay.services.errors import NotFound
from assay.services.tasks.media import resolve_media_path
from builders import RECT_CONFIG, box


def test_resolve_media_path_refuses_escapes(tmp_path):
    root = tmp_path / "media"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("no")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    assert resolve_media_path(root, "a/x.png") == (root / "a" / "x.png").resolve()
    for bad in [
        "../secret.txt",
        "a/../../secret.txt",
        "/etc/passwd",
        "link",
        "a",
        "",
        "a/\x00x.png",
        "missing.png",
    ]:
        with pytest.raises(NotFound):
            resolve_media_path(root, bad)


def test_media_route_needs_login_and_blocks_traversal(client, people, settings, project):
    root = settings.resolved_media_root
    folder = f"project-{project['id']}"
    (root / folder).mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), "green").save(root / folder / "ok.png")
    client.post(
        f"/api/projects/{project['id']}/import",
        json=[{"image": f"/data/media/{folder}/ok.png"}],
        headers=people["lead"].headers,
    )
    h = people["annotator"].headers
    assert client.get(f"/data/media/{folder}/ok.png").status_code == 401
    r = client.get(f"/data/media/{folder}/ok.png", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert client.get("/data/media/..%2F..%2Fetc%2Fpasswd", headers=h).status_code == 404
    assert client.get("/data/media/%2e%2e/secret_key", headers=h).status_code == 404


def test_media_files_are_as_private_as_their_projects(client, people, settings, project):
    """Media paths are easy to guess; a file is served only to who may see a task showing it."""
    root = settings.resolved_media_root
    admin = people["admin"].headers
    private = client.post(
        "/api/projects", json={"title": "private", "label_config": RECT_CONFIG}, headers=admin
    ).json()
    other = root / f"project-{private['id']}"
    other.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), "red").save(other / "secret.png")
    Image.new("RGB", (8, 6), "red").save(other / "loose.png")
    url = f"/data/media/project-{private['id']}/secret.png"
    r = client.post(
        f"/api/projects/{private['id']}/import?return_task_ids=true",
        json=[{"image": url}],
        headers=admin,
    )
    (task,) = r.json()["task_ids"]
    for who in ("lead", "reviewer", "annotator"):  # members of `project` only
        assert client.get(url, headers=people[who].headers).status_code == 404, who
    assert client.get(url, headers=admin).status_code == 200
    client.post(
        f"/api/projects/{private['id']}/members",
        json={"user": people["annotator"].id},
        headers=admin,
    )
    assert client.get(url, headers=people["annotator"].headers).status_code == 200
    client.delete(f"/api/tasks/{task}", headers=admin)  # a deleted task shows nothing
    assert client.get(url, headers=people["annotator"].headers).status_code == 404
    # a file no task shows: admins only
    loose = f"/data/media/project-{private['id']}/loose.png"
    assert client.get(loose, headers=people["lead"].headers).status_code == 404
    assert client.get(loose, headers=admin).status_code == 200


@pytest.fixture
def cli_env(db, settings, monkeypatch):
    """Point the CLI at the test database and data folder."""
    from assay import settings as settings_module

    monkeypatch.setenv("ASSAY_DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ASSAY_DATA_DIR", str(settings.data_dir))
    settings_module.get_settings.cache_clear()
    yield settings_module.get_settings()
    settings_module.get_settings.cache_clear()


def test_cli_user_add_prints_a_working_token(cli_env, client):
    result = CliRunner().invoke(cli_app, ["user", "add", "boss@example.com", "--role", "admin"])
    assert result.exit_code == 0, result.output
    token = result.output.split("token:")[1].strip()
    r = client.get("/api/current-user/whoami", headers={"Authorization": f"Token {token}"})
    assert r.json()["email"] == "boss@example.com"
    again = CliRunner().invoke(cli_app, ["user", "add", "boss@example.com", "--role", "admin"])
    assert again.exit_code == 1 and "exists" in again.output
    bad = CliRunner().invoke(cli_app, ["user", "add", "x@example.com", "--role", "king"])
    assert bad.exit_code == 1 and "role" in bad.output


def test_cli_import_folder_and_json(cli_env, client, people, project, tmp_path):
    folder = tmp_path / "flight-1"
    (folder / "row-a").mkdir(parents=True)
    Image.new("RGB", (640, 480), "tan").save(folder / "row-a" / "img1.jpg")
    Image.new("RGB", (320, 200), "tan").save(folder / "img2.png")
    (folder / "notes.txt").write_text("not an image")
    runner = CliRunner()
    result = runner.invoke(
        cli_app, ["import", str(project["id"]), str(folder), "--user", "lead@example.com"]
    )
    assert result.exit_code == 0, result.output
    assert "imported 2 tasks" in result.output
    tasks = client.get(
        f"/api/tasks?project={project['id']}", headers=people["lead"].headers
    ).json()["tasks"]
    sizes = sorted((t["width"], t["height"]) for t in tasks)
    assert sizes == [(320, 200), (640, 480)]
    url = next(t["data"]["image"] for t in tasks if t["width"] == 640)
    assert url == f"/data/media/project-{project['id']}/row-a/img1.jpg"
    assert client.get(url, headers=people["annotator"].headers).status_code == 200

    export = tmp_path / "ls.json"
    export.write_text(
        json.dumps([{"data": {"image": "x.jpg"}, "annotations": [{"result": [box(1, 1, 2, 2)]}]}])
    )
    result = runner.invoke(
        cli_app, ["import", str(project["id"]), str(export)]
    )  # as the first admin
    assert result.exit_code == 0 and "1 annotations" in result.output
    result = runner.invoke(
        cli_app, ["import", str(project["id"]), str(export), "--user", "nobody@example.com"]
    )
    assert result.exit_code == 1 and "no user with email nobody@example.com" in result.output

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "data": {"image": "y.jpg"},
                    "annotations": [{"result": [box(1, 1, 2, 2, label="Cat")]}],
                }
            ]
        )
    )
    result = runner.invoke(
        cli_app, ["import", str(project["id"]), str(bad), "--user", "admin@example.com"]
    )
    assert result.exit_code == 1 and "unknown label 'Cat'" in result.output
    assert (
        client.get(f"/api/tasks?project={project['id']}", headers=people["lead"].headers).json()[
            "total"
        ]
        == 3
    )


def test_images_with_any_file_name_are_served_from_the_url_in_their_task(
    cli_env, client, people, project, tmp_path
):
    """#15 item 6: `herd#1 (copy).jpg` was stored unencoded, so its URL stopped at the `#`."""
    folder = tmp_path / "flight 2"
    folder.mkdir()
    names = ["herd#1 (copy).jpg", "élan 50%.png", "a?b&c.png"]
    for i, name in enumerate(names):
        Image.new("RGB", (64 + i, 48), "tan").save(folder / name)
    result = CliRunner().invoke(
        cli_app, ["import", str(project["id"]), str(folder), "--user", "lead@example.com"]
    )
    assert result.exit_code == 0, result.output
    h = people["annotator"].headers
    tasks = client.get(f"/api/tasks?project={project['id']}", headers=h).json()["tasks"]
    urls = {t["data"]["image"]: (t["width"], t["height"]) for t in tasks}
    assert sorted(unquote(u).rsplit("/", 1)[1] for u in urls) == sorted(names)
    for url, size in urls.items():
        assert not {"#", " ", "?", "&"} & set(url), url
        r = client.get(url, headers=h)
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == size


def test_cli_help_lists_settings():
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, "-m", "assay.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "ASSAY_DATABASE_URL" in out and "ASSAY_SECRET_KEY" in out


def test_cli_recompute_rebuilds_scores_and_agreement(cli_env, db, client, people, project):
    from sqlalchemy import delete, select, update

    from assay.store.models import QualityScore, Task

    gt = [box(10, 10, 10, 10)]
    (t,) = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": "a.jpg"}, "annotations": [{"result": gt, "ground_truth": True}]}],
        headers=people["lead"].headers,
    ).json()["task_ids"]
    for who in ("annotator", "annotator2"):
        client.post(f"/api/tasks/{t}/annotations", json={"result": gt}, headers=people[who].headers)
    with db.session() as s:  # as a database upgraded from older rules might hold them
        s.execute(delete(QualityScore))
        s.execute(update(Task).values(agreement=0.25))
    result = CliRunner().invoke(cli_app, ["recompute", str(project["id"])])
    assert result.exit_code == 0, result.output
    assert f"project {project['id']}: 1 tasks with GT, 2 scores, 1 tasks with agreement" in (
        result.output
    )
    with db.session(write=False) as s:
        assert len(s.scalars(select(QualityScore)).all()) == 2
        assert s.get(Task, t).agreement == 1.0
    denied = CliRunner().invoke(cli_app, ["recompute", "--user", "reviewer@example.com"])
    assert denied.exit_code == 1 and "error" in denied.output.lower()
