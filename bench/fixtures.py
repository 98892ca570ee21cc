"""What the daemon under test starts from: a data dir with servers, a known admin, agent tokens.

A fixture is built once per size and copied for every daemon that needs it, so a run does not
pay for registering 10,000 servers more than once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from monitord.auth.passwords import hash_password
from monitord.config import DatabaseSettings, Settings
from monitord.models import HostFacts, MetricsSample, Role, ms_to_datetime, now_ms
from monitord.servers import ServerRegistry
from monitord.storage import open_storage

ADMIN = "bench"
ADMIN_PASSWORD = "bench-password"
TOKENS_FILE = "agent-tokens"


def plausible_sample(at_ms: int, index: int) -> MetricsSample:
    """One sample as an agent reports it (~0.9 KB of snapshot per server with its host facts)."""
    return MetricsSample(
        time=ms_to_datetime(at_ms),
        cpu_usage_percent=12.5 + index % 50,
        memory_usage_bytes=3_221_225_472,
        memory_total_bytes=8_589_934_592,
        swap_usage_bytes=0,
        swap_total_bytes=2_147_483_648,
        disk_used_bytes=42_949_672_960,
        disk_total_bytes=107_374_182_400,
        disk_read_bps=1024.5,
        disk_write_bps=20480.25,
        network_rx_instant_bps=125_000.75,
        network_tx_instant_bps=64_000.5,
        network_rx_total_bytes=987_654_321,
        network_tx_total_bytes=123_456_789,
        load1=0.42,
        load5=0.37,
        load15=0.30,
        process_count=187,
        tcp_connections=42,
        udp_connections=7,
        uptime_seconds=1_234_567,
    )


async def fill(settings: Settings, servers: int, *, with_tokens: bool = False) -> list[str]:
    """Register `servers` servers with host facts and one sample each, plus the bench admin.

    With `with_tokens`, every server gets an agent token; the tokens are returned in id order.
    """
    now = now_ms()
    tokens = []
    async with open_storage(settings) as storage:
        await storage.create_user(ADMIN, await hash_password(ADMIN_PASSWORD), Role.ADMIN, now_ms=now)
        samples = []
        for index in range(servers):
            record = await storage.create_server(f"web-{index:05d}.prod", "!", now_ms=now)
            await storage.update_host_facts(
                record.id,
                HostFacts(
                    hostname=f"web-{index:05d}.prod.example.internal",
                    os_type="linux",
                    os_version="Debian 12",
                    kernel_version="6.1.0-18-amd64",
                    arch="x86_64",
                    cpu_model="AMD EPYC 7763 64-Core Processor",
                    cpu_cores=8,
                    agent_version="0.1.0",
                    ip_address=f"10.{index // 62500}.{index // 250 % 250}.{index % 250 + 1}",
                ),
            )
            if with_tokens:
                token = await ServerRegistry(storage).rotate_token(record.id)
                assert token is not None
                tokens.append(token)
            samples.append((record.id, plausible_sample(now - 1000, index)))
        await storage.insert_samples(samples)
    return tokens


def write_config(
    data_dir: Path, *, interval_seconds: float = 2.0, database_url: str = "", compression: str = "shared"
) -> Path:
    """A daemon config on free ports (0) for `data_dir`; the agent rate and live-feed caps lifted
    for load tests (one user, from one address, opens every dashboard client)."""
    config = data_dir / "monitord.toml"
    config.write_text(
        f'data_dir = "{data_dir}"\n'
        '[http]\nlisten = "127.0.0.1:0"\nmax_live_feeds_per_user = 100000\nmax_live_feeds_per_address = 100000\n'
        '[grpc]\nlisten = "127.0.0.1:0"\n'
        f'[database]\nurl = "{database_url}"\n'
        f'[push]\ninterval_seconds = {interval_seconds}\ncompression = "{compression}"\n'
        "[agents]\nmax_samples_per_second = 1000000.0\n"
    )
    return config


async def build_sqlite_fixture(directory: Path, servers: int, *, with_tokens: bool = False) -> Path:
    """A data dir holding a SQLite database with `servers` servers (and their tokens if asked)."""
    directory.mkdir(parents=True)
    tokens = await fill(Settings(data_dir=str(directory)), servers, with_tokens=with_tokens)
    (directory / TOKENS_FILE).write_text("\n".join(tokens))
    return directory


async def fill_database(url: str, directory: Path, servers: int) -> Path:
    """Like `build_sqlite_fixture`, into the (empty) database at `url`; `directory` gets the tokens."""
    directory.mkdir(parents=True)
    settings = Settings(data_dir=str(directory), database=DatabaseSettings(url=url))
    (directory / TOKENS_FILE).write_text("\n".join(await fill(settings, servers, with_tokens=True)))
    return directory


def copy_fixture(fixture: Path, target: Path) -> Path:
    """A fresh copy of `fixture` at `target` (the database files and tokens, nothing else)."""
    shutil.copytree(fixture, target)
    return target
