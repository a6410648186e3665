"""A demanding user's bad input and interruptions through the real `hft` console script (the CLI audit): each
ends in one ``error:`` line and its exit code, no traceback, and leaves no half-written output or deleted data."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.cli.conftest import HFT

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

# a strategy that stops its own replay at its first book: SIGTERM to its own process (an interruption at a known
# point of the run, not at a guessed time); or, with `hold` (a sweep's cell) or $STOP_MODE, it appends its pid to
# the file $STOP_MARK and waits there, so the test's signals reach the command while it (or its workers) is
# mid-run. $STOP_MODE: "hold"; "deaf", a cell deaf to SIGTERM (as a library's own handler can make it), so
# terminating the pool's workers does not end them; "slow_cleanup", a strategy whose own cleanup (a ``finally``)
# takes 0.6 s and then creates $STOP_MARK.cleaned; "in_del", SIGTERM handled inside a ``__del__`` (where Python
# cannot raise: it prints "Exception ignored" and drops the exception)
STOPPER = textwrap.dedent('''
    import os
    import signal
    import time

    from hft.sim.strategy import Strategy


    class SignalInDel:
        sent = False

        def __del__(self):
            if not SignalInDel.sent:
                SignalInDel.sent = True
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(200_000):  # the handler runs here, inside __del__
                    pass


    class Stopper(Strategy):
        name = "stopper"

        def __init__(self, size: int = 1, hold: bool = False) -> None:
            self.size, self.hold = size, hold

        def params(self):
            return {"size": self.size, "hold": self.hold}

        def on_book(self, ctx):
            mode = os.environ.get("STOP_MODE", "hold" if self.hold else "term")
            if mode == "term":
                os.kill(os.getpid(), signal.SIGTERM)
                return
            if mode == "in_del":
                SignalInDel()  # collected at once
                return
            if mode == "deaf":
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with open(os.environ["STOP_MARK"], "a") as f:
                f.write(f"{os.getpid()}\\n")
            try:
                time.sleep(600)
            finally:
                if mode == "slow_cleanup":
                    time.sleep(0.6)
                    open(os.environ["STOP_MARK"] + ".cleaned", "w").close()
''')


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from tests.cli.conftest import generated_day

    return generated_day(tmp_path_factory, "badday", 3000)


def _one_error(err: str) -> str:
    lines = [x for x in err.splitlines() if not x.startswith("hint: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_sigterm_mid_replay_unwinds(day, tmp_path):
    (tmp_path / "stopper.py").write_text(STOPPER)
    out = tmp_path / "run"
    p = subprocess.run([str(HFT), "replay", "-d", str(day), "-s", f"{tmp_path / 'stopper.py'}:Stopper",
                        "--out", str(out), "--no-store"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HFT_HOME": str(tmp_path / "home")})
    assert p.returncode == 128 + signal.SIGTERM, p.stderr
    assert _one_error(p.stderr) == "error: interrupted by SIGTERM"
    assert [x.name for x in tmp_path.iterdir() if x.name != "home"] == ["stopper.py"]  # no run or temp folder


def test_a_signal_handled_inside_a_del_still_interrupts(day, tmp_path):
    # Python drops an exception raised in a __del__ (or a weakref / GC callback) with an "Exception ignored"
    # traceback and runs on; the interruption is delivered again instead (`Interrupts.unraisable`)
    (tmp_path / "stopper.py").write_text(STOPPER)
    p = subprocess.run([str(HFT), "replay", "-d", str(day), "-s", f"{tmp_path / 'stopper.py'}:Stopper",
                        "--out", str(tmp_path / "run"), "--no-store"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HFT_HOME": str(tmp_path / "home"), "STOP_MODE": "in_del"})
    assert p.returncode == 128 + signal.SIGTERM, p.stderr
    assert _one_error(p.stderr) == "error: interrupted by SIGTERM" and "Exception ignored" not in p.stderr
    assert [x.name for x in tmp_path.iterdir() if x.name != "home"] == ["stopper.py"]  # stopped: no run folder


def test_ctrl_c_mid_sweep_stops_workers_quietly(day, tmp_path):
    # Ctrl-C as a terminal sends it: one SIGINT to the whole foreground process group, the sweep and its workers
    (tmp_path / "stopper.py").write_text(STOPPER)
    (tmp_path / "sweep.yaml").write_text(textwrap.dedent(f"""
        sweep: stop
        strategy: {tmp_path / 'stopper.py'}:Stopper
        grid: {{size: [1, 2, 3, 4], hold: [true]}}
        data: {{SYNTH: [{day}]}}
    """))
    mark = tmp_path / "started"
    p = subprocess.Popen([str(HFT), "replay", "sweep", str(tmp_path / "sweep.yaml"), "--out", str(tmp_path / "sw"),
                          "-w", "2", "--no-store"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env={**os.environ, "HFT_HOME": str(tmp_path / "home"),
                                                      "STOP_MARK": str(mark)})
    try:
        end = time.monotonic() + 300
        while not mark.exists() and p.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        assert mark.exists(), p.communicate(timeout=60)
        os.killpg(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 128 + signal.SIGINT, err
    assert _one_error(err) == "error: interrupted by SIGINT"  # no worker's KeyboardInterrupt traceback
    assert not (tmp_path / "sw" / "results.parquet").exists()


class Terminal:
    """`hft ARGS` on a pseudo-terminal that is its controlling terminal: Ctrl-C typed there (`type`) is a SIGINT
    to its whole foreground process group (the command and its pool's workers), as in a real terminal."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        env = {**os.environ, **env}
        env.pop("HFT_DEBUG", None)
        self.out = b""
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the real console script
            try:
                os.execve(str(HFT), [str(HFT), *args], env)
            finally:
                os._exit(127)

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def _read(self, seconds: float) -> None:
        if select.select([self.fd], [], [], seconds)[0]:
            with contextlib.suppress(OSError):  # EIO: the child closed the terminal
                self.out += os.read(self.fd, 65536)

    def wait(self, timeout: float) -> int | None:
        """The exit code once the command ended within `timeout` seconds (reading what it writes meanwhile)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._read(0.1)
                return os.waitstatus_to_exitcode(status)
            self._read(0.05)
        return None

    def text(self) -> str:
        """What the command wrote, control sequences (its progress display's) stripped."""
        return re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", "", self.out.decode("utf-8", "replace")).replace("\r", "\n")

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def _running(pid: int) -> bool:
    """Whether process `pid` runs (a zombie no one reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _session(sid: int) -> set[int]:
    """The running processes of session `sid` (a command started in a session of its own, and all it started)."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
                out.add(int(d.name))
    return out


def _pids(mark: Path, n: int, proc_alive, timeout: float = 300) -> list[int]:
    """The pids of the `n` processes that wrote `mark` (each once it holds), once all have."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc_alive():
        pids = [int(x) for x in mark.read_text().split()] if mark.exists() else []
        if len(pids) >= n:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"{n} processes did not reach their first book")


def _sweep_spec(tmp_path: Path, day: Path, sizes: list[int]) -> Path:
    (tmp_path / "stopper.py").write_text(STOPPER)
    spec = tmp_path / "sweep.yaml"
    spec.write_text(textwrap.dedent(f"""
        sweep: stop
        strategy: {tmp_path / 'stopper.py'}:Stopper
        grid: {{size: {sizes}, hold: [true]}}
        data: {{SYNTH: [{day}]}}
    """))
    return spec


def test_a_ctrl_c_flood_does_not_cut_the_cleanup_short(day, tmp_path):
    # Ctrl-C, then a flood of them (a double tap, a key held down) while the command cleans up: the repeats
    # within REPEAT_WINDOW_S are noted, the cleanup (here the strategy's own 0.6 s ``finally``) runs to its end
    (tmp_path / "stopper.py").write_text(STOPPER)
    mark = tmp_path / "started"
    term = Terminal("replay", "-d", str(day), "-s", f"{tmp_path / 'stopper.py'}:Stopper", "--out",
                    str(tmp_path / "run"), "--no-store",
                    env={"HFT_HOME": str(tmp_path / "home"), "STOP_MARK": str(mark), "STOP_MODE": "slow_cleanup"})
    try:
        _pids(mark, 1, lambda: os.waitpid(term.pid, os.WNOHANG) == (0, 0))
        term.type(b"\x03")
        for _ in range(6):  # within 0.1-0.4 s of the first: the strategy's cleanup is running
            time.sleep(0.05)
            term.type(b"\x03")
        code = term.wait(60)
    finally:
        term.close()
    err = term.text()
    assert code == 128 + signal.SIGINT, err
    assert (tmp_path / "started.cleaned").exists(), err  # the cleanup ran to its end
    assert err.count("error: ") == 1 and "error: interrupted by SIGINT" in err and "Traceback" not in err, err
    assert sorted(x.name for x in tmp_path.iterdir() if x.name != "home") == ["started", "started.cleaned", "stopper.py"]


def test_a_later_ctrl_c_exits_at_once_and_the_workers_die_with_it(day, tmp_path):
    # the sweep's workers are deaf to SIGTERM, so stopping the pool hangs (its cleanup waits for them); Ctrl-C
    # again after REPEAT_WINDOW_S exits at once, with one line saying so, and the workers die with the sweep
    mark = tmp_path / "started"
    term = Terminal("replay", "sweep", str(_sweep_spec(tmp_path, day, [1, 2])), "--out", str(tmp_path / "sw"),
                    "-w", "2", "--no-store",
                    env={"HFT_HOME": str(tmp_path / "home"), "STOP_MARK": str(mark), "STOP_MODE": "deaf"})
    workers: list[int] = []
    try:
        workers = _pids(mark, 2, lambda: os.waitpid(term.pid, os.WNOHANG) == (0, 0))
        term.type(b"\x03")
        assert term.wait(1.5) is None, term.text()  # the cleanup waits for the deaf workers
        term.type(b"\x03")
        code = term.wait(20)
        end = time.monotonic() + 5
        while any(_running(w) for w in workers) and time.monotonic() < end:
            time.sleep(0.05)
        left = [w for w in workers if _running(w)]
    finally:
        term.close()
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)
    out = term.text()
    assert code == 128 + signal.SIGINT, out
    assert "error: interrupted by SIGINT, then SIGINT again: exited at once, cleanup skipped" in out, out
    assert out.count("error: ") == 1 and "Traceback" not in out, out
    assert not left, f"workers {left} outlived the sweep"


def test_sigkill_of_a_sweep_takes_its_workers_along(day, tmp_path):
    mark = tmp_path / "started"
    err = tmp_path / "err.txt"
    with open(err, "wb") as err_file:  # not a pipe: a worker left running would hold it open
        p = subprocess.Popen([str(HFT), "replay", "sweep", str(_sweep_spec(tmp_path, day, [1, 2])), "--out",
                              str(tmp_path / "sw"), "-w", "2", "--no-store"], stdout=subprocess.DEVNULL,
                             stderr=err_file, start_new_session=True,
                             env={**os.environ, "HFT_HOME": str(tmp_path / "home"), "STOP_MARK": str(mark)})
    try:
        workers = _pids(mark, 2, lambda: p.poll() is None)
        assert set(workers) <= _session(p.pid)
        p.kill()
        p.wait(10)
        end = time.monotonic() + 3
        while _session(p.pid) and time.monotonic() < end:
            time.sleep(0.05)
        left = _session(p.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
    assert not left, f"processes {sorted(left)} (workers {workers}) outlived the killed sweep: {err.read_text()}"


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def _filling(out: Path) -> bool:
    """Whether a run's temp folder ``.run.*`` in `out` holds a file yet."""
    for x in out.iterdir():
        if x.name.startswith(".run."):
            with contextlib.suppress(OSError):  # removed meanwhile
                if any(x.iterdir()):
                    return True
    return False


def test_what_a_killed_run_left_the_next_run_removes(hft, day, tmp_path):
    from hft.core.fileio import temp_prefix

    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.Popen([str(HFT), "replay", "-d", str(day), "-s", "mm", "--out", str(out / "run"), "--no-store"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, "HFT_HOME": str(tmp_path / "home")})
    try:  # SIGKILL while the run folder is being written (its temp folder beside it, with files in it: not the
        # empty write probe the run makes and removes at its start)
        end = time.monotonic() + 300
        while not _filling(out) and p.poll() is None:
            assert time.monotonic() < end
            time.sleep(0.005)
    finally:
        p.kill()
        p.wait(10)
    stray = [x.name for x in out.iterdir()]
    assert len(stray) == 1 and stray[0].startswith(f".run.{p.pid}-"), stray
    live = temp_prefix(".run.") + "x"  # a live process's (this one's) and a name not ours stay
    for name in (live, ".run.mine"):
        (out / name).mkdir()
    r = hft("replay", "-d", str(day), "-s", "mm", "--out", str(out / "run"), "--no-store")
    assert r.code == 0, r.err
    assert sorted(x.name for x in out.iterdir()) == sorted([".run.mine", live, "run"])
    # an atomic write's temp file a dead writer left beside the output of `data import`
    dead_tmp = temp_prefix(".day.parquet.").replace(f".{os.getpid()}-", f".{_dead_pid()}-") + "x.tmp"
    (out / dead_tmp).write_text("half")
    r = hft("data", "import", str(day), "--out", str(out / "day.parquet"))
    assert r.code == 0, r.err
    assert sorted(x.name for x in out.iterdir() if x.name.startswith(".")) == sorted([".run.mine", live])


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("seed: 99999999999999999999999999\n", "key 'seed': expected an integer <= 9223372036854775807"),
    ("strategies:\n  mm: {size: 1000000000000000000000}\n", "parameter 'size': expected an integer within int64"),
    ("latency: {entry: 99999999999999h}\n", "latency.entry: expected a duration of at most"),
    ("fees: {maker_bps: .inf}\n", "key 'fees.maker_bps': expected a number, was inf"),
    ("queue_model: nope\n", "queue_model: expected 'risk_averse'"),
])
def test_replay_config_out_of_range_is_one_config_error(hft, day, tmp_path, yaml_text, expected):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    r = hft("replay", "-d", str(day), "-s", "mm", "-c", str(cfg), "--out", str(tmp_path / "run"), "--no-store")
    assert r.code == 11, r.err
    line = _one_error(r.err)
    assert line.startswith(f"error: {cfg}: ") and expected in line, line
    assert not (tmp_path / "run").exists()


def test_nan_strategy_parameter_refused(hft, day, tmp_path):
    r = hft("replay", "-d", str(day), "-s", "imbalance_taker", "--set", "strategies.imbalance_taker.threshold=.nan",
            "--out", str(tmp_path / "run"), "--no-store")
    assert r.code == 11 and "parameter 'threshold': expected a finite number, was nan" in _one_error(r.err)


def test_force_never_deletes_what_is_not_a_run_folder(hft, day, tmp_path):
    data_dir = tmp_path / "mydata"
    data_dir.mkdir()
    (data_dir / "keep.csv").write_text("precious\n")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    for target in (data_dir, a_file):
        r = hft("replay", "-d", str(day), "-s", "mm", "--out", str(target), "--force", "--no-store")
        assert r.code == 14 and "expected a run folder to replace" in _one_error(r.err), r.err
    assert (data_dir / "keep.csv").read_text() == "precious\n" and a_file.read_text() == "mine\n"
    run = tmp_path / "run"
    assert hft("replay", "-d", str(day), "-s", "mm", "--out", str(run), "--no-store").code == 0
    again = hft("replay", "-d", str(day), "-s", "mm", "--out", str(run), "--force", "--no-store")
    assert again.code == 0, again.err
    assert sorted(x.name for x in tmp_path.iterdir()) == ["mydata", "notes.txt", "run"]  # the old one not left


def test_directory_named_as_a_file_says_so(hft, tmp_path):
    r = hft("data", "verify", str(tmp_path))
    assert r.code == 12 and _one_error(r.err) == f"error: {tmp_path}: expected a market data file, was a directory"
    r = hft("replay", "-d", str(tmp_path), "-c", str(tmp_path), "--no-store")
    assert r.code == 11 and _one_error(r.err) == f"error: {tmp_path}: expected a YAML config file, was a directory"


def test_outputs_are_readable_like_any_file(hft, day, tmp_path):
    old = os.umask(0o022)
    try:
        r = hft("data", "import", str(day), "--out", str(tmp_path / "day.parquet"))
        r2 = hft("replay", "-d", str(day), "-s", "mm", "--out", str(tmp_path / "run"), "--no-store")
    finally:
        os.umask(old)
    assert r.code == 0 and r2.code == 0, r.err + r2.err
    assert (tmp_path / "day.parquet").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755


if sys.platform != "linux":  # signals as Linux delivers them
    pytestmark = pytest.mark.skip(reason="POSIX signals")
