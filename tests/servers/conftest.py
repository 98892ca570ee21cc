"""The registry runs on both storage backends, as the contract suite does."""

from tests.storage.conftest import backend, storage

__all__ = ["backend", "storage"]
