"""The designs monitord replaced, run as a daemon process for side-by-side figures.

    python -m bench.variants per-client-encode --config FILE
    python -m bench.variants churn --config FILE

`per-client-encode` is the naive push: every client's message is encoded from the cache on its
own, instead of one encoded snapshot shared by all (CONTRACT §5). `churn` is the real daemon
whose every server reports a new sample each tick, made in-process just before the tick (so
v2 deltas carry a row per server, as with a whole fleet of agents, without running one; the
samples' cost is in the daemon's CPU). Everything else is the real daemon, started the way
`python -m monitord` starts it.
"""

from __future__ import annotations

import argparse
import gc
import random
from functools import partial

import msgspec
import trio

from bench.fixtures import plausible_sample
from monitord import daemon
from monitord.cache import LiveCache
from monitord.cli import DAEMON_GC_THRESHOLDS
from monitord.config import load_settings
from monitord.logs import setup_logging
from monitord.models import MetricsSample, now_ms
from monitord.push.audiences import VisibleServers
from monitord.push.delta import StreamMessage
from monitord.push.hub import SnapshotHub
from monitord.push.snapshot import ServerSource, Snapshot, build_snapshot


class PerClientEncodeHub(SnapshotHub):
    """A hub that encodes the cache once per client per tick (the naive design)."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: ServerSource | None = None

    def build(self, cache: ServerSource) -> Snapshot:
        self._cache = cache
        return super().build(cache)

    def publish(self, snapshot: Snapshot) -> None:
        assert self._cache is not None
        for subscription in self.subscriptions:
            self.snapshots_dropped += subscription.offer(build_snapshot(self._cache))


class ChurnHub(SnapshotHub):
    """The real hub; before each tick's messages, every server gets a new, varied sample."""

    def __init__(self) -> None:
        super().__init__()
        self._churned_at: float | None = None
        self._random = random.Random(7)

    def _churn(self, source: ServerSource) -> None:
        # The push task hands every hub its grant's view of the live cache (issue 16); the churn
        # writes samples into the cache underneath, as the agents' ingest would.
        cache = source._cache if isinstance(source, VisibleServers) else source
        assert isinstance(cache, LiveCache)
        now = trio.current_time()
        if self._churned_at == now:
            return  # once per tick, whichever protocols are built
        self._churned_at = now
        at_ms = now_ms()
        pick = self._random.random
        for server in cache.servers():
            sample: MetricsSample = msgspec.structs.replace(
                plausible_sample(at_ms, server.id),
                cpu_usage_percent=round(pick() * 100, 1),
                disk_read_bps=round(pick() * 1e6, 1),
                disk_write_bps=round(pick() * 1e6, 1),
                network_rx_instant_bps=round(pick() * 1e8, 1),
                network_tx_instant_bps=round(pick() * 1e8, 1),
                load1=round(pick() * 4, 2),
            )
            cache.apply_sample(server.id, sample)

    def build(self, cache: ServerSource) -> Snapshot:
        self._churn(cache)
        return super().build(cache)

    def advance_v2(self, cache: ServerSource) -> StreamMessage:
        self._churn(cache)
        return super().advance_v2(cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=["per-client-encode", "churn"])
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    setup_logging()
    gc.set_threshold(*DAEMON_GC_THRESHOLDS)
    hub = PerClientEncodeHub() if args.variant == "per-client-encode" else ChurnHub()
    trio.run(partial(daemon.run, load_settings(args.config), hub=hub))


if __name__ == "__main__":
    main()
