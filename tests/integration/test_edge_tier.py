#!/usr/bin/python3
"""All three exits across processes: a cameras' host, an edge that runs the
model's edge section with its own exit (pipelines/edge.sh on a model with an
edge section), and a cloud pool behind HAProxy (pipelines/cloud-pool.sh -n
2).  The model is an untrained FMV-6 network with device, edge and cloud
sections (tests/integration/edge-fmv6-arch.json, `ddnn init`); the
thresholds are chosen from the engine's own entropies so that about a third
of the samples exits at each tier.  Every answer, as the edge and as the
cameras' host learn it, equals `ddnn run`'s at the same thresholds (class
and tier), once each, and every tier answers some.

Skips (77) where Debian's haproxy is not installed.

usage: test_edge_tier.py DDNN_TOOL SOURCE_DIR BUILD_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from hosts import answers, engine_answers, fail, once_each, port_of, start_script, stop

N = 300


def engine(tool, model, data, *args):
    out = subprocess.run([tool, "run", model, "--data", data, "--json", "-n", str(N), *args],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def between(values, k):
    """A threshold halfway between the k-th and (k+1)-th smallest values."""
    v = sorted(values)
    return (v[k] + v[k + 1]) / 2


def main():
    tool, src, build = sys.argv[1], sys.argv[2], sys.argv[3]
    if not shutil.which("haproxy"):
        print("SKIP: haproxy is not installed (Debian's haproxy package)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        data, video = os.path.join(tmp, "fmv6"), os.path.join(tmp, "video")
        model = os.path.join(tmp, "edge.safetensors")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1", "--limit", str(N),
                        "--video", video], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([tool, "init", "--arch",
                        os.path.join(src, "tests", "integration", "edge-fmv6-arch.json"),
                        "--out", model], check=True, stdout=subprocess.DEVNULL)
        first = engine(tool, model, data)
        t = between([r["local_entropy"] for r in first], N // 3)
        rest = [r["edge_entropy"] for r in first if r["local_entropy"] >= t]
        e = between(rest, len(rest) // 2)
        ref = engine_answers(tool, model, data, N, "-t", repr(t), "-e", repr(e))

        env = {"DDNN_TOKEN": "tiers"}
        pool = start_script(src, build, "cloud-pool.sh", f"{tmp}/pool.log", "-n", "2",
                            "-m", model, "-o", f"{tmp}/pool", env=env)
        pport = port_of(f"{tmp}/pool.log", pool)
        edge = start_script(src, build, "edge.sh", f"{tmp}/edge.log", "-u",
                            f"ws://127.0.0.1:{pport}/ddnn", "-m", model, "-t", repr(t),
                            "-e", repr(e), "-o", f"{tmp}/edge.jsonl", env=env)
        eport = port_of(f"{tmp}/edge.log", edge)
        devices = start_script(src, build, "devices.sh", f"{tmp}/devices.log", "-u",
                               f"ws://127.0.0.1:{eport}/ddnn", "-d", video, "-m", model,
                               "-o", f"{tmp}/devices.jsonl", env=env)
        try:
            devices.wait(timeout=180)
        except subprocess.TimeoutExpired:
            fail("the cameras' host did not finish")
        stop(edge)
        stop(pool)

        for where in ("edge", "devices"):
            got = answers(f"{tmp}/{where}.jsonl")
            once_each(got, N, where)
            wrong = [s for s in ref if (got[s][0]["class"], got[s][0]["tier"]) != ref[s]]
            if wrong:
                s = wrong[0]
                fail(f"{where}: {len(wrong)} answers differ from the engine's, e.g. sample "
                     f"{s}: {(got[s][0]['class'], got[s][0]['tier'])} against {ref[s]}")
        by_tier = {}
        for answer, tier in ref.values():
            by_tier[tier] = by_tier.get(tier, 0) + 1
        if sorted(by_tier) != ["cloud", "device", "edge"]:
            fail(f"not every tier answered: {by_tier}")
        print(f"ok: {N} samples through cameras, an edge with its exit and a pool of two "
              f"clouds: {by_tier}, every answer equal to the engine's, once each")


if __name__ == "__main__":
    main()
