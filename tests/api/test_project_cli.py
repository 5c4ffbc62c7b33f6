"""`assay project create` and `assay project list`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from assay.cli import app as cli_app
from assay.settings import get_settings


@pytest.fixture
def runner(client, settings, monkeypatch):
    url = client.app.state.db.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("ASSAY_DATABASE_URL", url)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_create_builds_the_config_from_the_labels_and_shape(runner, client, people):
    r = runner.invoke(
        cli_app,
        ["project", "create", "--title", "Roads", "--labels", "car, bus,person",
         "--shape", "polygon", "--description", "city", "--user", "lead@example.com"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "3 labels (car, bus, person)" in r.output
    listed = client.get("/api/projects", headers=people["lead"].headers).json()["results"]
    assert [(p["title"], p["description"]) for p in listed] == [("Roads", "city")]
    config = listed[0]["parsed_label_config"]["label"]
    assert config["type"] == "PolygonLabels" and config["labels"] == ["car", "bus", "person"]

    r = runner.invoke(cli_app, ["project", "list", "--user", "lead@example.com"])
    assert r.exit_code == 0, r.output
    assert "Roads" in r.output and "1 projects" in r.output


def test_create_from_a_config_file_and_the_errors(runner, tmp_path, people):
    config = tmp_path / "config.xml"
    config.write_text(
        '<View><Image name="img" value="$img"/>'
        '<KeyPointLabels name="kp" toName="img"><Label value="eye"/></KeyPointLabels></View>'
    )
    r = runner.invoke(
        cli_app, ["project", "create", "--title", "Faces", "--label-config", str(config)]
    )
    assert r.exit_code == 0, r.output and "1 labels (eye)" in r.output

    r = runner.invoke(
        cli_app, ["project", "create", "--title", "x", "--labels", "a", "--shape", "mask"]
    )
    assert r.exit_code == 1 and 'shape type "mask" is not one of' in r.output
    r = runner.invoke(cli_app, ["project", "create", "--title", "x", "--labels", "a,a"])
    assert r.exit_code == 1 and 'label "a" is listed twice' in r.output
    r = runner.invoke(cli_app, ["project", "create", "--title", "x"])
    assert r.exit_code == 1 and "--labels" in r.output
    r = runner.invoke(
        cli_app,
        ["project", "create", "--title", "x", "--labels", "a", "--user", "annotator@example.com"],
    )
    assert r.exit_code == 1 and "Traceback" not in r.output
