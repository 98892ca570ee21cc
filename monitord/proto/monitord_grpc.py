import purerpc
import monitord.proto.monitord_pb2 as monitord_dot_proto_dot_monitord__pb2


class AgentServiceServicer(purerpc.Servicer):
    async def Connect(self, input_messages):
        raise NotImplementedError()

    @property
    def service(self) -> purerpc.Service:
        service_obj = purerpc.Service(
            "monitord.v1.AgentService"
        )
        service_obj.add_method(
            "Connect",
            self.Connect,
            purerpc.RPCSignature(
                purerpc.Cardinality.STREAM_STREAM,
                monitord_dot_proto_dot_monitord__pb2.AgentMessage,
                monitord_dot_proto_dot_monitord__pb2.ServerMessage,
            )
        )
        return service_obj


class AgentServiceStub:
    def __init__(self, channel):
        self._client = purerpc.Client(
            "monitord.v1.AgentService",
            channel
        )
        self.Connect = self._client.get_method_stub(
            "Connect",
            purerpc.RPCSignature(
                purerpc.Cardinality.STREAM_STREAM,
                monitord_dot_proto_dot_monitord__pb2.AgentMessage,
                monitord_dot_proto_dot_monitord__pb2.ServerMessage,
            )
        )