#!/usr/bin/python3
"""Cameras, edge and cloud in three network namespaces joined by veth pairs
(10.77.1.0/24 cameras-edge, 10.77.2.0/24 edge-cloud), with tc netem adding
5 % loss and 50 ms delay on both links: every one of 300 recorded samples is
answered, once, at the edge and at the cameras' host.  Then the same with
the cameras' link cut (its veth down) for 5 s mid-stream: heartbeats find
the dead link, the cameras reconnect when it is back and resend, and every
sample is still answered once.

Needs root (CAP_NET_ADMIN); without it the test is skipped with a message.
Where the kernel has no netem qdisc the namespaces run without loss and
delay, and the test says so.

usage: test_netns.py DDNN_TOOL SOURCE_DIR BUILD_DIR"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from hosts import answers, fail, once_each, port_of, started, stop

SKIP = 77
NS = [f"ddnn-{os.getpid()}-{name}" for name in ("cam", "edge", "cloud")]


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)




def cleanup():
    for ns in NS:
        sh("ip", "netns", "del", ns, check=False)


def setup():
    cam, edge, cloud = NS
    for ns in NS:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    tag = str(os.getpid() % 100000)
    links = [(cam, "10.77.1.1", edge, "10.77.1.2"), (edge, "10.77.2.1", cloud, "10.77.2.2")]
    global CAM_DEV
    CAM_DEV = f"da{tag}0"
    netem = True
    for i, (a, aa, b, ba) in enumerate(links):
        va, vb = f"da{tag}{i}", f"db{tag}{i}"
        sh("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
        sh("ip", "link", "set", va, "netns", a)
        sh("ip", "link", "set", vb, "netns", b)
        sh("ip", "-n", a, "addr", "add", aa + "/24", "dev", va)
        sh("ip", "-n", b, "addr", "add", ba + "/24", "dev", vb)
        sh("ip", "-n", a, "link", "set", va, "up")
        sh("ip", "-n", b, "link", "set", vb, "up")
        for ns, dev in ((a, va), (b, vb)):
            r = sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root",
                   "netem", "delay", "50ms", "loss", "5%", check=False)
            if r.returncode != 0:
                netem = False
    return netem


def start(ns, script, log, *args):
    """Starts a pipeline script in a namespace; "-k TOKEN" goes in the
    environment (DDNN_TOKEN), as the scripts take no token on the command
    line."""
    env = dict(os.environ, BUILD=BUILD)
    args = list(args)
    if "-k" in args:
        i = args.index("-k")
        env["DDNN_TOKEN"] = args[i + 1]
        del args[i:i + 2]
    return started(subprocess.Popen(["ip", "netns", "exec", ns, os.path.join(SRC, "pipelines", script),
                                     *args], stdout=open(log, "w"),
                                    stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True))








def main():
    global SRC, BUILD
    tool, SRC, BUILD = sys.argv[1], sys.argv[2], sys.argv[3]
    if not shutil.which("ip"):
        print("SKIP: no ip command (Debian's iproute2) to make network namespaces")
        sys.exit(SKIP)
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root (CAP_NET_ADMIN)")
        sys.exit(SKIP)
    try:
        if sh("ip", "netns", "add", NS[0], check=False).returncode != 0:
            print("SKIP: cannot make network namespaces here")
            sys.exit(SKIP)
        sh("ip", "netns", "del", NS[0])
        netem = setup()
        if not netem:
            print("note: this kernel has no netem qdisc: the links run without "
                  "loss and delay")
        run(tool, netem)
    finally:
        cleanup()


def run(tool, netem):
    model = os.path.join(SRC, "models", "fmv6-binary.safetensors")
    n = 300
    for cut in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            one_run(tool, netem, model, n, tmp, cut)


def one_run(tool, netem, model, n, tmp, cut):
    data, video = os.path.join(tmp, "fmv6"), os.path.join(tmp, "video")
    subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1", "--limit", str(n),
                    "--video", video], check=True, stdout=subprocess.DEVNULL)
    cam, edge_ns, cloud_ns = NS
    cloud = start(cloud_ns, "cloud.sh", f"{tmp}/cloud.log", "-a", "10.77.2.2", "-k", "t",
                  "-m", model)
    cport = port_of(f"{tmp}/cloud.log", cloud)
    edge = start(edge_ns, "edge.sh", f"{tmp}/edge.log", "-a", "10.77.1.2", "-k", "t",
                 "-u", f"ws://10.77.2.2:{cport}/ddnn", "-m", model, "-w", "2000",
                 "-T", "5000", "-o", f"{tmp}/edge.jsonl")
    eport = port_of(f"{tmp}/edge.log", edge)
    devs = start(cam, "devices.sh", f"{tmp}/devices.log", "-u",
                 f"ws://10.77.1.2:{eport}/ddnn", "-d", video, "-k", "t", "-m", model,
                 "-T", "15000", "-r", "100", "-o", f"{tmp}/devices.jsonl")
    if cut:
        time.sleep(1.0)
        sh("ip", "-n", cam, "link", "set", CAM_DEV, "down")
        time.sleep(5.0)
        sh("ip", "-n", cam, "link", "set", CAM_DEV, "up")
    try:
        devs.wait(timeout=240)
    except subprocess.TimeoutExpired:
        stop(devs, signal.SIGKILL)
        fail("the cameras' host did not finish")
    stop(edge)
    stop(cloud)
    for where in ("edge", "devices"):
        once_each(answers(f"{tmp}/{where}.jsonl"), n, where)
    got = answers(f"{tmp}/edge.jsonl")
    degraded = sum(1 for s in got if got[s][0]["degraded"])
    resent = sum(int(m) for m in re.findall(r"resent=\(guint64\)(\d+)",
                                              open(f"{tmp}/devices.log").read()))
    if cut and not resent:
        fail("the cameras' link was cut, yet no frame was sent again")
    print(f"{n} samples across three namespaces{' with 5 % loss and 50 ms delay' if netem else ''}"
          f"{', the cameras cut off for 5 s' if cut else ''}: every one answered once "
          f"({degraded} degraded, {resent} frames resent)")


if __name__ == "__main__":
    main()
