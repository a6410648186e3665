"""`hft.core.pool.spawn_pool`: leaving the block by an exception stops the workers at once and quietly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

CALLER = textwrap.dedent("""
    import sys, time
    from hft.core.pool import spawn_pool

    def work(seconds):
        time.sleep(seconds)
        return seconds

    if __name__ == "__main__":
        try:
            with spawn_pool(2) as pool:
                futures = [pool.submit(work, s) for s in (0.2, 60, 60, 60, 60)]
                futures[0].result()
                raise KeyboardInterrupt  # Ctrl-C while one task runs and three wait
        except KeyboardInterrupt:
            print("interrupted")
""")


def test_an_interrupt_stops_running_and_pending_tasks_without_a_traceback(tmp_path):
    script = tmp_path / "caller.py"
    script.write_text(CALLER)
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "interrupted"
    assert done.stderr == ""  # no exception from the pool's manager thread, no worker traceback
    assert time.monotonic() - t0 < 50  # the 60 s task was stopped, not awaited
