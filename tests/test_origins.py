"""The WebSocket Origin rules: the dashboard's own origin or an exact configured one."""

from __future__ import annotations

import pytest

from monitord.http.origins import OriginPolicy, parse_origin

HOST = "monitor.example.com:8080"
POLICY = OriginPolicy(["https://dash.example.com", "http://10.0.0.5:3000"])


@pytest.mark.parametrize(
    "origin",
    [
        "http://monitor.example.com:8080",
        "https://monitor.example.com:8080",  # behind a TLS proxy that keeps Host
        "HTTP://Monitor.Example.com:8080",  # origins are case-insensitive
        "https://dash.example.com",
        "http://10.0.0.5:3000",
    ],
)
def test_allowed(origin: str) -> None:
    assert POLICY.allows([origin], HOST)


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "",
        "https://evil.example",
        "http://monitor.example.com:8080.evil.example",  # own authority as a prefix
        "http://evil.monitor.example.com:8080",  # as a suffix
        "http://monitor.example.com",  # another port
        "http://monitor.example.com:80800",
        "http://monitor.example.com:8080/",  # not a serialized origin
        "http://user@monitor.example.com:8080",
        "ws://monitor.example.com:8080",
        "file://",
        "https://dash.example.com:443",  # configured origins match exactly
        "https://dash.example.com.evil.example",
        "http://dash.example.com",
        "http://10.0.0.5",
        "http://*.example.com",
    ],
)
def test_refused(origin: str) -> None:
    assert not POLICY.allows([origin], HOST)


def test_two_origin_headers_are_refused() -> None:
    assert not POLICY.allows(["https://dash.example.com", "https://evil.example"], HOST)


def test_without_a_host_only_configured_origins_pass() -> None:
    assert not POLICY.allows(["http://monitor.example.com:8080"], None)
    assert POLICY.allows(["https://dash.example.com"], None)


def test_no_origin_is_a_non_browser_client_and_passes() -> None:
    assert POLICY.allows([], HOST)


def test_parse_origin() -> None:
    assert parse_origin(" HTTPS://Dash.Example.com ") == ("https", "dash.example.com")
    assert parse_origin("https://dash.example.com/path") is None
