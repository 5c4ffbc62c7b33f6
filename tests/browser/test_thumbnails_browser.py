"""Thumbnails in Chromium (issue #17 item 7): the task table loads small images, the editor
shows the thumbnail at once and then the full image. Annotators in a job know its images by
opaque `/data/items/<alias>/<key>` URLs only: they get the full image, no thumbnail first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import chromium
from builders import annotate_job, survey_image
from chromium import sign_in

pytestmark = chromium.marks

BUDGET = 1.5 * 1024 * 1024  # bytes of images for one page of 50 tasks


@pytest.fixture(scope="module")
def frame_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 4000 x 3000 survey frame, made once."""
    path = tmp_path_factory.mktemp("frames") / "frame.jpg"
    survey_image(path, 4000, 3000, seed=5, fmt="JPEG")
    return path


def _frames(client, people, project, settings, frame: Path, n: int) -> list[int]:
    folder = settings.resolved_media_root / f"project-{project['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shutil.copy(frame, folder / f"frame_{i:03}.jpg")
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"/data/media/project-{project['id']}/frame_{i:03}.jpg"} for i in range(n)],
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["task_ids"]


def test_a_page_of_50_large_frames_loads_thumbnails_only(
    live_server, client, people, project, settings, frame_jpeg
):
    assert frame_jpeg.stat().st_size * 50 > 3 * BUDGET  # the full frames would be far over
    _frames(client, people, project, settings, frame_jpeg, 50)
    images: dict[str, int] = {}
    with chromium.new_page(1440, 900) as page:

        def count(response) -> None:
            if response.request.resource_type == "image":
                images[response.url] = len(response.body())

        page.on("response", count)
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}")
        # scroll through the table so every lazy image loads, then wait for all 50
        for _ in range(10):
            page.mouse.wheel(0, 1500)
            page.wait_for_timeout(50)
        page.wait_for_function(
            """() => {
                const imgs = Array.from(document.querySelectorAll("#dm-table td.thumb img"));
                return imgs.length === 50 && imgs.every((i) => i.complete && i.naturalWidth > 0);
            }""",
            timeout=60_000,
        )
        widths = page.eval_on_selector_all(
            "#dm-table td.thumb img", "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])"
        )
        chromium.shot(page, "data-manager-thumbnails")
    assert widths == [[256, 192]] * 50
    assert len(images) == 50 and all("/data/thumbnails/" in url for url in images)
    assert sum(images.values()) <= BUDGET, sum(images.values())


def test_the_editor_shows_the_thumbnail_first_then_the_full_image(
    live_server, client, people, project, settings, frame_jpeg
):
    (task,) = _frames(client, people, project, settings, frame_jpeg, 1)
    lead = people["lead"]
    job = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "Frames", "task_ids": [task], "assignees": [people["annotator"].id]},
        headers=lead.headers,
    ).json()["id"]
    img = "#gt-left .gt-image"
    asked: list[str] = []
    with chromium.new_page(1400, 860) as page:
        # the annotator's editor loads the image by its opaque URL: no real path, no thumbnail
        page.on("request", lambda request: asked.append(request.url))
        sign_in(page, live_server, people["annotator"], f"/jobs/{job}/annotate")
        page.wait_for_selector(f"{img}[data-full='true']")
        assert page.get_attribute(img, "src").startswith("/data/items/")
        assert page.eval_on_selector(img, "i => [i.naturalWidth, i.naturalHeight]") == [4000, 3000]
    assert not [u for u in asked if "/data/media/" in u or "/data/thumbnails/" in u], asked
    annotate_job(client, people["annotator"], job)
    held = []
    with chromium.new_page(1400, 860) as page:
        # staff (here the lead's ground-truth stage) see the thumbnail first; hold the full
        # image back until the thumbnail has been looked at
        page.route("**/data/media/**", lambda route: held.append(route))
        sign_in(page, live_server, lead, f"/jobs/{job}/ground-truth")
        page.wait_for_function(  # the stage is laid out (its toolbar filled) on the thumbnail
            """() => { const ed = document.getElementById("gt-editor");
                       const im = document.querySelector("#gt-left .gt-image");
                       return ed.dataset.ready === "true" && ed.dataset.busy === "false"
                           && im?.dataset.full === "false" && im.complete; }"""
        )
        assert "/data/thumbnails/" in page.get_attribute(img, "src")
        assert page.eval_on_selector(img, "i => i.naturalWidth") == 256
        shown = page.locator(img).bounding_box()
        assert shown["width"] > 400  # scaled up to the editor's size, not 256 px
        assert held, "the full image was asked for"
        for route in held:
            route.continue_()
        page.wait_for_selector(f"{img}[data-full='true']")
        assert page.eval_on_selector(img, "i => [i.naturalWidth, i.naturalHeight]") == [4000, 3000]
        assert "/data/media/" in page.get_attribute(img, "src")
        after = page.locator(img).bounding_box()
        assert after["width"] == pytest.approx(shown["width"], abs=1)  # nothing jumps
