"""POST /api/projects/{id}/images: uploaded images (or a zip of them) become tasks."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from builders import RECT_CONFIG


def png(width: int = 8, height: int = 6, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def _tasks(client, headers, project_id):
    return client.get(f"/api/tasks?project={project_id}", headers=headers).json()["tasks"]


def test_images_become_tasks_with_sizes_and_files_under_the_media_root(
    client, people, project, settings
):
    lead = people["lead"].headers
    files = [
        ("images", ("a.png", png(8, 6), "image/png")),
        ("images", ("b.png", png(10, 4, "blue"), "image/png")),
    ]
    r = client.post(f"/api/projects/{project['id']}/images", files=files, headers=lead)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["task_count"] == 2 and len(body["task_ids"]) == 2
    rows = {t["data"]["image"]: t for t in _tasks(client, lead, project["id"])}
    folder = f"/data/media/project-{project['id']}"
    assert set(rows) == {f"{folder}/a.png", f"{folder}/b.png"}
    root = settings.resolved_media_root / f"project-{project['id']}"
    assert (root / "a.png").read_bytes() == files[0][1][1]
    # the image is served to members
    served = client.get(f"{folder}/b.png", headers=lead)
    assert served.status_code == 200 and served.content == files[1][1][1]


def test_a_zip_is_unpacked_other_files_skipped_and_a_taken_name_kept(client, people, project):
    lead = people["lead"].headers
    client.post(
        f"/api/projects/{project['id']}/images",
        files=[("f", ("x.png", png(colour="red"), "image/png"))],
        headers=lead,
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("set/x.png", png(colour="green"))
        z.writestr("x.png", png(colour="blue"))  # same name, other bytes: stored as x-2.png
        z.writestr("README.txt", "not an image")
        z.writestr("../evil.png", png())  # would leave the folder: skipped
        z.writestr("__MACOSX/set/._x.png", b"junk")
    r = client.post(
        f"/api/projects/{project['id']}/images",
        files=[("f", ("batch.zip", archive.getvalue(), "application/zip"))],
        headers=lead,
    )
    assert r.status_code == 201, r.text
    assert r.json()["task_count"] == 2
    prefix = f"/data/media/project-{project['id']}/"
    names = sorted(
        t["data"]["image"].removeprefix(prefix) for t in _tasks(client, lead, project["id"])
    )
    assert names == ["set/x.png", "x-2.png", "x.png"]


def test_one_bad_file_imports_nothing_and_names_it(client, people, project, settings):
    lead = people["lead"].headers
    files = [
        ("images", ("good.png", png(), "image/png")),
        ("images", ("broken.png", b"not really a png", "image/png")),
        ("images", ("notes.txt", b"hello", "text/plain")),
    ]
    r = client.post(f"/api/projects/{project['id']}/images", files=files, headers=lead)
    assert r.status_code == 400
    body = r.json()
    assert "broken.png: not a readable image" in body["detail"]
    assert any("notes.txt" in e for e in body["validation_errors"]["images"])
    assert _tasks(client, lead, project["id"]) == []
    assert not (settings.resolved_media_root / f"project-{project['id']}" / "good.png").exists()


def test_no_files_and_a_project_without_image_are_refused(client, people):
    lead = people["lead"].headers
    r = client.post("/api/projects", json={"title": "p", "label_config": RECT_CONFIG}, headers=lead)
    pid = r.json()["id"]
    r = client.post(f"/api/projects/{pid}/images", data={"x": "1"}, headers=lead)
    assert r.status_code == 400 and "multipart" in r.json()["detail"]
    text_config = (
        '<View><Text name="t" value="$text"/>'
        '<Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
    )
    other = client.post(
        "/api/projects", json={"title": "t", "label_config": text_config}, headers=lead
    ).json()["id"]
    r = client.post(
        f"/api/projects/{other}/images",
        files=[("f", ("a.png", png(), "image/png"))],
        headers=lead,
    )
    assert r.status_code == 400 and "<Image>" in r.json()["detail"]


def test_a_retry_with_the_same_idempotency_key_imports_nothing(client, people, project):
    lead = {**people["lead"].headers, "Idempotency-Key": "upload-1"}
    files = [("images", ("a.png", png(), "image/png"))]
    first = client.post(f"/api/projects/{project['id']}/images", files=files, headers=lead)
    again = client.post(f"/api/projects/{project['id']}/images", files=files, headers=lead)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(_tasks(client, people["lead"].headers, project["id"])) == 1
