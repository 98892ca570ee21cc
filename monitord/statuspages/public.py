"""The allow-list: the only types a public status page response is made of, and their builder.

Each public server is an alias, a status and, as the page chooses, rounded figures and uptime.
There is no field here for a hostname, address, OS, kernel, agent version, boot time, server
id or note, so none can be sent by mistake: a new field must be added here, on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from math import floor, log10

import msgspec

from monitord.statuspages.settings import Field, PageSettings
from monitord.statuspages.uptime import UptimeBars
from monitord.wire import ServerStatus, ServerWithDetails


class PublicServer(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    alias: str
    status: str  # "online" | "offline" | "unknown" (never reported)
    cpu: int | None = None  # percent, rounded
    memory: int | None = None
    disk: int | None = None
    network_rx_bps: int | None = None  # bytes per second, two significant figures
    network_tx_bps: int | None = None
    uptime: float | None = None  # percent over the days below, one decimal
    days: list[float | None] | None = None  # daily uptime percent, oldest first; null: no data


class PublicSection(msgspec.Struct, rename="camel", kw_only=True):
    title: str
    servers: list[PublicServer]


class PublicStatusPage(msgspec.Struct, rename="camel", kw_only=True):
    """`GET /api/public/status/{slug}`."""

    title: str
    description: str
    footer: str
    generated_at: datetime
    sections: list[PublicSection]


class PublicStatusPush(PublicStatusPage, tag="statusPage", tag_field="type"):
    """`/ws/public/status/{slug}`: the same object, typed."""


PUBLIC_SERVER_KEYS = frozenset(f.encode_name for f in msgspec.structs.fields(PublicServer))
PUBLIC_PAGE_KEYS = frozenset(f.encode_name for f in msgspec.structs.fields(PublicStatusPage)) | {"type"}
PUBLIC_SECTION_KEYS = frozenset(f.encode_name for f in msgspec.structs.fields(PublicSection))

_STATUS = {ServerStatus.ONLINE: "online", ServerStatus.OFFLINE: "offline", ServerStatus.PENDING: "unknown"}


def section_members(settings: PageSettings, servers: Iterable[ServerWithDetails]) -> list[list[ServerWithDetails]]:
    """The servers of each section: its listed ids in their order, then its tags' servers by id."""
    by_id = {view.id: view for view in servers}
    members = []
    for section in settings.sections:
        chosen = [by_id[server_id] for server_id in dict.fromkeys(section.server_ids) if server_id in by_id]
        listed = {view.id for view in chosen}
        tags = set(section.tags)
        chosen += [view for view in by_id.values() if view.id not in listed and tags.intersection(view.tags)]
        members.append(chosen)
    return members


def _percent(used: float, total: float) -> int | None:
    return round(100 * used / total) if total > 0 else None


def _rate(bps: float) -> int:
    """Two significant figures: enough to read, too coarse to fingerprint."""
    if bps < 1:
        return 0
    digits = floor(log10(bps)) - 1
    return int(round(bps / 10**digits) * 10**digits) if digits > 0 else round(bps)


def public_server(
    view: ServerWithDetails, settings: PageSettings, fields: frozenset[Field], uptime: UptimeBars | None
) -> PublicServer:
    server = PublicServer(alias=settings.aliases.get(view.id, view.name), status=_STATUS[view.status])
    metrics = view.latest_metrics if view.status is ServerStatus.ONLINE else None
    if metrics is not None:
        if Field.CPU in fields:
            server.cpu = round(metrics.cpu_usage_percent)
        if Field.MEMORY in fields:
            server.memory = _percent(metrics.memory_usage_bytes, metrics.memory_total_bytes)
        if Field.DISK in fields:
            server.disk = _percent(metrics.disk_used_bytes, metrics.disk_total_bytes)
        if Field.NETWORK in fields:
            server.network_rx_bps = _rate(metrics.network_rx_instant_bps)
            server.network_tx_bps = _rate(metrics.network_tx_instant_bps)
    if Field.UPTIME in fields and uptime is not None:
        server.uptime = uptime.percent
        server.days = list(uptime.days)
    return server


def build_public_page(
    settings: PageSettings,
    servers: Iterable[ServerWithDetails],
    uptime: Mapping[int, UptimeBars],
    generated_at: datetime,
) -> PublicStatusPage:
    """The page as the public sees it, from the live views and the uptime bars."""
    fields = frozenset(settings.fields)
    sections = [
        PublicSection(
            title=section.title,
            servers=[public_server(view, settings, fields, uptime.get(view.id)) for view in members],
        )
        for section, members in zip(settings.sections, section_members(settings, servers), strict=True)
    ]
    return PublicStatusPage(
        title=settings.title,
        description=settings.description,
        footer=settings.footer,
        generated_at=generated_at,
        sections=sections,
    )
