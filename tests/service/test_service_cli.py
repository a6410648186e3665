"""`hft gateway serve` / `hft gateway token` as a person runs them: bad configuration is a one-line error with the
config family's exit code; under a pseudo-terminal the server starts, prints its ready line and stops on Ctrl-C."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time

import pytest
from svckit import CONFIG, HFT, SECRET, free_port


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("HFT_DEBUG", "HFT_JWT_SECRET")}
    e.update(env)
    return subprocess.run([str(HFT), *args], capture_output=True, text=True, env=e, timeout=120)


def test_serve_without_secret_is_a_config_error(tmp_path):
    r = _run("gateway", "serve", "--config", str(CONFIG), "--port", "0", env={"HFT_HOME": str(tmp_path)})
    assert r.returncode == 11, r.stderr
    assert "server.jwt_secret" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "wal").exists()  # nothing written


def test_an_unknown_venue_adapter_is_one_line_listing_the_known_ones(tmp_path):
    r = _run("gateway", "serve", "--config", str(CONFIG), "--port", "0", "--venue", "nope",
             env={"HFT_HOME": str(tmp_path), "HFT_JWT_SECRET": SECRET})
    assert r.returncode == 11, r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: key 'venue.adapter': expected a venue adapter, one of ['loopback', 'paper', 'fix'] (built in or in the "
        "entry-point group 'hft.venues'), module:factory or FILE.py:factory, was 'nope'"]


def test_bad_env_port_and_short_secret(tmp_path):
    r = _run("gateway", "serve", "--config", str(CONFIG), env={"HFT_HOME": str(tmp_path), "HFT_JWT_SECRET": SECRET,
                                                               "HFT_GATEWAY_PORT": "http"})
    assert r.returncode == 11 and "HFT_GATEWAY_PORT" in r.stderr and "Traceback" not in r.stderr
    r = _run("gateway", "token", "me", "--account", "ACC1", "--strategy", "mm1", "--config", str(CONFIG),
             env={"HFT_JWT_SECRET": "short"})
    assert r.returncode == 11 and "HFT_JWT_SECRET" in r.stderr


def test_token_plain_and_json_carry_the_same_claims():
    """A person pastes the plain token; a script reads ``--json``: both are tokens the server's secret verifies."""
    import json

    import jwt

    env = {"HFT_JWT_SECRET": SECRET}
    plain = _run("gateway", "token", "me", "--account", "ACC1", "--strategy", "mm1", "--config", str(CONFIG), env=env)
    assert plain.returncode == 0, plain.stderr
    out = _run("gateway", "token", "me", "--account", "ACC1", "--strategy", "mm1", "--config", str(CONFIG),
               "--admin", "--json", env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["subject"] == "me" and doc["accounts"] == ["ACC1"] and doc["admin"] is True
    for tok in (plain.stdout.strip(), doc["token"]):
        claims = jwt.decode(tok, SECRET, algorithms=["HS256"])
        assert claims["sub"] == "me" and claims["accounts"] == ["ACC1"] and claims["strategies"] == ["mm1"]
    claims = jwt.decode(doc["token"], SECRET, algorithms=["HS256"])
    assert (doc["jti"], doc["exp"]) == (claims["jti"], claims["exp"])  # what a revocation names and may give


@pytest.mark.parametrize(("args", "option", "was"), [
    (("--ttl", "nan"), "--ttl", "nan"),  # was an internal ValueError
    (("--ttl", "-100"), "--ttl", "-100.0"),  # was a token expired when printed
    (("--ttl", "inf"), "--ttl", "inf"),
    (("--ttl", "0.5"), "--ttl", "0.5"),  # whole seconds: 0
    (("--account", ""), "--account", "''"),  # was a token that can trade as nothing
    (("--strategy", " "), "--strategy", "' '"),
])
def test_token_refuses_an_unusable_option(args, option, was):
    base = {"--account": "ACC1", "--strategy": "mm1", "--ttl": "60"}
    base[args[0]] = args[1]
    r = _run("gateway", "token", "me", *[x for kv in base.items() for x in kv], "--config", str(CONFIG),
             env={"HFT_JWT_SECRET": SECRET})
    assert r.returncode == 2 and r.stdout == "", (r.stdout, r.stderr)  # usage error, no token printed
    assert f"Invalid value for {option}: expected " in r.stderr and f"was {was}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


def test_serve_under_a_terminal_then_ctrl_c(tmp_path):
    port = free_port()
    env = {**os.environ, "HFT_HOME": str(tmp_path), "HFT_JWT_SECRET": SECRET}
    env.pop("HFT_DEBUG", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real console script on a terminal
        os.execve(str(HFT), [str(HFT), "gateway", "serve", "--config", str(CONFIG), "--port", str(port)], env)
    out = b""
    end = time.time() + 120
    try:
        while time.time() < end and b"listening on" not in out:
            r, _, _ = select.select([fd], [], [], 1.0)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        assert f"http://127.0.0.1:{port}".encode() in out, out
        os.kill(pid, signal.SIGINT)  # Ctrl-C
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
