"""The history tests run against every storage backend, like the storage contract suite."""

from tests.storage.conftest import backend, storage  # noqa: F401  (fixtures, re-exported)
