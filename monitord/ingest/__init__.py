"""Agent ingest: the gRPC servicer, validation, the batch writer, sessions and presence.

    server.serve_agents(grpc settings, AgentCalls)   listener → connection → call (calls.py)
    writer.SampleWriter.run                          the one task that stores samples, then acks
    presence.watch_offline                           online → offline after agents.offline_after_seconds

Submodules are imported by name (no re-exports here): the HTTP routes need only `sessions`,
without pulling in the gRPC stack.
"""
