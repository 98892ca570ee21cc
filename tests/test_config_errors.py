"""A bad command line or config file: exit status 2 and one line naming file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.config import ConfigError, Settings, load_settings
from tests.processes import run_monitord

CASES = {
    "unknown_top_level_key": ("colour = 'blue'\n", "colour: unknown key"),
    "unknown_key_in_section": ("[http]\nlisten_addr = '0.0.0.0:80'\n", "http.listen_addr: unknown key"),
    "wrong_type": ("[push]\ninterval_seconds = 'fast'\n", "push.interval_seconds: expected a number, got a string"),
    "section_not_a_table": ("http = 8080\n", "http: expected a table, got an integer"),
    "negative_interval": (
        "[agents]\noffline_after_seconds = -5\n",
        "agents.offline_after_seconds: expected a number > 0",
    ),
    "listen_without_port": ("[http]\nlisten = 'localhost'\n", 'http.listen: expected "host:port"'),
    "listen_port_too_big": ("[grpc]\nlisten = '127.0.0.1:70000'\n", "grpc.listen: port must be 0-65535"),
    "listen_bad_host": ("[http]\nlisten = 'bad host!:80'\n", 'http.listen: expected "host:port"'),
    "listen_non_ascii_port": ("[http]\nlisten = '127.0.0.1:８０'\n", 'http.listen: expected "host:port"'),
    "half_tls": (
        "[grpc]\ntls_cert_file = '/etc/cert.pem'\n",
        "grpc.tls_key_file: set tls_cert_file and tls_key_file together",
    ),
    "wildcard_origin": ("[http]\nallowed_origins = ['*']\n", "http.allowed_origins: expected origins like"),
    "no_live_feeds": (
        "[http]\nmax_live_feeds_per_user = 0\n",
        "http.max_live_feeds_per_user: expected an integer >= 1",
    ),
    "bad_database_url": ("[database]\nurl = 'mysql://root@db/x'\n", "database.url: expected"),
    "bad_postgres_port": ("[database]\nurl = 'postgresql://u:hunter2@db:port/x'\n", "database.url: the port of the"),
    "zero_connect_timeout": ("[database]\nconnect_timeout_seconds = 0\n", "database.connect_timeout_seconds: expected"),
    "tiny_buffer": ("[database]\nbuffer_samples = 10\n", "database.buffer_samples: expected an integer >= 100"),
    "zero_retry_cap": ("[database]\nretry_max_seconds = 0\n", "database.retry_max_seconds: expected a number >= 0.1"),
    "zero_database_timeout": (
        "[database]\ntimeout_seconds = 0\n",
        "database.timeout_seconds: expected a number >= 0.1",
    ),
    "not_toml": ("[http\nlisten = \n", "not valid TOML"),
    "raw_hours_too_short": ("[retention]\nraw_hours = 1\n", "retention.raw_hours: expected an integer >= 2"),
    "fractional_days": ("[retention]\nminute_days = 1.5\n", "retention.minute_days: expected an integer, got a number"),
    "minutes_not_outliving_raw": (
        "[retention]\nraw_hours = 72\nminute_days = 3\n",
        "retention.minute_days: must keep 1-minute rollups longer than raw samples (raw_hours = 72), got 3 days",
    ),
    "hours_shorter_than_minutes": (
        "[retention]\nhour_days = 7\n",
        "retention.hour_days: must keep 1-hour rollups at least as long as 1-minute ones (minute_days = 14), got 7",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    text, expected = CASES[case]
    config = tmp_path / "monitord.toml"
    config.write_text(text)
    result = run_monitord("--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines == [lines[0]], result.stderr
    assert lines[0].startswith(f"monitord: {config}: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert "hunter2" not in result.stderr  # a password in database.url is never echoed


@pytest.mark.parametrize(
    "path,expected", [("missing.toml", "file not found"), (".", "is a directory, expected a TOML file")]
)
def test_unreadable_config_exits_2(tmp_path: Path, path: str, expected: str) -> None:
    result = run_monitord("--config", str(tmp_path / path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().endswith(expected) and len(result.stderr.splitlines()) == 1


def test_a_bad_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_monitord("--colour", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "monitord: unrecognized arguments: --colour (see `python -m monitord --help`)"
    ]


def test_an_invalid_utf8_config_is_reported_not_raised(tmp_path: Path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes(b"data_dir = '\xe9t\xe9'\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config)


def test_every_contract_key_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "full.toml"
    config.write_text(
        """
data_dir = "/var/lib/monitord"
[http]
listen = "[::1]:8080"
allowed_origins = ["https://monitor.example.com"]
[grpc]
listen = "0.0.0.0:50051"
tls_cert_file = "/etc/monitord/cert.pem"
tls_key_file = "/etc/monitord/key.pem"
[database]
url = "postgresql://monitord:secret@db:5432/monitord"
[auth]
token_ttl_seconds = 3600
[push]
interval_seconds = 0.5
[agents]
offline_after_seconds = 30
[retention]
raw_hours = 24
minute_days = 30
hour_days = 730
"""
    )
    settings = load_settings(config)
    assert settings.http.address.host == "::1" and settings.http.address.port == 8080
    assert (settings.retention.raw_hours, settings.retention.minute_days, settings.retention.hour_days) == (24, 30, 730)
    assert settings.push.interval_seconds == 0.5
    assert settings.database.url.startswith("postgresql://")
    assert load_settings(None) == Settings()
    assert (Settings().retention.raw_hours, Settings().retention.minute_days, Settings().retention.hour_days) == (
        48,
        14,
        400,
    )
