"""Public status pages (issue 16): admin CRUD, access, the identical 404, caching, and the leak test.

The leak test gives servers hostile and sensitive host facts, then reads every public response
(REST with each kind of access, WebSocket frames before and after a status change) and checks
each against the allow-list of keys, and searches every byte for the secrets.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, WebSocketConnection, wrap_client_stream

from monitord.config import Settings
from monitord.models import HostFacts, now_ms
from monitord.statuspages.public import PUBLIC_PAGE_KEYS, PUBLIC_SECTION_KEYS, PUBLIC_SERVER_KEYS
from monitord.statuspages.uptime import DAY_MS, DAYS, uptime_bars
from monitord.storage import open_storage
from monitord.storage.base import HOUR_MS
from monitord.wire import ServerStatus
from tests.conftest import DaemonStarter, RunningDaemon, make_settings
from tests.live_feed_helpers import SNAPSHOT_LIMIT_BYTES, sample

SECRETS = {
    "hostname": "db-primary.corp.secret-example.com",
    "ip_address": "203.0.113.77",
    "kernel_version": "6.1.0-hostile-kernel-xyz",
    "agent_version": "9.8.7-agent-build-zz",
    "os_version": "Debian GNU/Linux 12 leak-osv",
    "cpu_model": "Xeon LeakModel 9999",
}
HOSTILE_NAME = '<script>alert("x")</script> web'
NOT_FOUND = {"error": {"code": "not_found", "message": "no such status page"}}
ALL_FIELDS = ["status", "uptime", "cpu", "memory", "disk", "network"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", push={"status_page_interval_seconds": 1.0})


async def _seed(settings: Settings) -> list[int]:
    """Two servers with sensitive facts and three hours of samples, stored before the start."""
    now = now_ms()
    ids = []
    async with open_storage(settings) as storage:
        for name in (HOSTILE_NAME, "db"):
            record = await storage.create_server(name, "!", now_ms=now - 5 * HOUR_MS)
            await storage.update_host_facts(record.id, HostFacts(os_type="linux", cpu_cores=4, **SECRETS))
            ids.append(record.id)
        await storage.insert_samples(
            [(server_id, sample(now - minutes * 60_000)) for server_id in ids for minutes in range(1, 180, 5)]
        )
    return ids


async def _daemon(settings: Settings, daemons: DaemonStarter) -> tuple[RunningDaemon, str, list[int]]:
    ids = await _seed(settings)
    running = await daemons(settings)
    return running, await running.login(), ids


async def _create(running: RunningDaemon, admin: str, **page: Any) -> dict[str, Any]:
    async with running.client(admin) as client:
        response = await client.post("/api/status-pages", json=page)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _check_allow_list(message: dict[str, Any]) -> None:
    assert set(message) <= PUBLIC_PAGE_KEYS
    for section in message["sections"]:
        assert set(section) <= PUBLIC_SECTION_KEYS
        for server in section["servers"]:
            assert set(server) <= PUBLIC_SERVER_KEYS, set(server) - PUBLIC_SERVER_KEYS


def _check_no_secret(data: bytes, server_ids: list[int]) -> None:
    for secret in SECRETS.values():
        assert secret.encode() not in data, secret
    assert b"203.0.113" not in data and b"secret-example" not in data
    assert b'"id"' not in data and b"serverId" not in data


@asynccontextmanager
async def public_socket(
    running: RunningDaemon, slug: str, token: str | None = None, origin: str | None = None
) -> AsyncIterator[WebSocketConnection]:
    """A client of /ws/public/status/{slug} on a socket of ours (as tests/live_feed_helpers.feeds)."""
    address = running.endpoints.http
    protocols = ["monitord.status.v1", *([f"token.{token}"] if token else [])]
    headers = [(b"origin", origin.encode())] if origin else None
    async with AsyncExitStack() as streams, trio.open_nursery() as nursery:
        sock = trio.socket.socket()
        stream = await streams.enter_async_context(trio.SocketStream(sock))
        await sock.connect((address.host, address.port))
        connection = await wrap_client_stream(
            nursery,
            stream,
            f"{address.host}:{address.port}",
            f"/ws/public/status/{slug}",
            subprotocols=protocols,
            extra_headers=headers,
            max_message_size=SNAPSHOT_LIMIT_BYTES,
        )
        yield connection
        nursery.cancel_scope.cancel()


async def test_admin_crud_shapes_and_errors(settings: Settings, daemons: DaemonStarter) -> None:
    running, admin, ids = await _daemon(settings, daemons)
    page = await _create(
        running,
        admin,
        slug="fleet",
        title="Fleet",
        sections=[{"title": "All", "serverIds": ids}],
        fields=ALL_FIELDS,
    )
    assert {"id", "slug", "title", "description", "sections", "fields", "access"} <= set(page)
    assert (page["access"], page["hasPassword"], page["sections"][0]["serverIds"]) == ("public", False, ids)
    async with running.client(admin) as client:
        conflict = await client.post("/api/status-pages", json={"slug": "fleet", "title": "Again"})
        assert conflict.status_code == 409
        missing = await client.post("/api/status-pages", json={"slug": "x"})
        assert missing.status_code == 400 and "title" in missing.json()["error"]["message"]
        bad_slug = await client.post("/api/status-pages", json={"slug": "Not A Slug", "title": "x"})
        assert bad_slug.status_code == 400 and "slug" in bad_slug.json()["error"]["message"]
        no_password = await client.post("/api/status-pages", json={"slug": "p", "title": "P", "access": "password"})
        assert no_password.status_code == 400 and "password" in no_password.json()["error"]["message"]
        changed = await client.patch(f"/api/status-pages/{page['id']}", json={"title": "Renamed", "access": "link"})
        assert changed.status_code == 200
        assert (changed.json()["title"], changed.json()["access"]) == ("Renamed", "link")
        assert len(changed.json()["shareToken"]) >= 24
        assert "password" not in changed.text
        listed = (await client.get("/api/status-pages")).json()["pages"]
        assert [p["slug"] for p in listed] == ["fleet"]
        assert (await client.delete(f"/api/status-pages/{page['id']}")).status_code == 204
        assert (await client.get(f"/api/status-pages/{page['id']}")).status_code == 404


async def test_the_public_page_leaks_nothing(settings: Settings, daemons: DaemonStarter) -> None:
    running, admin, ids = await _daemon(settings, daemons)
    sections = [{"title": "Web", "serverIds": [ids[0]]}, {"title": "Data", "serverIds": [ids[1]]}]
    await _create(running, admin, slug="open", title="Open", sections=sections, fields=ALL_FIELDS)
    await _create(
        running,
        admin,
        slug="locked",
        title="Locked",
        sections=sections,
        fields=ALL_FIELDS,
        access="password",
        password="page-password",
    )
    link = await _create(running, admin, slug="shared", title="Shared", sections=sections, access="link")
    bodies: list[bytes] = []
    async with running.client() as client:
        basic = "Basic " + base64.b64encode(b"any:page-password").decode()
        token = (await client.post("/api/public/status/locked/token", json={"password": "page-password"})).json()
        for slug, headers in (
            ("open", {}),
            ("locked", {"Authorization": basic}),
            ("locked", {"Authorization": f"Bearer {token['token']}"}),
            ("shared", {"Authorization": f"Bearer {link['shareToken']}"}),
        ):
            response = await client.get(f"/api/public/status/{slug}", headers=headers)
            assert response.status_code == 200, (slug, response.text)
            bodies.append(response.content)
    open_page = json.loads(bodies[0])
    servers = [server for section in open_page["sections"] for server in section["servers"]]
    assert [server["alias"] for server in servers] == [HOSTILE_NAME, "db"]  # JSON-escaped, shown as text
    # Offline (no agent since the start): a status and uptime, no stale figures.
    assert servers[1]["status"] == "offline" and not {"cpu", "memory", "disk"} & set(servers[1])
    assert len(servers[1]["days"]) == DAYS and servers[1]["days"][-1] is not None
    # Live frames: the first at once, the next after a status change.
    cache = running.endpoints.cache
    async with public_socket(running, "open") as socket:
        bodies.append((await socket.get_message()).encode())
        cache.set_status(ids[1], ServerStatus.ONLINE)
        with trio.fail_after(5):
            while True:
                frame = (await socket.get_message()).encode()
                bodies.append(frame)
                if json.loads(frame)["sections"][1]["servers"][0]["status"] == "online":
                    break
    online = json.loads(bodies[-1])["sections"][1]["servers"][0]
    assert online["cpu"] == 12 and online["memory"] == 38 and online["disk"] == 40
    assert (online["networkRxBps"], online["networkTxBps"]) == (
        120_000,
        64_000,
    )  # two significant figures, half to even
    async with public_socket(running, "locked", token=token["token"]) as socket:
        bodies.append((await socket.get_message()).encode())
    for body in bodies:
        message = json.loads(body)
        _check_allow_list(message)
        _check_no_secret(body, ids)
    assert json.loads(bodies[4])["type"] == "statusPage"


async def test_unknown_and_forbidden_pages_answer_the_same_404(settings: Settings, daemons: DaemonStarter) -> None:
    running, admin, _ids = await _daemon(settings, daemons)
    await _create(running, admin, slug="locked", title="L", access="password", password="page-password")
    link = await _create(running, admin, slug="shared", title="S", access="link")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = await _create(running, admin, slug="expired", title="E", access="link", linkExpiresAt=past)
    wrong = "Basic " + base64.b64encode(b":wrong-password").decode()
    async with running.client() as client:
        answers = [
            await client.get("/api/public/status/nope"),
            await client.get("/api/public/status/NOT%20a%20slug"),
            await client.get("/api/public/status/locked"),
            await client.get("/api/public/status/locked", headers={"Authorization": wrong}),
            await client.get("/api/public/status/locked", headers={"Authorization": "Bearer 1.99999999999.f00"}),
            await client.get("/api/public/status/shared"),
            await client.get("/api/public/status/shared", headers={"Authorization": "Bearer guess"}),
            await client.get(
                "/api/public/status/expired", headers={"Authorization": f"Bearer {expired['shareToken']}"}
            ),
            await client.post("/api/public/status/nope/token", json={"password": "page-password"}),
            await client.post("/api/public/status/shared/token", json={"password": "page-password"}),
        ]
        ok = await client.get("/api/public/status/shared", headers={"Authorization": f"Bearer {link['shareToken']}"})
    assert ok.status_code == 200
    for answer in answers:
        assert (answer.status_code, answer.json()) == (404, NOT_FOUND), answer.request.url
        assert {k: v for k, v in answer.headers.items() if k != "date"} == {
            k: v for k, v in answers[0].headers.items() if k != "date"
        }
    for slug, token in (("nope", None), ("locked", None), ("shared", "guess")):
        rejected = await _refusal(running, slug, token)
        assert rejected.status_code == 404 and json.loads(rejected.body or b"") == NOT_FOUND
    foreign = await _refusal(running, "shared", link["shareToken"], origin="https://evil.example")
    assert foreign.status_code == 403


async def _refusal(
    running: RunningDaemon, slug: str, token: str | None, origin: str | None = None
) -> ConnectionRejected:
    refused: ConnectionRejected | None = None
    try:
        async with public_socket(running, slug, token=token, origin=origin):
            pass
    except* ConnectionRejected as group:
        refused = group.exceptions[0]  # type: ignore[assignment]
    assert refused is not None, "the handshake was accepted"
    return refused


async def test_caching_headers_suit_a_cdn_only_for_public_pages(settings: Settings, daemons: DaemonStarter) -> None:
    running, admin, _ids = await _daemon(settings, daemons)
    await _create(running, admin, slug="open", title="Open")
    await _create(running, admin, slug="locked", title="L", access="password", password="page-password")
    async with running.client() as client:
        public = await client.get("/api/public/status/open")
        basic = "Basic " + base64.b64encode(b":page-password").decode()
        private = await client.get("/api/public/status/locked", headers={"Authorization": basic})
    assert public.headers["cache-control"] == "public, max-age=1, stale-while-revalidate=4"
    assert private.headers["cache-control"] == "private, no-store"
    # A CDN keys on the credential, and (since compressed HTTP, issue 17) on the encoding too.
    varies = [{name.strip() for name in r.headers["vary"].split(",")} for r in (public, private)]
    assert varies[0] == varies[1] == {"Authorization", "Accept-Encoding"}


async def test_public_routes_are_rate_limited_per_address(settings: Settings, daemons: DaemonStarter) -> None:
    running, admin, _ids = await _daemon(settings, daemons)
    await _create(running, admin, slug="open", title="Open")
    async with running.client() as client:
        statuses = [(await client.get("/api/public/status/open")).status_code for _ in range(40)]
    assert statuses[:30] == [200] * 30 and 429 in statuses[30:]


def test_uptime_bars_count_hours_with_samples_since_registration() -> None:
    now = 100 * DAY_MS + 12 * HOUR_MS + 30 * 60_000  # half past noon on day 100
    created = 99 * DAY_MS + 18 * HOUR_MS  # registered yesterday at 18:00
    up = [99 * DAY_MS + h * HOUR_MS for h in range(18, 24)] + [100 * DAY_MS + h * HOUR_MS for h in range(0, 12, 2)]
    bars = uptime_bars(up, created, now)
    assert bars.days[:-2] == (None,) * (DAYS - 2)
    # Yesterday: 6 of 6 hours; today: 6 of the 12 finished hours (the current one has no sample yet).
    assert bars.days[-2:] == (100.0, 50.0)
    assert bars.percent == 66.67


async def test_password_guessing_is_throttled_like_logins(tmp_path: Path, daemons: DaemonStarter) -> None:
    settings = make_settings(tmp_path / "data", auth={"login_max_failures": 3})
    running = await daemons(settings)
    admin = await running.login()
    await _create(running, admin, slug="locked", title="L", access="password", password="page-password")
    async with running.client() as client:
        tries = [
            (await client.post("/api/public/status/locked/token", json={"password": f"guess-{n}"})).status_code
            for n in range(4)
        ]
        # Throttled for pages that do not exist as well: the 429 tells nothing about the slug.
        unknown = [
            (await client.post("/api/public/status/nope/token", json={"password": "x"})).status_code for _ in range(4)
        ]
    assert tries == [404, 404, 404, 429]
    assert unknown == [404, 404, 404, 429]


async def test_changing_or_deleting_a_page_closes_its_feeds(settings: Settings, daemons: DaemonStarter) -> None:
    running, admin, _ids = await _daemon(settings, daemons)
    page = await _create(running, admin, slug="open", title="Open")
    async with public_socket(running, "open") as socket:
        assert json.loads(await socket.get_message())["title"] == "Open"
        async with running.client(admin) as client:
            await client.patch(f"/api/status-pages/{page['id']}", json={"title": "Renamed"})
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            while True:
                await socket.get_message()
        assert closed.value.reason.code == 1001
    async with public_socket(running, "open") as socket:
        assert json.loads(await socket.get_message())["title"] == "Renamed"
        async with running.client(admin) as client:
            assert (await client.delete(f"/api/status-pages/{page['id']}")).status_code == 204
        with pytest.raises(ConnectionClosed), trio.fail_after(5):
            while True:
                await socket.get_message()
    assert (await _refusal(running, "open", None)).status_code == 404
