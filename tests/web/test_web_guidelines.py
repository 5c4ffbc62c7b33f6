"""The guideline page (`/projects/{id}/guidelines`): leads manage, reviewers read, annotators
get the 403 page (they read the guideline on the annotate page); the Markdown is rendered,
its raw HTML shown as text."""

from __future__ import annotations

from builders import log_in


def test_who_sees_the_guideline_page_and_what(client, people, project):
    url = f"/api/projects/{project['id']}/guidelines"
    body = {"markdown": "<script>alert(1)</script> box it", "change_log": "first"}
    assert client.post(url, json=body, headers=people["lead"].headers).status_code == 201
    page = f"/projects/{project['id']}/guidelines"
    log_in(client, people["annotator"])
    assert client.get(page).status_code == 403
    log_in(client, people["reviewer"])
    html = client.get(page).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; box it" in html and "<script>alert" not in html
    assert 'id="gl-publish"' not in html and 'id="gl-recheck-queue"' not in html
    log_in(client, people["lead"])
    html = client.get(page).text
    assert 'id="gl-publish"' in html and 'id="gl-recheck-queue"' in html
    assert 'id="guidelines-link"' in client.get(f"/projects/{project['id']}").text


def test_only_leads_and_admins_open_the_recheck_editor(client, people, project):
    page = f"/projects/{project['id']}/guidelines/recheck"
    for who in ("annotator", "reviewer"):
        log_in(client, people[who])
        assert client.get(page).status_code == 403, who
    log_in(client, people["lead"])
    html = client.get(page).text
    assert 'id="gt-confirm"' in html and '"mode": "recheck"' in html


def test_the_guideline_markdown_is_rendered_and_its_html_never_is(client, people, project):
    text = (
        "# Rules\n\nBox **each** animal.\n\n- tails count\n\n"
        "<script>document.title='pwned'</script>\n\n"
        "[help](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    url = f"/api/projects/{project['id']}/guidelines"
    assert (
        client.post(url, json={"markdown": text}, headers=people["lead"].headers).status_code == 201
    )
    log_in(client, people["reviewer"])
    html = client.get(f"/projects/{project['id']}/guidelines").text
    assert "<h1>Rules</h1>" in html and "Box <strong>each</strong> animal." in html
    assert "<li>tails count</li>" in html
    assert "<script>document.title" not in html
    assert "&lt;script&gt;document.title=" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html
