"""/api/alerts: channels, rules, silences, active alerts and history (issue 15).

Admins write; viewers read rules, silences, active alerts and history. Channels hold secrets,
so only admins see them at all, and even then redacted. The test-send answers only whether it
worked and the error class, never what the target answered (no SSRF oracle).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec
from quart import Blueprint, Response, request

from monitord.alerts.model import METRICS, Channel, InvalidAlertConfig, Phase, Rule, Silence
from monitord.alerts.service import AlertService, InUse, NotFound
from monitord.config import describe_validation_error
from monitord.http.context import app_state
from monitord.http.errors import ApiError
from monitord.http.guards import check_id, current_user, json_body, requires
from monitord.http.responses import json_response
from monitord.http.visibility import caller_grant
from monitord.models import Grant, Role, datetime_to_ms, ms_to_datetime, now_ms
from monitord.wire import ServerStatus

log = logging.getLogger("monitord.alerts")
blueprint = Blueprint("alerts", __name__, url_prefix="/api/alerts")

MAX_EVENTS = 1000
DAY_MS = 86_400_000


def _service() -> AlertService:
    service = app_state().alerts
    if service is None:
        raise ApiError(503, "unavailable", "alerting is not running")
    return service


class _Translate:
    """Map the service's errors to API errors (400 naming the field, 404, 409)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        if isinstance(exc, InvalidAlertConfig):
            raise ApiError(400, "invalid_request", f"{exc.field}: {exc}") from None
        if isinstance(exc, msgspec.ValidationError):
            raise ApiError(
                400, "invalid_request", describe_validation_error(exc, root="body", object_word="an object")
            ) from None
        if isinstance(exc, msgspec.DecodeError):
            raise ApiError(400, "invalid_request", "the body is not a JSON object") from None
        if isinstance(exc, NotFound):
            raise ApiError(404, "not_found", "no such item") from None
        if isinstance(exc, InUse):
            raise ApiError(409, "conflict", str(exc)) from None


async def _patch_body() -> bytes:
    data = await request.get_data(cache=False)
    if not data:
        raise ApiError(400, "invalid_request", "expected a JSON body")
    return data.encode() if isinstance(data, str) else data


# --- channels (admin only: they hold secrets) ------------------------------------------------
def _channel_view(service: AlertService, channel: Channel) -> dict[str, Any]:
    view: dict[str, Any] = msgspec.to_builtins(service.redacted(channel))
    error = service.health.last_error.get(channel.id)
    view["failing"] = error is not None
    view["lastError"] = error
    return view


@blueprint.get("/channels")
@requires(Role.ADMIN)
async def list_channels() -> Response:
    service = _service()
    return json_response({"channels": [_channel_view(service, c) for c in service.channels.values()]})


@blueprint.post("/channels")
@requires(Role.ADMIN)
async def create_channel() -> Response:
    body = await json_body(Channel)
    service = _service()
    with _Translate():
        channel = await service.create_channel(body)
    log.info("alert channel %d (%s) created by %s", channel.id, channel.kind, current_user().username)
    return json_response(_channel_view(service, channel), status=201)


@blueprint.patch("/channels/<int:channel_id>")
@requires(Role.ADMIN)
async def update_channel(channel_id: int) -> Response:
    service = _service()
    with _Translate():
        channel = await service.update_channel(check_id(channel_id), await _patch_body())
    log.info("alert channel %d changed by %s", channel_id, current_user().username)
    return json_response(_channel_view(service, channel))


@blueprint.delete("/channels/<int:channel_id>")
@requires(Role.ADMIN)
async def delete_channel(channel_id: int) -> Response:
    with _Translate():
        await _service().delete_channel(check_id(channel_id))
    log.info("alert channel %d deleted by %s", channel_id, current_user().username)
    return Response(b"", status=204)


@blueprint.post("/channels/<int:channel_id>/test")
@requires(Role.ADMIN)
async def test_channel(channel_id: int) -> Response:
    with _Translate():
        error = await _service().test_channel(check_id(channel_id))
    log.info("alert channel %d tested by %s: %s", channel_id, current_user().username, error or "sent")
    return json_response({"ok": error is None, "error": error})


# --- rules -------------------------------------------------------------------------------------
@blueprint.get("/rules")
@requires(Role.VIEWER)
async def list_rules() -> Response:
    rules = list(_service().rules.values())
    grant = caller_grant()
    if not grant.all:
        visible = _visible_ids(grant)
        tags = {tag for view in app_state().cache.servers() if view.id in visible for tag in view.tags}
        rules = [
            msgspec.structs.replace(
                rule,
                server_ids=None if rule.server_ids is None else [i for i in rule.server_ids if i in visible],
                tags=[tag for tag in rule.tags if tag in tags],
                exclude_server_ids=[i for i in rule.exclude_server_ids if i in visible],
            )
            for rule in rules
        ]
    return json_response({"rules": rules, "metrics": sorted(METRICS)})


@blueprint.post("/rules")
@requires(Role.ADMIN)
async def create_rule() -> Response:
    body = await json_body(Rule)
    with _Translate():
        rule = await _service().create_rule(body)
    log.info("alert rule %d created by %s", rule.id, current_user().username)
    return json_response(rule, status=201)


@blueprint.post("/rules/preview")
@requires(Role.ADMIN)
async def preview_rule() -> Response:
    """How many servers a rule (as being edited) covers, and its metric's current range there."""
    body = await json_body(Rule)
    servers = [view for view in app_state().cache.servers() if body.in_scope(view.id, view.tags)]
    read = METRICS.get(body.metric)
    values = [
        read(view.latest_metrics)
        for view in servers
        if read is not None and view.latest_metrics is not None and view.status == ServerStatus.ONLINE
    ]
    return json_response({"servers": len(servers), "min": min(values, default=None), "max": max(values, default=None)})


@blueprint.patch("/rules/<int:rule_id>")
@requires(Role.ADMIN)
async def update_rule(rule_id: int) -> Response:
    with _Translate():
        rule = await _service().update_rule(check_id(rule_id), await _patch_body())
    log.info("alert rule %d changed by %s", rule_id, current_user().username)
    return json_response(rule)


@blueprint.delete("/rules/<int:rule_id>")
@requires(Role.ADMIN)
async def delete_rule(rule_id: int) -> Response:
    with _Translate():
        await _service().delete_rule(check_id(rule_id))
    log.info("alert rule %d deleted by %s", rule_id, current_user().username)
    return Response(b"", status=204)


# --- active alerts and history ------------------------------------------------------------------
def _visible_ids(grant: Grant) -> set[int]:
    """The ids of the servers a restricted `grant` shows (a server hidden from it stays hidden
    in every alert surface: rules, silences, active alerts and history)."""
    return {view.id for view in app_state().cache.servers() if grant.allows(view.id, view.tags)}


@blueprint.get("/active")
@requires(Role.VIEWER)
async def active_alerts() -> Response:
    service = _service()
    cache = app_state().cache
    grant = caller_grant()
    alerts = []
    for (rule_id, server_id), state in sorted(service.engine.states.items()):
        rule = service.rules.get(rule_id)
        view = cache.get(server_id)
        if rule is None or view is None or state.phase not in (Phase.FIRING, Phase.RESOLVING):
            continue
        if not grant.allows(view.id, view.tags):
            continue
        alerts.append(
            {
                "ruleId": rule_id,
                "ruleName": rule.name,
                "serverId": server_id,
                "serverName": view.name,
                "level": state.level,
                "phase": state.phase,
                "since": ms_to_datetime(state.fired_at_ms),
                "value": state.value,
            }
        )
    return json_response({"alerts": alerts})


def _moment(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw) if raw.lstrip("-").isdigit() else datetime_to_ms(datetime.fromisoformat(raw))
    except (ValueError, TypeError, OverflowError):
        raise ApiError(400, "invalid_request", f"{name}: expected Unix milliseconds or an ISO 8601 time") from None


def _optional_id(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) > 2**63 - 1:
        raise ApiError(400, "invalid_request", f"{name}: expected a positive integer id")
    return int(raw)


@blueprint.get("/events")
@requires(Role.VIEWER)
async def list_events() -> Response:
    now = now_ms()
    to_ms = _moment("to", now + 1)
    from_ms = _moment("from", to_ms - DAY_MS)
    if from_ms > to_ms:
        raise ApiError(400, "invalid_request", "from: must not be after to")
    grant = caller_grant()
    # A restricted viewer sees the events of visible servers only; a hidden serverId filter then
    # finds nothing, exactly like an id no server has.
    visible = None if grant.all else _visible_ids(grant).__contains__
    rows = await app_state().storage.alert_events(
        from_ms,
        to_ms,
        server_id=_optional_id("serverId"),
        rule_id=_optional_id("ruleId"),
        limit=MAX_EVENTS,
        server_visible=visible,
    )
    # Names as they are now (None once the rule or server is gone), so people need not read ids.
    rules, cache = _service().rules, app_state().cache
    return json_response(
        {
            "events": [
                {
                    "time": ms_to_datetime(row.time_ms),
                    "kind": row.kind,
                    "ruleId": row.rule_id,
                    "ruleName": rule.name if (rule := rules.get(row.rule_id)) is not None else None,
                    "serverId": row.server_id,
                    "serverName": view.name if (view := cache.get(row.server_id)) is not None else None,
                    "from": row.from_phase,
                    "to": row.to_phase,
                    "level": row.level,
                    "value": row.value,
                    "detail": row.detail,
                }
                for row in rows
            ]
        }
    )


# --- silences ------------------------------------------------------------------------------------
@blueprint.get("/silences")
@requires(Role.VIEWER)
async def list_silences() -> Response:
    silences = list(_service().silences.values())
    grant = caller_grant()
    if not grant.all:
        visible = _visible_ids(grant)
        silences = [
            msgspec.structs.replace(
                silence,
                server_ids=None if silence.server_ids is None else [i for i in silence.server_ids if i in visible],
            )
            for silence in silences
        ]
    return json_response({"silences": silences})


@blueprint.post("/silences")
@requires(Role.ADMIN)
async def create_silence() -> Response:
    body = await json_body(Silence)
    with _Translate():
        silence = await _service().create_silence(body)
    log.info("alert silence %d created by %s", silence.id, current_user().username)
    return json_response(silence, status=201)


@blueprint.delete("/silences/<int:silence_id>")
@requires(Role.ADMIN)
async def delete_silence(silence_id: int) -> Response:
    with _Translate():
        await _service().delete_silence(check_id(silence_id))
    log.info("alert silence %d deleted by %s", silence_id, current_user().username)
    return Response(b"", status=204)
