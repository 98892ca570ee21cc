"""The designs monitord replaced, run as a daemon process for side-by-side figures.

    python -m bench.variants per-client-encode --config FILE

`per-client-encode` is the naive push: every client's message is encoded from the cache on its
own, instead of one encoded snapshot shared by all (CONTRACT §5). Everything else is the real
daemon, started the way `python -m monitord` starts it.
"""

from __future__ import annotations

import argparse
import gc
from functools import partial

import trio

from monitord import daemon
from monitord.cache import LiveCache
from monitord.cli import DAEMON_GC_THRESHOLDS
from monitord.config import load_settings
from monitord.logs import setup_logging
from monitord.push.hub import SnapshotHub
from monitord.push.snapshot import Snapshot, build_snapshot


class PerClientEncodeHub(SnapshotHub):
    """A hub that encodes the cache once per client per tick (the naive design)."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: LiveCache | None = None

    def build(self, cache: LiveCache) -> Snapshot:
        self._cache = cache
        return super().build(cache)

    def publish(self, snapshot: Snapshot) -> None:
        assert self._cache is not None
        for subscription in self.subscriptions:
            self.snapshots_dropped += subscription.offer(build_snapshot(self._cache))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=["per-client-encode"])
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    setup_logging()
    gc.set_threshold(*DAEMON_GC_THRESHOLDS)
    trio.run(partial(daemon.run, load_settings(args.config), hub=PerClientEncodeHub()))


if __name__ == "__main__":
    main()
