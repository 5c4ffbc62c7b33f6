"""`/api/docs` renders offline: Swagger UI's script and style come from the installed
swagger-ui-bundle package, never from a CDN (issue #17 item 8)."""

from __future__ import annotations

import pytest

from assay.web.api_docs import swagger_ui_folder


def test_api_docs_answer_a_page(client):
    r = client.get("/api/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text
    assert "/api/openapi.json" in r.text


@pytest.mark.skipif(
    swagger_ui_folder() is None,
    reason="swagger-ui-bundle is not installed (pyproject.toml lists it; reinstall the venv)",
)
def test_api_docs_load_swagger_ui_from_the_installed_package(client):
    page = client.get("/api/docs").text
    assert "cdn" not in page.lower() and "https://" not in page
    for name, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css")):
        assert f"/static-lib/swagger-ui/{name}?v=" in page
        r = client.get(f"/static-lib/swagger-ui/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
        assert "immutable" in r.headers["cache-control"] and len(r.content) > 1000
    assert client.get("/static-lib/swagger-ui/index.html").status_code == 404
    assert client.get("/static-lib/swagger-ui/..%2F__init__.py").status_code == 404
