"""The agent's measurements: pure helpers on crafted input, and one real sample of this host."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

from monitord.agent.buffer import SampleBuffer, to_wire
from monitord.agent.collector import (
    Collector,
    Partition,
    counter_rate,
    cpu_busy_percent,
    host_addresses,
    host_facts,
    parse_sockstat,
    physical_disks,
    real_filesystems,
)
from monitord.ingest.validation import check_samples
from monitord.models import METRIC_FIELDS, datetime_to_ms, now_ms


def test_rates_come_from_counter_deltas() -> None:
    assert counter_rate({"sda": 1_000, "sdb": 0}, {"sda": 3_000, "sdb": 500}, 2.0) == 1_250.0


def test_a_counter_reset_gives_no_spike() -> None:
    # sda rebooted/wrapped (went down), sdc just appeared: neither may produce a huge rate.
    assert counter_rate({"sda": 9_000_000_000, "sdb": 100}, {"sda": 10, "sdb": 300, "sdc": 5_000_000}, 1.0) == 200.0
    assert counter_rate({}, {"sda": 10**12}, 1.0) == 0.0
    assert counter_rate({"sda": 1}, {"sda": 2}, 0.0) == 0.0


def test_disk_usage_covers_real_filesystems_once_each() -> None:
    partitions = [
        Partition("/dev/sda1", "/", "ext4"),
        Partition("/dev/sda1", "/srv/bind", "ext4"),  # a bind mount of the same device
        Partition("/dev/nvme0n1p2", "/home", "xfs"),
        Partition("tmpfs", "/run", "tmpfs"),
        Partition("overlay", "/var/lib/docker/overlay2/x/merged", "overlay"),
        Partition("/dev/loop3", "/snap/core/1", "squashfs"),
        Partition("devtmpfs", "/dev", "devtmpfs"),
        Partition("sshfs#me@h:", "/mnt/remote", "fuse.sshfs"),
        Partition("/dev/sr0", "/media/cd", "iso9660"),
    ]
    assert real_filesystems(partitions) == ["/", "/home"]


def test_disk_io_counts_whole_physical_disks_only(tmp_path: Path) -> None:
    for name, physical in [("sda", True), ("nvme0n1", True), ("loop0", False), ("dm-0", False), ("zram0", False)]:
        (tmp_path / name).mkdir()
        if physical:
            (tmp_path / name / "device").mkdir()
    names = ["sda", "sda1", "nvme0n1", "nvme0n1p1", "loop0", "dm-0", "zram0"]
    assert physical_disks(names, tmp_path) == ["sda", "nvme0n1"]
    # Without /sys/block, the obvious virtual devices are still left out.
    assert physical_disks(["sda", "loop1", "md0", "ram0"], tmp_path / "absent") == ["sda"]


def test_tcp_and_udp_counts_come_from_sockstat() -> None:
    sockstat = "sockets: used 30\nTCP: inuse 11 orphan 0 tw 25 alloc 14 mem 119\nUDP: inuse 3 mem 0\nUDPLITE: inuse 9\n"
    sockstat6 = "TCP6: inuse 2\nUDP6: inuse 1\nUDPLITE6: inuse 0\n"
    assert parse_sockstat(sockstat, sockstat6) == (13, 4)
    assert parse_sockstat("", "") == (0, 0)


def test_cpu_percent_from_cpu_times() -> None:
    times = namedtuple("times", "user system idle iowait guest")
    before = times(10.0, 10.0, 80.0, 0.0, 5.0)
    after = times(40.0, 20.0, 110.0, 10.0, 50.0)
    # busy 40 of 80 (guest is inside user; iowait is idle)
    assert cpu_busy_percent(before, after) == 50.0
    assert cpu_busy_percent(before, before) == 0.0


def test_a_real_sample_of_this_host_passes_the_daemons_checks() -> None:
    collector = Collector()
    first = collector.collect(now_ms())
    second = collector.collect(now_ms() + 1)
    for seq, taken in enumerate([first, second], start=1):
        result = check_samples(
            [to_wire(seq, taken)], last_seq=None, now_ms=now_ms(), max_future_ms=60_000, max_age_ms=60_000
        )
        assert result.dropped == {}, result.dropped
    assert second.memory_total_bytes > 0 and second.process_count > 0 and second.uptime_seconds > 0
    assert 0.0 <= second.cpu_usage_percent <= 100.0
    assert second.disk_total_bytes >= second.disk_used_bytes > 0


def test_host_facts_describe_this_host_and_its_own_addresses() -> None:
    facts = host_facts()
    assert facts.hostname and facts.os_type and facts.kernel_version and facts.arch and facts.cpu_cores >= 1
    assert not any(address.startswith(("127.", "::1", "fe80")) for address in facts.ip_addresses)
    assert list(facts.ip_addresses) == host_addresses()


def test_the_buffer_is_bounded_keeps_order_and_forgets_acked_samples() -> None:
    collector_sample = Collector().collect(now_ms())
    buffer = SampleBuffer(capacity=3)
    seqs = [buffer.add(collector_sample) for _ in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert len(buffer) == 3 and buffer.overflowed == 2
    assert [s.seq for s in buffer.after(0, 10)] == [3, 4, 5]
    assert [s.seq for s in buffer.after(3, 1)] == [4]
    assert buffer.acked(4) == 2 and [s.seq for s in buffer.after(0, 10)] == [5]
    assert buffer.after(5, 10) == []
    wire = buffer.after(0, 1)[0]
    assert wire.timestamp_ms == datetime_to_ms(collector_sample.time)
    assert all(getattr(wire, name) == getattr(collector_sample, name) for name in METRIC_FIELDS)
