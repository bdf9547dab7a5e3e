"""What the multi-process tests share: waiting for a server's port, stopping
a process group, and reading answers (JSON lines)."""
import json
import os
import re
import signal
import subprocess
import sys
import time


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def port_of(log, proc):
    """The port in the "ddnn-listening" message that @proc prints to @log."""
    for _ in range(300):
        m = re.search(r"ddnn-listening, port=\(int\)(\d+)", open(log).read())
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            fail(f"{log} ended early:\n{open(log).read()[-2000:]}")
        time.sleep(0.05)
    fail(f"no server started in {log}")


def stop(proc, sig=signal.SIGINT, timeout=60):
    """Signals @proc's process group; fails if it does not end in time."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        fail(f"a process did not stop within {timeout} s of signal {sig}")


def answers(path):
    """sample -> the answers given for it, in order."""
    got = {}
    if os.path.exists(path):
        for line in open(path):
            r = json.loads(line)
            got.setdefault(r["sample"], []).append(r)
    return got


def once_each(got, n, where):
    missing = [s for s in range(n) if s not in got]
    twice = [s for s in got if len(got[s]) > 1]
    if missing or twice:
        fail(f"{where}: {len(missing)} samples without an answer (e.g. {missing[:3]}), "
             f"{len(twice)} answered more than once (e.g. {twice[:3]})")
