"""Shared fixtures: one embedded chDB store per pytest process (chDB admits one data path per process)."""

from __future__ import annotations

import pytest

from hft.recorder.topics import TOPICS


@pytest.fixture(scope="session")
def shared_store(request, tmp_path_factory):
    """A migrated embedded store, shared by every test of the session (also across test directories)."""
    store = getattr(request.config, "_hft_shared_store", None)
    if store is None:
        from hft.store.store import open_store

        home = tmp_path_factory.mktemp("hft_shared_home")
        store = open_store(home=home)
        store.test_home = home
        request.config._hft_shared_store = store
        request.config.add_cleanup(store.close)
    return store


@pytest.fixture
def store(shared_store):
    """The shared store with every topic table emptied."""
    for name in TOPICS:
        shared_store.execute(f"TRUNCATE TABLE IF EXISTS {name}")
    return shared_store
