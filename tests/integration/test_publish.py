#!/usr/bin/python3
"""ddnnpublish against a real MQTT broker: Debian's mosquitto, started by the
test on a port the system chose, read by mosquitto_sub (a persistent QoS 1
session, so that it misses nothing while the broker is away).

1. 500 recorded samples through the one-host pipeline, a ddnnpublish
   (method=mqtt, QoS 0) after each exit: 500 MQTT records, one per sample,
   each equal to its line in the results file, field for field.
2. The same, the broker stopped once 100 records have come and started
   again a second later, while the pipeline goes on: every record still
   arrives (the queue kept them; duplicates of unacknowledged ones are
   allowed, at-least-once), the stats say 0 dropped and a reconnection.
3. Again with max-queue=20 and the broker away for longer: what arrives
   plus what the stats count as dropped is exactly the 500 samples, and
   the element warned about the full queue.
4. A broker that wants a password, over TLS (QoS 2): with the right user,
   password file and CA, 500 records arrive; with a wrong password the
   refusal is warned about and every record is counted as dropped.

Skips (77) where mosquitto or mosquitto_sub is not installed, or
ddnnpublish was built without MQTT.

usage: test_publish.py DDNN_TOOL SOURCE_DIR PLUGIN_PATH"""
import getpass
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from hosts import fail, started, stop

N = 500
SKIP = 77


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Broker:
    """A mosquitto on 127.0.0.1:port with its persistence under @folder."""

    def __init__(self, folder, port, extra=""):
        self.folder, self.port = folder, port
        self.conf = os.path.join(folder, "mosquitto.conf")
        with open(self.conf, "w") as f:
            # (as root, mosquitto would turn into user mosquitto, who
            # cannot write the persistence file here: it stays who we are)
            f.write(f"listener {port} 127.0.0.1\nuser {getpass.getuser()}\n"
                    f"persistence true\npersistence_location {folder}/\n"
                    + (extra or "allow_anonymous true\n"))
        self.proc = None

    def start(self):
        log = open(os.path.join(self.folder, "mosquitto.log"), "a")
        self.proc = started(subprocess.Popen(["mosquitto", "-c", self.conf], stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True))
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                fail(f"mosquitto did not start: {open(log.name).read()[-1000:]}")
            time.sleep(0.05)
        fail("mosquitto did not listen within 10 s")

    def stop(self):
        stop(self.proc, signal.SIGTERM, timeout=20)


def subscriber(folder, port, topic, name, extra=()):
    out = os.path.join(folder, f"{name}.txt")
    proc = started(subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "1",
         "-c", "-i", name, *extra], stdout=open(out, "w"), stderr=subprocess.STDOUT,
        start_new_session=True))
    return proc, out


def wait_subscribed(broker_log, name):
    for _ in range(200):
        if re.search(rf"New client connected .* as {name}\b", open(broker_log).read()):
            return
        time.sleep(0.05)
    fail(f"mosquitto_sub {name} did not connect: {open(broker_log).read()[-1000:]}")


def records(path):
    got = []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        try:
            got.append(json.loads(line))
        except ValueError:
            fail(f"{path}: not a JSON record: {line[:200]}")
    return got


def pipeline(model, video, results, publish, pace_us=0):
    """The one-host pipeline of pipelines/one-host.sh, a ddnnpublish after each
    exit; identity paces the samples when @pace_us is given."""
    pace = f"identity sleep-time={pace_us} ! " if pace_us else ""
    desc = (f"ddnnaggregate name=fuse model={model} ! {pace}"
            f"ddnnexit name=exit model={model} results={results} site=lab "
            f"exit.exit ! ddnnpublish name=pub_exit {publish} ! fakesink async=false "
            f"exit.next ! ddnncloud model={model} results={results} site=lab ! "
            f"ddnnpublish name=pub_cloud {publish} ! fakesink async=false")
    for v in range(6):
        desc += (f" filesrc location={video}/cam{v}.mkv ! matroskademux ! "
                 f"ddnndevice model={model} view={v} ! fuse.")
    return desc.split()


def run(env, args, log):
    with open(log, "w") as f:
        proc = started(subprocess.Popen(["gst-launch-1.0", "-m", *args], stdout=f,
                                        stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True))
    return proc


def finished(proc, log, timeout=120):
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc, signal.SIGKILL)
        fail(f"the pipeline did not end in {timeout} s: {open(log).read()[-2000:]}")
    text = open(log).read()
    if proc.returncode != 0:
        fail(f"the pipeline failed ({proc.returncode}): {text[-2000:]}")
    stats = []
    for m in re.finditer(r"ddnn-publish-stats, (.*)", text):
        fields = dict(re.findall(r"([a-z-]+)=\([a-z0-9]+\)([a-z0-9]+)", m.group(1)))
        stats.append({k: int(v) if v.isdigit() else v for k, v in fields.items()})
    if len(stats) != 2:
        fail(f"expected a ddnn-publish-stats message from each ddnnpublish: {text[-2000:]}")
    return text, stats


def check_equal(results, got, where, dropped=0):
    """Every MQTT record is its results-file line; each sample once, but for
    at-least-once duplicates, which must be equal."""
    want = {r["sample"]: r for r in records(results)}
    if sorted(want) != list(range(N)):
        fail(f"{where}: the results file has {len(want)} samples, not {N}")
    seen = {}
    for r in got:
        s = r.get("sample")
        if s not in want:
            fail(f"{where}: a record for no sample of the run: {r}")
        if r != want[s]:
            fail(f"{where}: sample {s}: MQTT {r} against the results file {want[s]}")
        seen[s] = seen.get(s, 0) + 1
    if len(seen) + dropped != N:
        fail(f"{where}: {len(seen)} samples arrived and {dropped} were counted dropped, "
             f"not {N} in all")
    return len(got) - len(seen)


def main():
    tool, src, plugins = sys.argv[1:4]
    for program in ("mosquitto", "mosquitto_sub"):
        if not shutil.which(program) and not os.path.exists(f"/usr/sbin/{program}"):
            print(f"SKIP: {program} is not installed (Debian's mosquitto, mosquitto-clients)")
            sys.exit(SKIP)
    os.environ["PATH"] += ":/usr/sbin"
    env = dict(os.environ, GST_PLUGIN_PATH=plugins)
    probe = subprocess.run(["gst-launch-1.0", "fakesrc", "num-buffers=1", "!", "ddnnpublish",
                            "method=mqtt", "address=127.0.0.1:1", "flush-timeout=0", "!",
                            "fakesink"], env=env, capture_output=True, text=True, timeout=60)
    if "built without MQTT" in probe.stdout + probe.stderr:
        print("SKIP: ddnnpublish was built without MQTT (libmosquitto-dev missing)")
        sys.exit(SKIP)
    model = os.path.join(src, "models", "fmv6-binary.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        video = os.path.join(tmp, "video")
        subprocess.run([tool, "dataset", "fmv", "--out", os.path.join(tmp, "fmv"), "--seed", "1",
                        "--limit", str(N), "--video", video], check=True,
                       stdout=subprocess.DEVNULL)
        port = free_port()
        broker = Broker(tmp, port)
        broker.start()
        blog = os.path.join(tmp, "mosquitto.log")

        # 1. every answer, as the results file has it
        topic = "site/lab/answers"
        sub, out = subscriber(tmp, port, topic, "reader1")
        wait_subscribed(blog, "reader1")
        results = os.path.join(tmp, "r1.jsonl")
        log = os.path.join(tmp, "p1.log")
        publish = f"method=mqtt address=127.0.0.1:{port} topic={topic} qos=0"
        _, stats = finished(run(env, pipeline(model, video, results, publish), log), log)
        time.sleep(0.5)
        dups = check_equal(results, records(out), "1")
        if dups or sum(s["published"] for s in stats) != N or any(s["dropped"] for s in stats):
            fail(f"1: {dups} duplicates, stats {stats}")
        stop(sub, signal.SIGTERM)
        print(f"ok: {N} answers published over MQTT, each equal to its results-file line")

        def outage(name, extra, after, seconds):
            """A paced run whose broker stops once @after records have come
            and starts again @seconds later: (log text, stats, records,
            results file, records before the stop)."""
            topic = f"site/lab/{name}"
            sub, out = subscriber(tmp, port, topic, name)
            wait_subscribed(blog, name)
            results, log = os.path.join(tmp, f"{name}.jsonl"), os.path.join(tmp, f"{name}.log")
            publish = (f"method=mqtt address=127.0.0.1:{port} topic={topic} qos=1 {extra}"
                       f"flush-timeout=30000000000")
            proc = run(env, pipeline(model, video, results, publish, pace_us=8000), log)
            while len(records(out)) < after:
                if proc.poll() is not None:
                    fail(f"{name}: the pipeline ended before {after} records came: "
                         f"{open(log).read()[-1000:]}")
                time.sleep(0.02)
            broker.stop()
            before = len(records(out))
            time.sleep(seconds)
            broker.start()
            text, stats = finished(proc, log)
            dropped = sum(s["dropped"] for s in stats)
            for _ in range(100):
                if len({r["sample"] for r in records(out)}) + dropped >= N:
                    break
                time.sleep(0.1)
            stop(sub, signal.SIGTERM)
            return text, stats, records(out), results, before

        # 2. the broker stopped and started again mid-run
        text, stats, got, results, before = outage("restart", "", 100, 1.0)
        dups = check_equal(results, got, "2")
        if any(s["dropped"] for s in stats) or sum(s["published"] for s in stats) < N:
            fail(f"2: stats {stats}")
        if not any(s["connects"] >= 2 for s in stats) or "Lost the broker" not in text:
            fail(f"2: no reconnection seen: stats {stats}")
        print(f"ok: broker stopped after {before} records and restarted: all {N} arrived "
              f"({dups} sent twice), 0 dropped, reconnected")

        # 3. a queue too small for the outage
        text, stats, got, results, _ = outage("small", "max-queue=20 ", 50, 1.5)
        dropped = sum(s["dropped"] for s in stats)
        if not dropped or "queue is full" not in text:
            fail(f"3: a 20-record queue over a 1.5 s outage dropped nothing: {stats}")
        check_equal(results, got, "3", dropped=dropped)
        broker.stop()
        print(f"ok: with max-queue=20, {dropped} records dropped and counted; "
              f"the other {N - dropped} arrived")

        # 4. TLS and a password
        certs = os.path.join(tmp, "certs")
        os.mkdir(certs)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", f"{certs}/key.pem", "-out", f"{certs}/cert.pem"],
                       check=True, capture_output=True)
        pwfile = os.path.join(certs, "passwd")
        open(pwfile, "w").close()
        subprocess.run(["mosquitto_passwd", "-b", pwfile, "camera", "s3cret"], check=True,
                       capture_output=True)
        os.chmod(pwfile, 0o600)
        secret = os.path.join(tmp, "secret")
        with open(secret, "w") as f:
            f.write("s3cret\n")
        tls_folder = os.path.join(tmp, "tls")
        os.mkdir(tls_folder)
        port = free_port()
        tls = Broker(tls_folder, port, f"allow_anonymous false\npassword_file {pwfile}\n"
                     f"certfile {certs}/cert.pem\nkeyfile {certs}/key.pem\n")
        tls.start()
        topic = "site/lab/tls"
        sub, out = subscriber(tls_folder, port, topic, "reader4",
                              ["-u", "camera", "-P", "s3cret", "--cafile", f"{certs}/cert.pem"])
        wait_subscribed(os.path.join(tls_folder, "mosquitto.log"), "reader4")
        results = os.path.join(tmp, "r4.jsonl")
        log = os.path.join(tmp, "p4.log")
        publish = (f"method=mqtt address=127.0.0.1:{port} topic={topic} username=camera "
                   f"password-file={secret} tls-ca-file={certs}/cert.pem qos=2")
        finished(run(env, pipeline(model, video, results, publish), log), log)
        time.sleep(0.5)
        check_equal(results, records(out), "4")
        with open(secret, "w") as f:
            f.write("wrong\n")
        results = os.path.join(tmp, "r5.jsonl")
        log = os.path.join(tmp, "p5.log")
        text, stats = finished(run(env, pipeline(model, video, results,
                                                 publish + " flush-timeout=1000000000"), log), log)
        if "refused the connection" not in text or sum(s["dropped"] for s in stats) != N:
            fail(f"5: a wrong password was not refused and counted: {stats} {text[-1500:]}")
        stop(sub, signal.SIGTERM)
        tls.stop()
        print(f"ok: over TLS with a password file, {N} records; a wrong password is refused, "
              f"warned about, and all {N} counted as dropped")


if __name__ == "__main__":
    main()
