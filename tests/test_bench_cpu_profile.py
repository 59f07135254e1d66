"""``bench.cpu_profile``: the sampler the load benchmark runs its nodes under, counting by CPU time."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bench import cpu_profile_report
from tests.support.processes import ROOT, clean_env

PROGRAM = '''
import sys, time

def spin_for(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass

def wait_for(seconds):
    time.sleep(seconds)

if __name__ == "__main__":
    print("ready", flush=True)
    sys.stdin.readline()  # the test has started the sampler
    wait_for(float(sys.argv[1]))
    spin_for(float(sys.argv[2]))
    print("done", flush=True)
    sys.stdin.readline()  # the test stops the sampler, or closes stdin to exit while sampling
'''


def _start(tmp_path: Path, sleep_s: float, spin_s: float) -> subprocess.Popen[str]:
    (tmp_path / "burner.py").write_text(PROGRAM)
    proc = subprocess.Popen([sys.executable, "-m", "bench.cpu_profile", str(tmp_path / "out"), "-m", "burner",
                             str(sleep_s), str(spin_s)], cwd=ROOT, env=clean_env(PYTHONPATH=f"{tmp_path}:{ROOT}"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGUSR2)
    time.sleep(0.2)  # the handler runs at the program's next bytecode
    return proc


def _selfs(path: Path) -> Counter[str]:
    own: Counter[str] = Counter()
    for frames, n in cpu_profile_report.read_folded([path]).items():
        own[frames[-1].split(" ")[0]] += n
    return own


@pytest.mark.timeout(60)
def test_samples_count_cpu_time_not_waiting(tmp_path: Path) -> None:
    """A program that sleeps 1.5 s and then burns 0.6 s of CPU: about 600 ms sampled, nearly all in the burning
    function, none in the sleep (a wall-clock sampler would give the sleep most of it)."""
    proc = _start(tmp_path, 1.5, 0.6)
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.stdout is not None and proc.stdout.readline() == "done\n"
    proc.send_signal(signal.SIGUSR1)
    out = tmp_path / "out" / f"cpu-{proc.pid}.folded"
    for _ in range(100):
        if out.exists():
            break
        time.sleep(0.1)
    proc.communicate("\n", timeout=10)
    own = _selfs(out)
    cpu_us = sum(own.values())  # the file's weights are microseconds of CPU
    assert 550_000 <= cpu_us <= 800_000, own
    assert own["spin_for"] >= 0.9 * cpu_us, own
    assert own["wait_for"] <= 0.02 * cpu_us, own
    stack = next(iter(cpu_profile_report.read_folded([out])))  # outermost first, the file's name and line kept
    assert stack[-1].startswith("spin_for (") and "burner.py:" in stack[-1]
    assert any(f.startswith("<module> (") and "burner.py" in f for f in stack[:-1])  # its callers are kept


@pytest.mark.timeout(60)
def test_a_program_that_exits_while_sampling_writes_its_samples(tmp_path: Path) -> None:
    proc = _start(tmp_path, 0.0, 0.3)
    proc.communicate("\n\n", timeout=20)  # no SIGUSR1: the program ends with the sampler running
    assert proc.returncode == 0
    own = _selfs(tmp_path / "out" / f"cpu-{proc.pid}.folded")
    assert own["spin_for"] >= 250_000, own


def test_the_summary_merges_nodes_and_shares_self_total_and_packages(tmp_path: Path) -> None:
    """Two nodes' files merge; self is the innermost frame, total counts a frame once per sample (recursion
    included) and leaves out the entry point under all of it, packages come from the frame's file."""
    main = "main (delete_api/cli.py:1)"
    loop = "run (asyncio/runners.py:1)"
    handle = "handle (realtime/commands.py:10)"
    query = "fetch (sqlalchemy/engine/base.py:5)"
    collect = "collect (gc.py:3)"
    (tmp_path / "a.folded").write_text(f"{main};{loop};{handle};{query} 6000\n{main};{loop};{handle} 2000\n")
    (tmp_path / "b.folded").write_text(f"{main};{loop};{handle};{query} 1000\n{main};{loop};{handle};{handle} 1000\n"
                                       f"{main};{collect} 10000\nnot a line\n")
    summary = cpu_profile_report.summary(cpu_profile_report.read_folded([tmp_path / "a.folded",
                                                                         tmp_path / "b.folded"]))
    assert summary["cpu_ms"] == 20.0 and summary["stacks"] == 4
    assert [(r["name"], r["cpu_ms"], r["percent"]) for r in summary["self"]] == [
        (collect, 10.0, 50.0), (query, 7.0, 35.0), (handle, 3.0, 15.0)]
    assert {r["name"]: r["cpu_ms"] for r in summary["total"]} == {loop: 10.0, handle: 10.0, collect: 10.0,
                                                                  query: 7.0}
    assert {r["name"]: r["percent"] for r in summary["packages"]} == {"gc": 50.0, "sqlalchemy": 35.0,
                                                                      "realtime": 15.0}
    text = "\n".join(cpu_profile_report.markdown(summary))
    assert "| `fetch (sqlalchemy/engine/base.py:5)` | 35.0 | 7.0 |" in text
