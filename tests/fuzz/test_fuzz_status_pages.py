"""The public status page routes from hypothesis: slugs, passwords and tokens (issue 16).

Whatever is sent, the answer is a page, a 429, or the one 404 (same body for an unknown slug,
a wrong password or token, and a malformed slug); never a 500 or a traceback.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import FuzzTarget

NOT_FOUND = {"error": {"code": "not_found", "message": "no such status page"}}
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)
# h11 refuses to send a header value with spaces around it.
AUTHORIZATIONS = st.one_of(
    st.none(),
    HEADER_TEXT.map(str.strip),
    HEADER_TEXT.map(lambda token: f"Bearer {token}".strip()),
    st.binary(max_size=80).map(lambda raw: ("Basic " + base64.b64encode(raw).decode()).strip()),
    st.text(max_size=40).map(lambda password: "Basic " + base64.b64encode(f"x:{password}".encode()).decode()),
)
# A quarter of the profile's examples: a password guess costs an Argon2 verification (~20 ms).
FEWER = settings(max_examples=max(50, settings.default.max_examples // 4))
# No "/": the server decodes %2F, and a slash makes another URL (werkzeug redirects "//" with 308).
SLUGS = st.one_of(
    st.sampled_from(["open", "locked", "shared", "nope"]), st.text(max_size=80).filter(lambda slug: "/" not in slug)
)


@pytest.fixture(scope="module")
def pages(fuzz_target: FuzzTarget) -> FuzzTarget:
    for page in (
        {"slug": "open", "title": "Open", "sections": [{"serverIds": [fuzz_target.server_id]}]},
        {"slug": "locked", "title": "Locked", "access": "password", "password": "page-password"},
        {"slug": "shared", "title": "Shared", "access": "link"},
    ):
        assert fuzz_target.admin.post("/api/status-pages", json=page).status_code == 201
    return fuzz_target


def _check(response: httpx.Response, slug: str) -> None:
    assert response.status_code in {200, 400, 404, 405, 429}, response.text
    # A slug that is no single path segment ("", ".", "..") names another URL, not a page.
    if response.status_code == 404 and slug not in {"", ".", ".."}:
        assert response.json() == NOT_FOUND
    elif response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message"}
    else:
        assert "hostname" not in response.text and '"id"' not in response.text


@FEWER
@given(slug=SLUGS, authorization=AUTHORIZATIONS)
def test_public_reads_answer_a_page_or_the_one_404(pages: FuzzTarget, slug: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    with httpx.Client(base_url=pages.base_url, timeout=10) as client:
        _check(client.get(f"/api/public/status/{quote(slug, safe='')}", headers=headers), slug)


@given(
    slug=SLUGS, body=st.one_of(st.text(max_size=60).map(lambda p: json.dumps({"password": p})), st.text(max_size=60))
)
def test_page_token_requests_survive_anything(pages: FuzzTarget, slug: str, body: str) -> None:
    with httpx.Client(base_url=pages.base_url, timeout=10) as client:
        response = client.post(
            f"/api/public/status/{quote(slug, safe='')}/token",
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
    _check(response, slug)
    if response.status_code == 200:
        assert slug == "locked" and set(response.json()) == {"token", "expiresAt"}
