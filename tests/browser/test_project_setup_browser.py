"""A lead sets a project up in Chromium: New project (polygons), 20 images uploaded from the
import page with its progress bar, a COCO file of polygons imported as annotations, and a YOLO
export downloaded from the export button whose zip holds the labels."""

from __future__ import annotations

import json
import zipfile

import pytest
from PIL import Image, ImageDraw

import chromium

pytestmark = chromium.marks

N_IMAGES = 20


@pytest.fixture
def browser_page():
    with chromium.new_page(1280, 900) as page:
        yield page


def _images(folder) -> list:
    paths = []
    for i in range(N_IMAGES):
        image = Image.new("RGB", (64, 48), (200, 210 - i * 5, 190))
        ImageDraw.Draw(image).polygon([(10, 10), (40, 12), (30, 36)], fill=(90, 90, 95))
        path = folder / f"roof_{i:02d}.png"
        image.save(path)
        paths.append(path)
    return paths


def _coco(folder, paths) -> object:
    """Instances JSON: one triangle "roof" on each of the first 5 images."""
    images = [
        {"id": i + 1, "file_name": p.name, "width": 64, "height": 48} for i, p in enumerate(paths)
    ]
    annotations = [
        {"id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0, "area": 300.0,
         "bbox": [10, 10, 30, 26], "segmentation": [[10, 10, 40, 12, 30, 36]]}
        for i in range(5)
    ]  # fmt: skip
    path = folder / "instances.json"
    path.write_text(
        json.dumps(
            {
                "images": images[:5],
                "annotations": annotations,
                "categories": [{"id": 1, "name": "roof"}, {"id": 2, "name": "tree"}],
            }
        )
    )
    return path


def test_a_lead_creates_imports_and_exports_in_the_browser(
    browser_page, live_server, people, tmp_path
):
    page = browser_page
    chromium.sign_in(page, live_server, people["lead"], "/")
    page.click("#new-project")
    page.fill("#project-title", "Roof survey")
    page.fill("#project-description", "Polygons around roofs and trees")
    page.select_option("#project-shape", "polygon")
    names = page.locator('#label-rows input[name="label"]')
    names.nth(0).fill("roof")
    names.nth(1).fill("tree")
    names.nth(1).press("Enter")  # Enter moves to the next row
    page.keyboard.type("car")
    page.locator("#label-rows .label-remove").nth(2).click()  # car goes again
    assert names.count() == 2
    chromium.shot(page, "new-project", full_page=True)
    page.click("#project-save")
    page.wait_for_url(f"{live_server}/projects/*")
    project_url = page.url
    assert page.locator("h1").inner_text() == "Roof survey"

    page.click("#import-link")
    paths = _images(tmp_path)
    page.set_input_files("#images-input", [str(p) for p in paths])
    page.click("#images-upload")
    status = page.locator("#images-status")
    status.filter(has_text="Imported 20 images as tasks.").wait_for()
    progress = page.locator("#images-progress")
    assert progress.is_visible() and progress.evaluate("el => el.value") == 100

    page.set_input_files("#labels-input", str(_coco(tmp_path, paths)))
    page.select_option("#labels-format", "coco")
    page.select_option("#labels-annotator", people["lead"].email)
    page.click("#labels-upload")
    page.locator("#labels-status").filter(has_text="Imported 5 annotations").wait_for()
    assert page.locator("#labels-progress").is_visible()
    chromium.shot(page, "import", full_page=True)

    # a wrong format answers with the API's detail, nothing imported
    page.set_input_files("#labels-input", str(paths[0]))
    page.select_option("#labels-format", "voc")
    page.click("#labels-upload")
    page.locator("#labels-status").filter(has_text="Nothing was imported.").wait_for()
    chromium.shot(page, "import-error", full_page=True)

    page.goto(project_url)
    assert "20" in page.locator("#dm-counts dd").first.inner_text()
    # Export… with two tasks ticked offers just those
    page.locator("input.dm-pick").nth(0).check()
    page.locator("input.dm-pick").nth(1).check()
    page.click("#dm-export")
    page.wait_for_url("**/export?ids=*")
    assert page.locator("label[for=export-selected], #export-selected").count() == 1
    assert "The 2 selected tasks" in page.locator("#export-form").inner_text()
    page.check("#export-every")
    page.select_option("#export-type", "YOLO")
    chromium.shot(page, "export", full_page=True)
    with page.expect_download() as download:
        page.click("#export-download")
    target = tmp_path / "export.zip"
    download.value.save_as(target)
    with zipfile.ZipFile(target) as z:
        names_in_zip = z.namelist()
        labels = [n for n in names_in_zip if n.startswith("labels/") and n.endswith(".txt")]
        assert len(labels) == N_IMAGES, names_in_zip
        lines = [z.read(n).decode().strip() for n in sorted(labels)]
    with_regions = [line for line in lines if line]
    assert len(with_regions) == 5
    assert all(line.split()[0] == "0" and len(line.split()) == 7 for line in with_regions)
