#!/usr/bin/python3
"""The cloud pool's throughput: samples/s answered by 1 and by 2 cloud
instances behind HAProxy (pipelines/cloud-pool.sh), in one run.

Method: four edges are stood for by four WebSocket connections (two client
processes of two each), through HAProxy, each announcing fused samples of
fmv6-binary (48x8x8 1-bit features, 384 B) and keeping 64 samples in
flight: a new one goes as each answer comes.  The cloud section is then
the only work on the way (the clients send ready-made frames).  After 1 s
of warm-up, the answers of the next 4 s are counted; samples/s is their
number over the time.  The same is done with 1 and 2 instances, one after
the other.  On a machine of 2 cores the client processes (Python) take
part of the CPU the instances would use, which is where 2 instances stop.

usage: bench_pool.py BUILD_DIR SOURCE_DIR"""
import json
import multiprocessing
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from hosts import announcement, link_frame, port_of, start_script, stop, ws_handshake  # noqa

WINDOW, WARMUP, SPAN = 64, 1.0, 4.0


def ws_frame(payload):
    """A masked binary message, mask 0 (the payload as it is)."""
    n = len(payload)
    head = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else
                            bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    return head + bytes(4) + payload


def client(port, model_id, index, out):
    conns = []
    for c in range(2):
        s, status = ws_handshake(port, "bench", announcement(
            model_id, -1, features="bits:48x8x8", peer=f"bench{index}{c}",
            session=f"s{index}{c}-{os.getpid()}", heartbeat=0))
        if " 101 " not in status + " ":
            out.put(("error", status))
            return
        s.setblocking(False)
        conns.append({"s": s, "next": 1, "flight": 0, "buf": b""})
    start = time.time()
    counted = 0
    while time.time() - start < WARMUP + SPAN:
        # wait for answers rather than spin: the instances need the cores
        select.select([c["s"] for c in conns if c["flight"] >= WINDOW] or
                      [c["s"] for c in conns], [], [], 0.1)
        for c in conns:
            while c["flight"] < WINDOW:
                f = link_frame(-1, c["next"], features=bytes(384), view_mask=0x3f,
                               previous=c["next"] - 1)
                c["s"].sendall(ws_frame(f))
                c["next"] += 1
                c["flight"] += 1
            try:
                c["buf"] += c["s"].recv(65536)
            except BlockingIOError:
                continue
            buf = c["buf"]
            while len(buf) >= 2:
                n, i = buf[1] & 0x7f, 2
                if n == 126:
                    n, i = int.from_bytes(buf[2:4], "big"), 4
                if len(buf) < i + n:
                    break
                if buf[i:i + 7] == b"answer ":
                    c["flight"] -= 1
                    if time.time() - start >= WARMUP:
                        counted += 1
                buf = buf[i + n:]
            c["buf"] = buf
    out.put(("answers", counted))


def measure(build, src, model, model_id, k):
    env = {"DDNN_TOKEN": "bench"}
    log = f"/tmp/bench-pool-{os.getpid()}-{k}.log"
    pool = start_script(src, build, "cloud-pool.sh", log, "-n", str(k), "-m", model,
                        "-o", f"/tmp/bench-pool-{os.getpid()}-{k}", env=env)
    port = port_of(log, pool)
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client, args=(port, model_id, i, out))
             for i in range(2)]
    for p in procs:
        p.start()
    total = 0
    for _ in procs:
        kind, value = out.get(timeout=60)
        if kind == "error":
            sys.exit(f"bench_pool: a connection was refused: {value}")
        total += value
    for p in procs:
        p.join()
    stop(pool)
    return total / SPAN


def main():
    build, src = sys.argv[1], sys.argv[2]
    model = os.path.join(src, "models", "fmv6-binary.safetensors")
    model_id = json.loads(subprocess.run([os.path.join(build, "tools", "ddnn"), "inspect",
                                          "--json", model], check=True, capture_output=True,
                                         text=True).stdout)["model_id"]
    one = measure(build, src, model, model_id, 1)
    two = measure(build, src, model, model_id, 2)
    print(f"# cloud pool behind HAProxy, fmv6-binary's cloud, 4 connections x {WINDOW} "
          f"samples in flight, answers counted over {SPAN:.0f} s")
    print(f"{'instances':<12} {'samples/s':>10}")
    print(f"{1:<12} {one:>10.0f}")
    print(f"{2:<12} {two:>10.0f}   {two / one:.2f}x (goal >= 1.6x)")


if __name__ == "__main__":
    main()
