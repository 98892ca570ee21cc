"""Notifications rendered for their channel: Alertmanager webhook JSON, or text for Apprise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from monitord.alerts.engine import AlertItem, Notification
from monitord.models import ms_to_datetime

# Alertmanager's "no end yet".
_NO_END = "0001-01-01T00:00:00Z"

_TEXT = {
    "en": {
        "firing": "FIRING",
        "resolved": "RESOLVED",
        "reminder": "STILL FIRING",
        "summary": "SUMMARY after silence",
        "test": "Test message from monitord",
        "offline": "offline",
        "value": "value",
        "servers": "servers",
    },
    "zh-CN": {
        "firing": "告警",
        "resolved": "已恢复",
        "reminder": "持续告警",
        "summary": "静默结束汇总",
        "test": "monitord 测试消息",
        "offline": "离线",
        "value": "数值",
        "servers": "台服务器",
    },
}


def _iso(ms: int | None) -> str:
    if ms is None:
        return _NO_END
    moment: datetime = ms_to_datetime(ms)
    return moment.isoformat().replace("+00:00", "Z")


def _describe(note: Notification, item: AlertItem, language: str) -> str:
    words = _TEXT[language]
    if note.rule_kind == "offline":
        what = words["offline"]
    else:
        value = "" if item.value is None else f" {words['value']} {item.value:.4g}"
        what = f"{note.metric}{value}"
    return f"{item.server_name}: {what}"


def webhook_body(note: Notification, receiver: str, language: str) -> bytes:
    """The Prometheus Alertmanager webhook JSON (version 4), so existing receivers work."""
    status = "resolved" if all(item.status == "resolved" for item in note.alerts) else "firing"
    alerts: list[dict[str, Any]] = [
        {
            "status": item.status,
            "labels": {
                "alertname": note.rule_name,
                "server": item.server_name,
                "serverId": str(item.server_id),
                "severity": item.level or "none",
            },
            "annotations": {
                "summary": f"{_TEXT[language][note.kind if note.kind != 'firing' else item.status]}: {note.rule_name}",
                "description": _describe(note, item, language),
                "value": "" if item.value is None else f"{item.value:g}",
            },
            "startsAt": _iso(item.starts_at_ms),
            "endsAt": _iso(item.ends_at_ms),
            "generatorURL": "",
            "fingerprint": f"{note.rule_id:x}-{item.server_id:x}",
        }
        for item in note.alerts
    ]
    return msgspec.json.encode(
        {
            "version": "4",
            "groupKey": f"monitord:rule:{note.rule_id}",
            "truncatedAlerts": 0,
            "status": status,
            "receiver": receiver,
            "groupLabels": {"alertname": note.rule_name},
            "commonLabels": {"alertname": note.rule_name},
            "commonAnnotations": {},
            "externalURL": "",
            "alerts": alerts,
        }
    )


def text_message(note: Notification, language: str) -> tuple[str, str]:
    """(title, body) for Apprise channels (email, chat apps, push services)."""
    words = _TEXT[language]
    if note.kind == "test":
        return words["test"], words["test"]
    kind = note.kind
    if kind == "firing" and all(item.status == "resolved" for item in note.alerts):
        kind = "resolved"
    count = f" ({len(note.alerts)} {words['servers']})" if len(note.alerts) > 1 else ""
    title = f"[{words[kind]}] {note.rule_name}{count}"
    lines = [
        f"{'[' + words[item.status] + '] ' if note.kind == 'summary' else ''}{_describe(note, item, language)}"
        + (f" ({item.level})" if item.level else "")
        for item in note.alerts
    ]
    return title, "\n".join(lines)
