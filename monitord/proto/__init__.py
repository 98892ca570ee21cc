"""The agent protocol's generated stubs (protobuf messages and purerpc service).

Generated from `proto/monitord.proto` by `python -m monitord.proto.regenerate` and committed, so
installing monitord never needs grpcio-tools; a test checks that they are up to date.
"""
