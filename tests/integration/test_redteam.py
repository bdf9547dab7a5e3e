#!/usr/bin/python3
"""The red team: each attack on the link, replayed against a running edge and
cloud (pipelines/edge.sh and cloud.sh, the edge under a 1024-fd limit) while
a legitimate camera streams.  The camera must get every one of its answers
from the edge, none degraded; each attacker must be refused or
disconnected, and counted in the source's stats.

Attacks: a frame of another model (and an announcement of one); a frame of
a bad shape (and an announcement of one); a huge sample number; a view-mask
grab (at the edge a view held by the camera, a fused frame on a camera's
link, and at the cloud a fused frame claiming every view); 1000 tokenless
connections at once; 200 slowloris connections; a peer that never reads.
Then, on the camera's side: a bad CA file fails at start with an error, and
a wrong token shows up as a warning.

usage: test_redteam.py DDNN_TOOL SOURCE_DIR BUILD_DIR"""
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

from hosts import (announcement, answers, closed_by_server, fail, link_frame, once_each, port_of,
                   start_script, stop, ws_handshake, ws_messages, ws_send)

N = 1000
TOKEN = "redteam-token"


def fd_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def close_wait(port):
    """Server sockets of @port in CLOSE-WAIT (state 08 in /proc/net/tcp)."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(path):
            continue
        for line in open(path).readlines()[1:]:
            f = line.split()
            if int(f[1].split(":")[1], 16) == port and f[3] == "08":
                n += 1
    return n


def stats(log, name):
    """The last stats structure NAME posted in LOG, as a dict of ints."""
    lines = [l for l in open(log).read().splitlines() if name in l]
    if not lines:
        fail(f"no {name} in {log}")
    return {k: int(v) for k, v in re.findall(r"([a-z-]+)=\(guint64\)(\d+)", lines[-1])}


def refused(port, headers, token=TOKEN, want="409"):
    s, status = ws_handshake(port, token, headers)
    s.close()
    if f" {want} " not in status + " ":
        fail(f"announcement {headers} got '{status}', not {want}")
    return status


def accepted(port, headers, token=TOKEN, **kw):
    s, status = ws_handshake(port, token, headers, **kw)
    if " 101 " not in status + " ":
        fail(f"announcement {headers} refused: {status}")
    return s


def main():
    tool, src, build = sys.argv[1], sys.argv[2], sys.argv[3]
    model = os.path.join(src, "models", "fmv6-binary.safetensors")
    model_id = json.loads(subprocess.run([tool, "inspect", "--json", model], check=True,
                                         capture_output=True, text=True).stdout)["model_id"]
    other_id = "0123456789abcdef" + model_id[16:]
    env = {"DDNN_TOKEN": TOKEN}
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    with tempfile.TemporaryDirectory() as tmp:
        data, video = os.path.join(tmp, "fmv6"), os.path.join(tmp, "video")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1", "--limit", str(N),
                        "--video", video], check=True, stdout=subprocess.DEVNULL)
        cloud = start_script(src, build, "cloud.sh", f"{tmp}/cloud.log", "-m", model,
                             "-o", f"{tmp}/cloud.jsonl", env=env)
        cport = port_of(f"{tmp}/cloud.log", cloud)
        edge = start_script(src, build, "edge.sh", f"{tmp}/edge.log", "-u",
                            f"ws://127.0.0.1:{cport}/ddnn", "-m", model, "-w", "300",
                            "-T", "5000", "-o", f"{tmp}/edge.jsonl", env=env,
                            preexec_fn=fd_limit)
        eport = port_of(f"{tmp}/edge.log", edge)
        rss0 = rss_mb(edge.pid)
        camera = start_script(src, build, "devices.sh", f"{tmp}/camera.log", "-u",
                              f"ws://127.0.0.1:{eport}/ddnn", "-d", video, "-m", model,
                              "-c", "0", "-r", "50", "-T", "20000",
                              "-o", f"{tmp}/camera.jsonl", env=env)
        time.sleep(1.5)
        done = []

        # another model: refused at the door, or disconnected on its frame
        status = refused(eport, announcement(other_id, 1))
        if model_id[:16] not in status or other_id[:16] not in status:
            fail(f"another model: the refusal does not name both models: {status}")
        s = accepted(eport, announcement(model_id, 1, session="other-model"))
        # (a link frame names no model: the handshake did; a frame that
        # does not decode as this model's is the same as a bad shape)
        ws_send(s, link_frame(1, 5, classes=7, features=bytes(64)))
        if not closed_by_server(s):
            fail("another model's frame: the peer was not disconnected")
        done.append("another model (refused: '%s'; a frame of other classes: "
                    "disconnected)" % status)

        # bad shapes
        refused(eport, announcement(model_id, 1, features="bits:4x4x4"))
        s = accepted(eport, announcement(model_id, 1, session="bad-shape"))
        ws_send(s, link_frame(1, 5, features=bytes(8)))
        if not closed_by_server(s):
            fail("bad shape: the peer was not disconnected")
        done.append("bad shape (announced: 409; sent: disconnected)")

        # a huge sample number on a free view
        s = accepted(eport, announcement(model_id, 4, session="huge"))
        ws_send(s, link_frame(4, 2**64 - 1, features=bytes(64)))
        time.sleep(1.0)
        s.close()
        done.append("sample 2^64-1 (dropped by the aggregator's window)")

        # view-mask grabs
        status = refused(eport, announcement(model_id, 0, session="grab"))
        if "held by another camera" not in status:
            fail(f"view grab: {status}")
        s = accepted(eport, announcement(model_id, 2, session="grab2"))
        ws_send(s, link_frame(-1, 7, features=bytes(384), view_mask=2**64 - 1))
        if not closed_by_server(s):
            fail("view grab: a fused frame on a camera's link was not refused")
        s = accepted(cport, announcement(model_id, -1, features="bits:48x8x8",
                                         session="grab3"))
        ws_send(s, link_frame(-1, 123456789, features=bytes(384), view_mask=2**64 - 1))
        got = [m for m in ws_messages(s, 2.0) if m.startswith("answer ")]
        s.close()
        theirs = [m for m in got if json.loads(m[7:])["sample"] != 123456789]
        if theirs or len(got) > 1:
            fail(f"view grab at the cloud: the attacker read {len(theirs)} answers of others")
        done.append(f"view-mask grab (the camera's view: 409; at the cloud it got "
                    f"{len(got)} answer, its own)")

        # several link frames in one message, as a sink sends those ready
        # together: each is taken and answered; a frame cut short after a
        # good one in the same message disconnects the peer
        s = accepted(cport, announcement(model_id, -1, features="bits:48x8x8",
                                         session="batch"))
        two = (link_frame(-1, 5000, features=bytes(384), view_mask=1) +
               link_frame(-1, 5001, features=bytes(384), view_mask=1, previous=5000))
        ws_send(s, two)
        got = ws_messages(s, 2.0)
        mine = sorted(json.loads(m[7:])["sample"] for m in got if m.startswith("answer "))
        acked = [int(m[4:]) for m in got if m.startswith("ack ")]
        if mine != [5000, 5001] or not acked or max(acked) != 5001:
            fail(f"two frames in one message: answers {mine}, acks {acked}")
        ws_send(s, link_frame(-1, 5002, features=bytes(384), view_mask=1, previous=5001) +
                link_frame(-1, 5003, features=bytes(384), view_mask=1, previous=5002)[:-1])
        if not closed_by_server(s):
            fail("a message whose second frame is cut short: the peer was not disconnected")
        done.append("several frames in one message (each answered; one cut short: "
                    "disconnected)")

        # 1000 tokenless connections at once, the edge under a 1024-fd limit
        fds0 = open_fds(edge.pid)
        socks = []
        for _ in range(1000):
            c = socket.socket()
            c.settimeout(10)
            try:
                c.connect(("127.0.0.1", eport))
                c.sendall(b"GET /ddnn HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          b"Sec-WebSocket-Version: 13\r\n\r\n")
            except OSError:
                pass
            socks.append(c)
        answered = 0
        for c in socks:
            try:
                if b" 401 " in c.recv(4096):
                    answered += 1
            except OSError:
                pass
            c.close()
        time.sleep(1.0)
        fds1, waits = open_fds(edge.pid), close_wait(eport)
        if fds1 > fds0 + 10 or waits:
            fail(f"flood: the edge holds {fds1} fds (before: {fds0}), {waits} in CLOSE-WAIT")
        s = accepted(eport, announcement(model_id, 1, session="after-flood"))
        s.close()
        done.append(f"1000 tokenless connections ({answered} got 401, the rest were "
                    f"closed); fds {fds0} -> {fds1}, none in CLOSE-WAIT; a camera connects after")

        # slowloris
        slow = []
        for _ in range(200):
            c = socket.create_connection(("127.0.0.1", eport))
            c.sendall(b"GET /ddnn HTTP/1.1\r\nHost: x\r\n")
            slow.append(c)
        t0, open_ = time.time(), list(slow)
        while open_ and time.time() - t0 < 12:
            for c in list(open_):
                try:
                    c.send(b"X")
                except OSError:
                    open_.remove(c)
            time.sleep(1.0)
        for c in slow:
            c.close()
        if open_:
            fail(f"slowloris: {len(open_)} of 200 connections still open after 12 s")
        done.append(f"200 slowloris connections closed within {time.time() - t0:.0f} s")

        # a peer that never reads: one frame a millisecond, each acknowledged,
        # none of it read (a 4 KiB receive buffer)
        s = accepted(eport, announcement(model_id, 3, session="deaf", heartbeat=1000),
                     rcvbuf=4096)
        first = link_frame(3, 1, features=bytes(64))
        again = link_frame(3, 1, features=bytes(64), previous=1)
        s.sendall(bytes([0x82, 0x80 | len(first)]) + bytes(4) + first)
        msg = bytes([0x82, 0x80 | len(again)]) + bytes(4) + again
        said = re.compile(r"ddnn-peer, event=\(string\)disconnected, peer=\(string\)hostile, "
                          r"address=\(string\)127\.0\.0\.1, view=\(int\)3, "
                          r"reason=\(string\)\"it\\ does\\ not\\ read")
        sent, t0, cut, looked = 0, time.time(), None, 0.0
        s.settimeout(5)
        try:
            # until the edge says it cut the peer off (three of its beats
            # after its socket stopped taking bytes: later when the edge,
            # busy, acknowledges many frames at once); 30 s at most
            while time.time() - t0 < 30:
                s.sendall(msg)
                sent += 1
                time.sleep(0.001)
                if time.time() - looked > 0.5:
                    looked = time.time()
                    if said.search(open(f"{tmp}/edge.log").read()):
                        cut = looked - t0
                        break
        except OSError:
            pass
        until = time.time() + 5
        while cut is None and time.time() < until:
            if said.search(open(f"{tmp}/edge.log").read()):
                cut = time.time() - t0
            time.sleep(0.1)
        if cut is None:
            fail(f"never reads: the edge did not say why it disconnected the peer "
                 f"({sent} frames sent in {time.time() - t0:.0f} s)")
        time.sleep(0.5)
        rss1 = rss_mb(edge.pid)
        fds2 = open_fds(edge.pid)
        s.close()
        # the attacker cannot see the end of a connection it does not read:
        # the edge's side says it, and holds no socket for it any more
        if fds2 > fds1 + 2 or rss1 > rss0 + 150:
            fail(f"never reads: {sent} frames sent, the edge holds {fds2} fds (after the "
                 f"flood {fds1}) and grew {rss0:.0f} -> {rss1:.0f} MB")
        done.append(f"a peer that never reads: disconnected after its socket stalled "
                    f"({sent} frames sent, cut after {cut:.0f} s); edge {rss0:.0f} -> "
                    f"{rss1:.0f} MB, {fds2} fds")

        try:
            camera.wait(timeout=120)
        except subprocess.TimeoutExpired:
            fail("the camera did not finish")
        stop(edge)
        stop(cloud)
        got = answers(f"{tmp}/camera.jsonl")
        once_each(got, N, "the camera's host")
        degraded = [s for s in got if got[s][0]["degraded"]]
        if degraded:
            fail(f"the camera got {len(degraded)} degraded answers, e.g. {degraded[:5]}")
        edge_stats = stats(f"{tmp}/edge.log", "ddnn-src-stats")
        cloud_stats = stats(f"{tmp}/cloud.log", "ddnn-src-stats")
        want = {"rejected": 3, "refused": 1003, "conflicts": 1, "slow-peers": 1,
                "handshake-timeouts": 150}
        low = {k: edge_stats.get(k) for k in want if edge_stats.get(k, 0) < want[k]}
        if low:
            fail(f"the edge's stats count fewer attacks than were made: {low} in {edge_stats}")
        if "is far from the others'" not in open(f"{tmp}/edge.log").read():
            fail("huge sample number: the aggregator did not warn of it")
        warnings = len(re.findall(r"^WARNING: from element /GstPipeline:pipeline0/GstDdnnSrc",
                                  open(f"{tmp}/edge.log").read(), re.M))
        if warnings > 40:
            fail(f"the edge logged {warnings} warnings about the attackers")
        print("red team, against an edge and a cloud while a camera streamed:")
        for line in done:
            print("  -", line)
        print(f"  the camera got all {N} answers from the edge, none degraded; edge stats "
              f"{ {k: edge_stats[k] for k in want} }, cloud rejected "
              f"{cloud_stats.get('rejected')}; {warnings} warning lines")

        # the camera's side: a bad CA file, a wrong token
        t0 = time.time()
        r = subprocess.run(["gst-launch-1.0", "fakesrc", "num-buffers=1", "!", "ddnnsink",
                            "location=wss://127.0.0.1:9/ddnn", "tls-ca-file=/nonexistent"],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, GST_PLUGIN_PATH=f"{build}/plugins/ddnnnet"))
        if r.returncode == 0 or "Cannot use the TLS CA file" not in r.stdout + r.stderr:
            fail(f"bad CA file: rc {r.returncode}:\n{r.stdout[-800:]}{r.stderr[-800:]}")
        print(f"  - a bad CA file: the pipeline fails at start in {time.time() - t0:.1f} s "
              "with 'Cannot use the TLS CA file'")
        edge = start_script(src, build, "edge.sh", f"{tmp}/edge2.log", "-u",
                            "ws://127.0.0.1:9/ddnn", "-m", model, env=env)
        eport = port_of(f"{tmp}/edge2.log", edge)
        bad = start_script(src, build, "devices.sh", f"{tmp}/wrong.log", "-u",
                           f"ws://127.0.0.1:{eport}/ddnn", "-d", video, "-m", model, "-c", "1",
                           "-r", "200", "-T", "300", env={"DDNN_TOKEN": "wrong"})
        bad.wait(timeout=120)
        stop(edge, signal.SIGTERM)
        log = open(f"{tmp}/wrong.log").read()
        if not re.search(r"WARNING: from element .*refused the token", log):
            fail("wrong token: no warning on the camera's side")
        if bad.returncode != 0:
            fail(f"wrong token: the camera's pipeline ended with {bad.returncode}")
        print("  - a wrong token: a warning on the camera's bus ('The server at ... refused "
              "the token'), its answers its own")

        # TLS that fails, a server that cannot be reached: warnings with the reason
        openssl = subprocess.run(["sh", "-c", "command -v openssl"], capture_output=True,
                                 text=True).stdout.strip()
        if not openssl:
            fail("openssl is needed to make the test certificates")
        for name in ("server", "other"):
            subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", f"{tmp}/{name}.key", "-out", f"{tmp}/{name}.pem",
                            "-days", "1", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"],
                           check=True, capture_output=True)
        tls = start_script(src, build, "cloud.sh", f"{tmp}/tls.log", "-m", model,
                           "-c", f"{tmp}/server.pem", "-K", f"{tmp}/server.key", env=env)
        tport = port_of(f"{tmp}/tls.log", tls)
        for location, ca, want in ((f"wss://127.0.0.1:{tport}/ddnn", f"{tmp}/other.pem",
                                    "TLS with"),
                                   ("ws://127.0.0.1:9/ddnn", None, "Cannot reach")):
            r = subprocess.run(
                ["gst-launch-1.0", "videotestsrc", "num-buffers=3", "!",
                 "video/x-raw,format=GRAY8,width=32,height=32", "!", "ddnndevice",
                 f"model={model}", "view=0", "!", "ddnnsink", f"location={location}",
                 "timeout=300000000", *([f"tls-ca-file={ca}"] if ca else [])],
                capture_output=True, text=True, timeout=60,
                env=dict(os.environ, GST_PLUGIN_PATH=f"{build}/plugins/ddnn:{build}/plugins/ddnnnet",
                         DDNN_TOKEN=TOKEN))
            out = r.stdout + r.stderr
            if not re.search(r"WARNING: from element .*" + want, out):
                fail(f"{want}: no such warning on the bus:\n{out[-1500:]}")
        stop(tls)
        # a shared clock that does not answer: an error at start, not a hang
        for props, want in ((["clock=net", "clock-port=9"], "No answer from the time server"),
                            (["clock=ptp", "ptp-domain=77"], "No PTP master in domain 77")):
            r = subprocess.run(
                ["gst-launch-1.0", "videotestsrc", "num-buffers=3", "!",
                 "video/x-raw,format=GRAY8,width=32,height=32", "!", "ddnndevice",
                 f"model={model}", "view=0", "!", "ddnnsink", "location=ws://127.0.0.1:9/ddnn",
                 "clock-timeout=2000000000", *props],
                capture_output=True, text=True, timeout=60,
                env=dict(os.environ, GST_PLUGIN_PATH=f"{build}/plugins/ddnn:{build}/plugins/ddnnnet"))
            out = r.stdout + r.stderr
            if r.returncode == 0 or want not in out:
                fail(f"{props[0]} without a time source: rc {r.returncode}\n{out[-1000:]}")
        print("  - clock=net and clock=ptp with no time source: an error at start naming it")
        print("  - TLS with a server whose certificate the CA file does not vouch for, and "
              "a server that cannot be reached: warnings on the bus ('TLS with ... failed', "
              "'Cannot reach ...')")


if __name__ == "__main__":
    main()
