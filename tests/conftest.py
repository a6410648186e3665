"""Shared test fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Speed is measured in bench/, never in tests: no per-example deadline (a loaded 2-core CI machine would make
# any deadline flaky). Tests that need more examples set them locally.
settings.register_profile("hft", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hft")
# the agreement tests' comparisons (`same`, `agree`) are plain asserts in a helper module: rewritten like a test's,
# so a failure shows the values compared
pytest.register_assert_rewrite("tests.unit.sim.agreement")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"  # recorded quotes kept beside the project, never in it


# --- compiled kernels: once, before the test workers start -------------------------------------------------

@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs):
    """With ``-n``, compile the kernels on the xdist controller (`hft warmup`, its two processes) before the
    workers start: on a cold cache each worker would otherwise compile the same kernels side by side (a warm cache
    makes this take seconds). A failed warm-up is reported and the workers compile what they need."""
    import hft

    tree = str(Path(hft.__file__).resolve().parents[1])  # the tree the workers import
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (tree, os.environ.get("PYTHONPATH")) if p)}
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # its progress on the terminal, as `hft warmup` draws it
        print("\nhft warmup: compiling the kernels before the test workers start (seconds when cached)", flush=True)
        r = subprocess.run([sys.executable, "-m", "hft", "warmup"], env=env, cwd=tree, stdin=subprocess.DEVNULL)
        if r.returncode:
            print(f"hft warmup failed (exit {r.returncode}): the workers compile what they use", flush=True)


# --- the embedded store: chDB admits ONE data path per process, so every in-process test shares one ---------

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
    from hft.recorder.topics import TOPICS

    for name in TOPICS:
        shared_store.execute(f"TRUNCATE TABLE IF EXISTS {name}")
    return shared_store


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (relative to the repository root); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA


# --- a small, consistent LOBSTER day (2 levels) for importer and verifier tests -----------------------------

STEM = "TEST_2012-06-21_34200000_57600000"
E = 9999999999

# A consistent 2-level day: orders 5 (bid 100.00 x200) and 6 (ask 100.05 x300) rested before the start.
MESSAGES = [
    "34200.000000001,1,11,100,1000100,1",  # add bid 100.01 x100
    "34200.5,1,12,50,1000300,-1",  # add ask 100.03 x50
    "34201.25,4,11,30,1000100,1",  # execute 30 of 11
    "34202,5,0,10,1000050,1",  # hidden execution at a half-cent midpoint
    "34203.123456789,2,5,20,1000000,1",  # partial cancel of pre-existing order 5
    "34204.1234567895,3,12,50,1000300,-1",  # delete 12 (10 decimals: rounds half-up to the ns)
    "34205,3,6,300,1000500,-1",  # delete pre-existing order 6
]
BOOKS = [
    f"1000500,300,1000100,100,{E},0,1000000,200",
    "1000300,50,1000100,100,1000500,300,1000000,200",
    "1000300,50,1000100,70,1000500,300,1000000,200",
    "1000300,50,1000100,70,1000500,300,1000000,200",
    "1000300,50,1000100,70,1000500,300,1000000,180",
    "1000500,300,1000100,70,1001000,400,1000000,180",
    f"1001000,400,1000100,70,{E},0,1000000,180",
]


class LobsterDay:
    """Writes the small LOBSTER day above (or a variant of it) as CSV files or a zip."""

    stem = STEM
    messages = MESSAGES
    books = BOOKS

    def write(self, folder: Path, messages: list[str] | None = None, books: list[str] | None = None,
              stem: str = STEM, levels: int = 2) -> Path:
        """Write a message/orderbook CSV pair (LOBSTER names); return the message file."""
        msg = folder / f"{stem}_message_{levels}.csv"
        msg.write_text("".join(line + "\n" for line in (MESSAGES if messages is None else messages)))
        books = BOOKS if books is None else books
        (folder / f"{stem}_orderbook_{levels}.csv").write_text("".join(line + "\n" for line in books))
        return msg

    def zip(self, folder: Path, messages: list[str] | None = None, books: list[str] | None = None) -> Path:
        """Write the pair into a LOBSTER-style zip (plus a readme member); return the zip."""
        src = folder / "src"
        src.mkdir(exist_ok=True)
        msg = self.write(src, messages, books)
        path = folder / "LOBSTER_SampleFile_TEST_2012-06-21_2.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(msg, msg.name)
            ob = msg.with_name(msg.name.replace("_message_", "_orderbook_"))
            zf.write(ob, ob.name)
            zf.writestr("LOBSTER_SampleFiles_ReadMe.txt", "readme")
        return path


@pytest.fixture
def lobster_day() -> LobsterDay:
    """The small consistent LOBSTER day (see `MESSAGES` / `BOOKS`), writable as CSV pair or zip."""
    return LobsterDay()
