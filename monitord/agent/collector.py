"""What the agent measures, with psutil and a few /proc files (Linux first, portable fallbacks).

Cheap on purpose (STACK figures): TCP/UDP counts come from /proc/net/sockstat(6), not from
`psutil.net_connections()`, which costs seven times everything else together. Rates are counter
deltas per device; a counter that went backwards (reboot, wrap, device replaced) contributes
nothing for that interval instead of a spike.
"""

from __future__ import annotations

import ipaddress
import os
import platform
import socket
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import psutil

from monitord import __version__
from monitord.models import MetricsSample, ms_to_datetime
from monitord.proto import monitord_pb2 as pb

# Filesystems that are not disk space of this host: memory-backed, read-only images, overlays
# of other filesystems, pseudo and network filesystems.
VIRTUAL_FILESYSTEMS = frozenset(
    {
        "tmpfs",
        "devtmpfs",
        "ramfs",
        "overlay",
        "overlayfs",
        "aufs",
        "squashfs",
        "iso9660",
        "udf",
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "devpts",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "configfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "autofs",
        "binfmt_misc",
        "efivarfs",
        "rpc_pipefs",
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "9p",
        "fuse",
        "erofs",
        "zram",
    }
)
# The first sample's CPU figure needs a window of at least this long.
MIN_CPU_WINDOW_SECONDS = 0.1
# Block devices that are not disks of their own: loop images, RAM disks, and layers stacked on
# other disks (device-mapper, md RAID), whose I/O the underlying disks already count.
_VIRTUAL_DISK_PREFIXES = ("loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd")


class Partition(NamedTuple):
    device: str
    mountpoint: str
    fstype: str


def real_filesystems(partitions: Iterable[Partition]) -> list[str]:
    """Mount points of real, local filesystems, each device once (bind mounts and btrfs
    subvolumes show one device several times)."""
    seen: set[str] = set()
    mountpoints = []
    for part in partitions:
        fstype = part.fstype.lower()
        if fstype in VIRTUAL_FILESYSTEMS or fstype.startswith("fuse.") or part.device.startswith("/dev/loop"):
            continue
        if part.device in seen:
            continue
        seen.add(part.device)
        mountpoints.append(part.mountpoint)
    return mountpoints


def physical_disks(names: Iterable[str], sys_block: Path = Path("/sys/block")) -> list[str]:
    """The whole, physical disks among block device names (partitions and stacked devices are
    left out, so no byte is counted twice)."""
    names = list(names)
    if sys_block.is_dir():
        physical = [name for name in names if (sys_block / name / "device").exists()]
        if physical:
            return physical
    return [name for name in names if not name.startswith(_VIRTUAL_DISK_PREFIXES)]


def counter_rate(previous: Mapping[str, int], current: Mapping[str, int], elapsed_seconds: float) -> float:
    """Bytes per second summed over devices present in both snapshots.

    A device whose counter went backwards (reset by a reboot, a wrap or a driver reload) adds
    nothing this time; a device that just appeared has no previous value and adds nothing either.
    """
    if elapsed_seconds <= 0:
        return 0.0
    total = 0
    for name, value in current.items():
        before = previous.get(name)
        if before is not None and value >= before:
            total += value - before
    return total / elapsed_seconds


def cpu_busy_percent(before: NamedTuple, after: NamedTuple) -> float:
    """Share of CPU time spent busy between two `psutil.cpu_times()` readings, 0-100.

    Idle and I/O wait count as not busy (as psutil does); guest time is already inside user and
    nice time, so it is left out of the total.
    """

    def split(times: NamedTuple) -> tuple[float, float]:
        fields = times._asdict()
        total = sum(value for name, value in fields.items() if name not in ("guest", "guest_nice"))
        idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
        return total, idle

    total_before, idle_before = split(before)
    total_after, idle_after = split(after)
    total = total_after - total_before
    if total <= 0:
        return 0.0
    busy = total - (idle_after - idle_before)
    return min(100.0, max(0.0, 100.0 * busy / total))


def parse_sockstat(*texts: str) -> tuple[int, int]:
    """(TCP, UDP) sockets in use from the contents of /proc/net/sockstat and sockstat6."""
    counts = {"TCP": 0, "TCP6": 0, "UDP": 0, "UDP6": 0}
    for text in texts:
        for line in text.splitlines():
            protocol, _, rest = line.partition(":")
            if protocol not in counts:
                continue
            fields = rest.split()
            for key, value in zip(fields[::2], fields[1::2], strict=False):
                if key == "inuse" and value.isdigit():
                    counts[protocol] += int(value)
    return counts["TCP"] + counts["TCP6"], counts["UDP"] + counts["UDP6"]


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read()
    except OSError:
        return ""


def host_addresses() -> list[str]:
    """This host's own addresses: IPv4 first, then IPv6; no loopback or link-local ones."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for addresses in psutil.net_if_addrs().values():
        for entry in addresses:
            if entry.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                address = ipaddress.ip_address(entry.address.split("%", 1)[0])
            except ValueError:
                continue
            if address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast:
                continue
            if address not in found:
                found.append(address)
    found.sort(key=lambda address: address.version)
    return [str(address) for address in found]


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "cpu model"):
            return value.strip()
    return platform.processor()


def _os_version() -> str:
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return platform.version()
    return release.get("PRETTY_NAME") or release.get("NAME", "")


def host_facts() -> pb.Hello:
    """What `hello` tells the daemon about this host."""
    return pb.Hello(
        hostname=socket.gethostname(),
        os_type=platform.system(),
        os_version=_os_version(),
        kernel_version=platform.release(),
        arch=platform.machine(),
        cpu_model=_cpu_model(),
        cpu_cores=psutil.cpu_count(logical=True) or 0,
        agent_version=__version__,
        ip_addresses=host_addresses(),
    )


class Collector:
    """Takes one sample per call to `collect`; keeps the previous counters for rates.

    Not thread-safe: the agent calls it from one worker thread at a time.
    """

    def __init__(self) -> None:
        self._at: float | None = None
        self._disk: dict[str, tuple[int, int]] = {}
        self._net: dict[str, tuple[int, int]] = {}
        self._cpu = (time.monotonic(), psutil.cpu_times())

    def collect(self, timestamp_ms: int) -> MetricsSample:
        """One sample stamped `timestamp_ms`; rates cover the time since the previous call
        (zero on the first)."""
        cpu_percent = self._cpu_percent()
        now = time.monotonic()
        elapsed = now - self._at if self._at is not None else 0.0
        self._at = now

        memory = psutil.virtual_memory()
        swap = psutil.swap_memory()
        disk_used, disk_total = self._disk_usage()
        disk = self._disk_counters()
        net = self._net_counters()
        disk_read = counter_rate({k: v[0] for k, v in self._disk.items()}, {k: v[0] for k, v in disk.items()}, elapsed)
        disk_write = counter_rate({k: v[1] for k, v in self._disk.items()}, {k: v[1] for k, v in disk.items()}, elapsed)
        net_rx = counter_rate({k: v[0] for k, v in self._net.items()}, {k: v[0] for k, v in net.items()}, elapsed)
        net_tx = counter_rate({k: v[1] for k, v in self._net.items()}, {k: v[1] for k, v in net.items()}, elapsed)
        self._disk, self._net = disk, net
        load1, load5, load15 = os.getloadavg() if hasattr(os, "getloadavg") else psutil.getloadavg()
        tcp, udp = parse_sockstat(_read("/proc/net/sockstat"), _read("/proc/net/sockstat6"))
        return MetricsSample(
            time=ms_to_datetime(timestamp_ms),
            cpu_usage_percent=min(100.0, max(0.0, cpu_percent)),
            memory_usage_bytes=max(0, memory.total - memory.available),
            memory_total_bytes=memory.total,
            swap_usage_bytes=min(swap.used, swap.total),
            swap_total_bytes=swap.total,
            disk_used_bytes=disk_used,
            disk_total_bytes=disk_total,
            disk_read_bps=disk_read,
            disk_write_bps=disk_write,
            network_rx_instant_bps=net_rx,
            network_tx_instant_bps=net_tx,
            network_rx_total_bytes=sum(rx for rx, _ in net.values()),
            network_tx_total_bytes=sum(tx for _, tx in net.values()),
            load1=load1,
            load5=load5,
            load15=load15,
            process_count=len(psutil.pids()),
            tcp_connections=tcp,
            udp_connections=udp,
            uptime_seconds=self._uptime_seconds(),
        )

    def _cpu_percent(self) -> float:
        # Computed from cpu_times here rather than psutil.cpu_percent(), which keeps its previous
        # reading per thread: the agent collects in whichever worker thread trio hands it.
        at, before = self._cpu
        if self._at is None:  # the first sample: give its CPU figure a real window
            time.sleep(max(0.0, MIN_CPU_WINDOW_SECONDS - (time.monotonic() - at)))
        after = psutil.cpu_times()
        self._cpu = (time.monotonic(), after)
        return cpu_busy_percent(before, after)

    @staticmethod
    def _disk_usage() -> tuple[int, int]:
        partitions = [Partition(p.device, p.mountpoint, p.fstype) for p in psutil.disk_partitions(all=False)]
        used = total = 0
        for mountpoint in real_filesystems(partitions):
            try:
                usage = psutil.disk_usage(mountpoint)
            except OSError:
                continue  # unmounted meanwhile, or not ours to read
            used += usage.used
            total += usage.total
        return min(used, total), total

    @staticmethod
    def _disk_counters() -> dict[str, tuple[int, int]]:
        counters = psutil.disk_io_counters(perdisk=True) or {}
        return {name: (counters[name].read_bytes, counters[name].write_bytes) for name in physical_disks(counters)}

    @staticmethod
    def _net_counters() -> dict[str, tuple[int, int]]:
        counters = psutil.net_io_counters(pernic=True)
        stats = psutil.net_if_stats()
        names = [name for name in counters if name != "lo" and "loopback" not in getattr(stats.get(name), "flags", "")]
        # Physical NICs when there are any (a Docker host's bridges and veths would count the
        # same bytes twice); otherwise everything but loopback (inside a container).
        physical = [name for name in names if Path("/sys/class/net", name, "device").exists()]
        return {name: (counters[name].bytes_recv, counters[name].bytes_sent) for name in physical or names}

    @staticmethod
    def _uptime_seconds() -> int:
        text = _read("/proc/uptime").split()
        if text:
            try:
                return max(0, int(float(text[0])))
            except ValueError:
                pass
        return max(0, int(time.time() - psutil.boot_time()))
