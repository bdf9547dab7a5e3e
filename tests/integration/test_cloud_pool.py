#!/usr/bin/python3
"""A cloud pool behind HAProxy (pipelines/cloud-pool.sh), two sites (each a
cameras' host and an edge, their own recorded cameras) pointed at HAProxy
and at nothing else; ports chosen by the system, every process stopped by
the test.

1. Two instances, 2 x 1000 samples: each instance answers at least a
   quarter of what reaches the cloud, and every answer at each site equals
   the engine's on its own samples, once each.
2. One instance SIGKILLed mid-stream: its edge reconnects through HAProxy
   to the survivor and resends what was not acknowledged; every sample at
   each site is answered exactly once (those the dead instance took and
   never answered, by the edge itself, marked degraded).
3. The killed instance restarted on its port: HAProxy's checks take it back
   and the next connection goes to it.

Skips (77) where Debian's haproxy is not installed.

usage: test_cloud_pool.py DDNN_TOOL SOURCE_DIR BUILD_DIR"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from hosts import (announcement, answers, fail, once_each, port_of, recorded_sites,
                   start_script, stop, ws_handshake)

N = 1000
SKIP = 77


def pool_instances(log, n, proc):
    """{k: (port, pid)} of the pool's instances, from its output."""
    for _ in range(300):
        found = {int(k): (int(p), int(pid)) for k, p, pid in
                 re.findall(r"cloud (\d+) port (\d+) pid (\d+)", open(log).read())}
        if len(found) == n:
            return found
        if proc.poll() is not None:
            fail(f"the pool ended early:\n{open(log).read()[-2000:]}")
        time.sleep(0.05)
    fail("the pool's instances did not start")


def run(tool, src, build, tmp, name, model, sites, during=None):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    env = {"DDNN_TOKEN": "pool"}
    pool = start_script(src, build, "cloud-pool.sh", f"{d}/pool.log", "-n", "2", "-m", model,
                        "-o", f"{d}/pool", env=env)
    pport = port_of(f"{d}/pool.log", pool)
    instances = pool_instances(f"{d}/pool.log", 2, pool)
    edges, devices = [], []
    for site in sites:
        s = f"{d}/site{site['seed']}"
        os.makedirs(s)
        edge = start_script(src, build, "edge.sh", f"{s}/edge.log", "-u",
                            f"ws://127.0.0.1:{pport}/ddnn", "-m", model,
                            "-o", f"{s}/edge.jsonl", env=env)
        eport = port_of(f"{s}/edge.log", edge)
        devices.append(start_script(src, build, "devices.sh", f"{s}/devices.log", "-u",
                                    f"ws://127.0.0.1:{eport}/ddnn", "-d", site["video"],
                                    "-m", model, "-r", "250", "-o", f"{s}/devices.jsonl",
                                    env=env))
        edges.append(edge)
    state = {"dir": d, "pool": pool, "pport": pport, "instances": instances, "env": env}
    if during:
        during(state)
    for p in devices:
        try:
            p.wait(timeout=180)
        except subprocess.TimeoutExpired:
            fail(f"{name}: a cameras' host did not finish")
    state["edges"] = edges
    return state


def check_sites(state, sites, name, exact=True):
    for site in sites:
        s = f"{state['dir']}/site{site['seed']}"
        for where in ("edge", "devices"):
            got = answers(f"{s}/{where}.jsonl")
            once_each(got, N, f"{name}, site {site['seed']}, {where}")
            if exact:
                wrong = [k for k in site["ref"]
                         if (got[k][0]["class"], got[k][0]["tier"]) != site["ref"][k]]
                if wrong:
                    k = wrong[0]
                    fail(f"{name}, site {site['seed']}, {where}: {len(wrong)} answers differ "
                         f"from the engine's, e.g. sample {k}")


def finish(state):
    for e in state["edges"]:
        stop(e)
    stop(state["pool"])


def main():
    tool, src, build = sys.argv[1], sys.argv[2], sys.argv[3]
    if not shutil.which("haproxy"):
        print("SKIP: haproxy is not installed (Debian's haproxy package)")
        sys.exit(SKIP)
    model = os.path.join(src, "models", "fmv6-binary.safetensors")
    model_id = json.loads(subprocess.run([tool, "inspect", "--json", model], check=True,
                                         capture_output=True, text=True).stdout)["model_id"]
    with tempfile.TemporaryDirectory() as tmp:
        sites = recorded_sites(tool, model, tmp, N, (1, 2))
        done = []

        # 1. two instances share the load
        state = run(tool, src, build, tmp, "balanced", model, sites)
        finish(state)
        check_sites(state, sites, "balanced")
        counts = [len(open(f"{state['dir']}/pool/cloud{k}.jsonl").read().splitlines())
                  for k in (1, 2)]
        if min(counts) < sum(counts) / 4:
            fail(f"balanced: the instances answered {counts}: one took less than a quarter")
        done.append(f"two instances answered {counts[0]} and {counts[1]} samples")

        # 2. one instance killed mid-stream; 3. restarted, it takes connections
        def kill_and_restart(st):
            time.sleep(1.5)
            port, pid = st["instances"][1]
            os.kill(pid, signal.SIGKILL)
            st["killed_at"] = time.time()

        state = run(tool, src, build, tmp, "killed", model, sites, during=kill_and_restart)
        check_sites(state, sites, "killed", exact=False)
        degraded = sum(1 for site in sites for rs in answers(
            f"{state['dir']}/site{site['seed']}/devices.jsonl").values() if rs[0]["degraded"])
        port, _ = state["instances"][1]
        again = start_script(src, build, "cloud.sh", f"{state['dir']}/again.log", "-p", str(port),
                             "-m", model, "-o", f"{state['dir']}/again.jsonl", env=state["env"])
        port_of(f"{state['dir']}/again.log", again)
        time.sleep(1.5)  # HAProxy's checks, every 0.5 s, take it back
        s, status = ws_handshake(state["pport"], "pool",
                                 announcement(model_id, -1, features="bits:48x8x8",
                                              peer="newcomer", session="s-new",
                                              heartbeat=1000))
        if " 101 " not in status + " ":
            fail(f"restarted: a new link through HAProxy was refused: {status}")
        until = time.time() + 5
        while "newcomer" not in open(f"{state['dir']}/again.log").read() and time.time() < until:
            time.sleep(0.1)
        took = "newcomer" in open(f"{state['dir']}/again.log").read()
        s.close()
        stop(again)
        finish(state)
        if not took:
            fail("restarted: the new connection did not go to the restarted instance")
        done.append(f"one instance killed mid-stream: every sample answered once at both "
                    f"sites ({degraded} of them degraded by the edge); restarted, it took the "
                    f"next connection")
        print("ok: " + "; ".join(done))


if __name__ == "__main__":
    main()
