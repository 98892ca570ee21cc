from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentMessage(_message.Message):
    __slots__ = ("hello", "metrics")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    metrics: MetricsBatch
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., metrics: _Optional[_Union[MetricsBatch, _Mapping]] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("hostname", "os_type", "os_version", "kernel_version", "arch", "cpu_model", "cpu_cores", "agent_version", "ip_addresses")
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    OS_TYPE_FIELD_NUMBER: _ClassVar[int]
    OS_VERSION_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    CPU_MODEL_FIELD_NUMBER: _ClassVar[int]
    CPU_CORES_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    os_type: str
    os_version: str
    kernel_version: str
    arch: str
    cpu_model: str
    cpu_cores: int
    agent_version: str
    ip_addresses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, hostname: _Optional[str] = ..., os_type: _Optional[str] = ..., os_version: _Optional[str] = ..., kernel_version: _Optional[str] = ..., arch: _Optional[str] = ..., cpu_model: _Optional[str] = ..., cpu_cores: _Optional[int] = ..., agent_version: _Optional[str] = ..., ip_addresses: _Optional[_Iterable[str]] = ...) -> None: ...

class MetricsBatch(_message.Message):
    __slots__ = ("samples",)
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[Sample]
    def __init__(self, samples: _Optional[_Iterable[_Union[Sample, _Mapping]]] = ...) -> None: ...

class Sample(_message.Message):
    __slots__ = ("seq", "timestamp_ms", "cpu_usage_percent", "memory_usage_bytes", "memory_total_bytes", "swap_usage_bytes", "swap_total_bytes", "disk_used_bytes", "disk_total_bytes", "disk_read_bps", "disk_write_bps", "network_rx_instant_bps", "network_tx_instant_bps", "network_rx_total_bytes", "network_tx_total_bytes", "load1", "load5", "load15", "process_count", "tcp_connections", "udp_connections", "uptime_seconds")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    CPU_USAGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    SWAP_USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SWAP_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_READ_BPS_FIELD_NUMBER: _ClassVar[int]
    DISK_WRITE_BPS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_RX_INSTANT_BPS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_TX_INSTANT_BPS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_RX_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    NETWORK_TX_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOAD1_FIELD_NUMBER: _ClassVar[int]
    LOAD5_FIELD_NUMBER: _ClassVar[int]
    LOAD15_FIELD_NUMBER: _ClassVar[int]
    PROCESS_COUNT_FIELD_NUMBER: _ClassVar[int]
    TCP_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    UDP_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    timestamp_ms: int
    cpu_usage_percent: float
    memory_usage_bytes: int
    memory_total_bytes: int
    swap_usage_bytes: int
    swap_total_bytes: int
    disk_used_bytes: int
    disk_total_bytes: int
    disk_read_bps: float
    disk_write_bps: float
    network_rx_instant_bps: float
    network_tx_instant_bps: float
    network_rx_total_bytes: int
    network_tx_total_bytes: int
    load1: float
    load5: float
    load15: float
    process_count: int
    tcp_connections: int
    udp_connections: int
    uptime_seconds: int
    def __init__(self, seq: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., cpu_usage_percent: _Optional[float] = ..., memory_usage_bytes: _Optional[int] = ..., memory_total_bytes: _Optional[int] = ..., swap_usage_bytes: _Optional[int] = ..., swap_total_bytes: _Optional[int] = ..., disk_used_bytes: _Optional[int] = ..., disk_total_bytes: _Optional[int] = ..., disk_read_bps: _Optional[float] = ..., disk_write_bps: _Optional[float] = ..., network_rx_instant_bps: _Optional[float] = ..., network_tx_instant_bps: _Optional[float] = ..., network_rx_total_bytes: _Optional[int] = ..., network_tx_total_bytes: _Optional[int] = ..., load1: _Optional[float] = ..., load5: _Optional[float] = ..., load15: _Optional[float] = ..., process_count: _Optional[int] = ..., tcp_connections: _Optional[int] = ..., udp_connections: _Optional[int] = ..., uptime_seconds: _Optional[int] = ...) -> None: ...

class ServerMessage(_message.Message):
    __slots__ = ("welcome", "ack")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    welcome: Welcome
    ack: Ack
    def __init__(self, welcome: _Optional[_Union[Welcome, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ...) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("server_id", "daemon_version", "max_message_bytes")
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    DAEMON_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    server_id: int
    daemon_version: str
    max_message_bytes: int
    def __init__(self, server_id: _Optional[int] = ..., daemon_version: _Optional[str] = ..., max_message_bytes: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("seq",)
    SEQ_FIELD_NUMBER: _ClassVar[int]
    seq: int
    def __init__(self, seq: _Optional[int] = ...) -> None: ...
