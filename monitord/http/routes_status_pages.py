"""/api/status-pages: admins create, change and delete public status pages (issue 16)."""

from __future__ import annotations

import logging

import msgspec
from quart import Blueprint, Response

from monitord.auth.passwords import hash_password
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import check_id, current_user, json_body, requires
from monitord.http.responses import json_response
from monitord.models import Role, StatusPageRecord, now_ms
from monitord.statuspages.access import new_share_token
from monitord.statuspages.settings import (
    Access,
    PageList,
    PageRequest,
    PageSettings,
    PageView,
    decode_settings,
    encode_settings,
)
from monitord.storage import AlreadyExists

log = logging.getLogger("monitord.statuspages")
blueprint = Blueprint("status_pages", __name__, url_prefix="/api/status-pages")

_SETTING_FIELDS = ("title", "description", "footer", "sections", "fields", "access", "link_expires_at", "aliases")


def page_view(record: StatusPageRecord) -> PageView:
    settings = decode_settings(record.config)
    return PageView(
        id=record.id,
        slug=record.slug,
        title=settings.title,
        description=settings.description,
        footer=settings.footer,
        sections=settings.sections,
        fields=settings.fields,
        access=settings.access,
        link_expires_at=settings.link_expires_at,
        aliases=dict(settings.aliases),
        has_password=bool(record.password_hash),
        share_token=settings.share_token,
    )


async def _page(page_id: int) -> StatusPageRecord:
    record = await app_state().storage.get_status_page(check_id(page_id))
    if record is None:
        raise ApiError(404, "not_found", "no such status page")
    return record


async def _apply(body: PageRequest, settings: PageSettings, password_hash: str) -> tuple[PageSettings, str]:
    """The settings and password hash after `body`; 400 when a password page would have none."""
    changes = {name: getattr(body, name) for name in _SETTING_FIELDS if getattr(body, name) is not msgspec.UNSET}
    settings = msgspec.structs.replace(settings, **changes)
    settings = msgspec.structs.replace(settings, fields=list(dict.fromkeys(settings.fields)))
    if body.password is not msgspec.UNSET:
        password_hash = await hash_password(body.password)
    if settings.access is Access.PASSWORD and not password_hash:
        raise ApiError(400, "invalid_request", "`$.password`: a password page needs a password")
    if settings.access is Access.LINK and not settings.share_token:
        settings = msgspec.structs.replace(settings, share_token=new_share_token())
    return settings, password_hash


@blueprint.get("")
@requires(Role.ADMIN)
async def list_pages() -> Response:
    records = await app_state().storage.list_status_pages()
    return json_response(PageList(pages=[page_view(record) for record in records]))


@blueprint.post("")
@requires(Role.ADMIN)
async def create_page() -> Response:
    body = await json_body(PageRequest)
    for required in ("slug", "title"):
        if getattr(body, required) is msgspec.UNSET:
            raise ApiError(400, "invalid_request", f"`$.{required}`: required")
    assert isinstance(body.slug, str) and isinstance(body.title, str)
    settings, password_hash = await _apply(body, PageSettings(title=body.title), "")
    try:
        record = await app_state().storage.create_status_page(
            body.slug, encode_settings(settings), password_hash, now_ms=now_ms()
        )
    except AlreadyExists:
        raise ApiError(409, "conflict", f"a status page with the slug {body.slug!r} already exists") from None
    log.info("status page %s created by %s", record.slug, current_user().username)
    return json_response(page_view(record), status=201)


@blueprint.get("/<int:page_id>")
@requires(Role.ADMIN)
async def get_page(page_id: int) -> Response:
    return json_response(page_view(await _page(page_id)))


@blueprint.patch("/<int:page_id>")
@requires(Role.ADMIN)
async def change_page(page_id: int) -> Response:
    """Change what the body names; the page's open public feeds reconnect to see it."""
    body = await json_body(PageRequest)
    record = await _page(page_id)
    settings, password_hash = await _apply(body, decode_settings(record.config), record.password_hash)
    slug = record.slug if body.slug is msgspec.UNSET else body.slug
    try:
        updated = await app_state().storage.update_status_page(page_id, slug, encode_settings(settings), password_hash)
    except AlreadyExists:
        raise ApiError(409, "conflict", f"a status page with the slug {slug!r} already exists") from None
    if updated is None:
        raise ApiError(404, "not_found", "no such status page")
    app_state().status_pages.close_page(page_id)
    return json_response(page_view(updated))


@blueprint.delete("/<int:page_id>")
@requires(Role.ADMIN)
async def delete_page(page_id: int) -> Response:
    if not await app_state().storage.delete_status_page(check_id(page_id)):
        raise ApiError(404, "not_found", "no such status page")
    app_state().status_pages.close_page(page_id, "the page was deleted")
    log.info("status page %d deleted by %s", page_id, current_user().username)
    return Response(b"", status=204)
