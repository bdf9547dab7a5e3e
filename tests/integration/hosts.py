"""What the multi-process tests share: waiting for a server's port, stopping
a process group, and reading answers (JSON lines)."""
import atexit
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


_started = []


def _stop_all():
    """At exit, a test that failed half-way leaves no process behind."""
    for proc in _started:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass


atexit.register(_stop_all)


def started(proc):
    """Remembers @proc (a process group leader) to be killed at exit."""
    _started.append(proc)
    return proc


def start_script(src, build, script, log, *args, env=None, preexec_fn=None):
    """Starts pipelines/SCRIPT in a process group of its own, output to LOG."""
    e = dict(os.environ, BUILD=build, **(env or {}))
    return started(subprocess.Popen([os.path.join(src, "pipelines", script), *args],
                                    stdout=open(log, "w"), stderr=subprocess.STDOUT, env=e,
                                    start_new_session=True, preexec_fn=preexec_fn))


def clock_port_of(log, proc):
    """The shared clock's UDP port in the "ddnn-listening" message."""
    port_of(log, proc)
    m = re.search(r"ddnn-listening.*clock-port=\(int\)(-?\d+)", open(log).read())
    return int(m.group(1)) if m else -1


# --- a bare link client, for peers that break the rules ---------------------

import struct
import zlib


def announcement(model_id, view, classes=10, scores="int8", features="bits:8x8x8",
                 peer="hostile", session="s1", protocol=2, heartbeat=0):
    """The upgrade headers a ddnnsink sends (plugins/ddnnnet/gstddnnnet.h)."""
    return {"X-Ddnn-Protocol": str(protocol), "X-Ddnn-Peer": peer,
            "X-Ddnn-Session": session, "X-Ddnn-Model": model_id[:16],
            "X-Ddnn-View": "fused" if view < 0 else str(view),
            "X-Ddnn-Classes": str(classes), "X-Ddnn-Scores": scores,
            "X-Ddnn-Features": features, "X-Ddnn-Heartbeat": str(heartbeat)}


def ws_handshake(port, token=None, headers=None, timeout=10, rcvbuf=None):
    """Opens a socket and sends the upgrade request; gives (socket, status line)."""
    import socket
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    req = ("GET /ddnn HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n")
    if token is not None:
        req += f"Authorization: Bearer {token}\r\n"
    for k, v in (headers or {}).items():
        req += f"{k}: {v}\r\n"
    s.sendall((req + "\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    return s, reply.split(b"\r\n")[0].decode(errors="replace")


def ws_send(s, payload, claimed=None, opcode=0x2):
    """One masked frame; @claimed overrides the length announced."""
    n = len(payload) if claimed is None else claimed
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    mask = b"\x01\x02\x03\x04"
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def ws_messages(s, seconds):
    """Text messages the server sends within @seconds (until it closes)."""
    import socket
    s.settimeout(0.2)
    data, out, end = b"", [], time.time() + seconds
    while time.time() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    while len(data) >= 2:
        op, n, i = data[0] & 0x0f, data[1] & 0x7f, 2
        if n == 126:
            n, i = int.from_bytes(data[2:4], "big"), 4
        elif n == 127:
            n, i = int.from_bytes(data[2:10], "big"), 10
        if len(data) < i + n:
            break
        if op == 1:
            out.append(data[i:i + n].decode(errors="replace"))
        data = data[i + n:]
    return out


def closed_by_server(s, timeout=10):
    """True when the server closes: a close frame, or the end of the stream."""
    import socket
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return True
            data += chunk
            # text frames (acks, beats) may come first; a close frame is 0x88
            if b"\x88" in data:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def frame(model_id, view, sample, classes=10, features=None, view_mask=None,
          shape=(8, 8, 8), dtype=3):
    """A v1 wire frame (gst/gstddnnframe.h) with int8 scores and, if given,
    features (@dtype 1 f32, 2 i8, 3 bits, with @shape)."""
    payload = bytes(classes) + struct.pack("<e", 1.0)
    dims = len(shape) if features is not None else 0
    if features is not None:
        payload += features
    flags = 0x04
    mask = view_mask if view_mask is not None else (1 << view if view >= 0 else 1)
    head = b"DN" + bytes([1, flags, 0, 255 if view < 0 else view,
                          dtype if features is not None else 0, dims])
    head += struct.pack("<QQQQ", sample, 0, 0, mask)
    head += bytes.fromhex(model_id[:16])
    head += struct.pack("<fH", 1.0, classes)
    shp = list(shape if features is not None else ()) + [0] * (3 - dims)
    head += struct.pack("<HHH", *shp)
    crc = zlib.crc32(head + payload) & 0xffffffff
    return head + struct.pack("<I", crc) + payload


def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7f) | 0x80])
        v >>= 7
    return out + bytes([v])


def link_frame(view, sample, classes=10, features=None, view_mask=None, dtype=3,
               previous=0):
    """A link frame (gst/gstddnnlinkframe.h) with int8 scores and, if given,
    features of the dtype and shape the handshake announced; @previous is
    the connection's previous sample number (0 on a new connection)."""
    flags = 0x20 if features is not None else 0
    delta = (sample - previous) % 2**64
    if delta >= 2**63:
        delta -= 2**64
    out = bytes([flags]) + varint(((delta << 1) ^ (delta >> 63)) % 2**64)
    if view < 0:
        out += varint(view_mask if view_mask is not None else 1)
        if features is not None:
            out += bytes([dtype - 1])
    out += bytes(classes) + struct.pack("<e", 1.0)
    return out + (features or b"")


TIERS = {"local": "device", "edge": "edge", "cloud": "cloud"}


def engine_answers(tool, model, data, n, *args):
    """sample -> (class, tier) that `ddnn run` gives on the first @n test
    samples of @data, its tiers named as the elements' results name them."""
    out = subprocess.run([tool, "run", model, "--data", data, "--json", "-n", str(n), *args],
                         check=True, capture_output=True, text=True).stdout
    return {r["sample"]: (r["answer"], TIERS[r["tier"]])
            for r in (json.loads(line) for line in out.splitlines())}


def recorded_sites(tool, model, tmp, n, seeds):
    """For each seed, a site: @n recorded FMV-6 samples (a data set of that
    seed and its videos) and the engine's answers on them."""
    sites = []
    for seed in seeds:
        data, video = os.path.join(tmp, f"fmv6-{seed}"), os.path.join(tmp, f"video-{seed}")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", str(seed),
                        "--limit", str(n), "--video", video], check=True,
                       stdout=subprocess.DEVNULL)
        sites.append({"seed": seed, "video": video,
                      "ref": engine_answers(tool, model, data, n)})
    return sites


def safetensors(path):
    """A safetensors file's header (names to dtype, shape, offsets, and
    __metadata__) and the bytes of each tensor, by name."""
    import struct
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = {k: raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
            for k, v in header.items() if k != "__metadata__"}
    return header, data


def topology(path):
    """The topology string a model file stores."""
    return safetensors(path)[0]["__metadata__"]["topology"]


def video_to_pictures(video, folder, pattern="%05d.png"):
    """Writes every frame of a recorded camera (Matroska) as a PNG picture,
    by GStreamer's pngenc, into @folder (made)."""
    os.makedirs(folder, exist_ok=True)
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={video}", "!",
                    "matroskademux", "!", "pngenc", "!", "multifilesink",
                    f"location={folder}/{pattern}"], check=True)
