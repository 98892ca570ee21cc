"""The committed stubs are what proto/monitord.proto generates, and the protocol matches the models."""

from __future__ import annotations

from pathlib import Path

import msgspec
from google.protobuf.descriptor import FieldDescriptor

from monitord.models import METRIC_FIELDS, HostFacts, MetricsSample
from monitord.proto import monitord_pb2 as pb
from monitord.proto.regenerate import GENERATED, PACKAGE_DIR, generate


def test_the_committed_stubs_are_exactly_what_the_proto_generates(tmp_path: Path) -> None:
    produced = generate(tmp_path)
    for name in GENERATED:
        assert (produced / name).read_bytes() == (PACKAGE_DIR / name).read_bytes(), (
            f"monitord/proto/{name} is stale: run `python -m monitord.proto.regenerate`"
        )


def test_sample_carries_every_metric_field_with_the_models_type() -> None:
    fields = pb.Sample.DESCRIPTOR.fields
    assert [f.name for f in fields] == ["seq", "timestamp_ms", *METRIC_FIELDS]
    types = {field.name: field.type for field in msgspec.structs.fields(MetricsSample)}
    for field in fields[2:]:
        expected = FieldDescriptor.TYPE_INT64 if types[field.name] is int else FieldDescriptor.TYPE_DOUBLE
        assert field.type == expected, field.name


def test_the_messages_have_the_contracts_names() -> None:
    service = pb.DESCRIPTOR.services_by_name["AgentService"]
    connect = service.methods_by_name["Connect"]
    assert pb.DESCRIPTOR.package == "monitord.v1"
    assert connect.input_type.name == "AgentMessage" and connect.output_type.name == "ServerMessage"
    assert connect.client_streaming and connect.server_streaming
    assert [f.name for f in pb.AgentMessage.DESCRIPTOR.oneofs_by_name["payload"].fields] == ["hello", "metrics"]
    assert [f.name for f in pb.ServerMessage.DESCRIPTOR.oneofs_by_name["payload"].fields] == ["welcome", "ack"]
    assert [f.name for f in pb.Ack.DESCRIPTOR.fields] == ["seq"]
    hello = {f.name for f in pb.Hello.DESCRIPTOR.fields}
    assert hello == (set(HostFacts.__struct_fields__) - {"ip_address"}) | {"ip_addresses"}
