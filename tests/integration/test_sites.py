#!/usr/bin/python3
"""Two sites sharing one cloud: each site is a cameras' host and an edge of
its own, with its own recorded cameras (data sets of different seeds), and
both edges send what they cannot answer to the same cloud process.  Their
sample numbers are the same (0 .. N-1 at both), so only the connection tells
them apart: the cloud answers each fused sample to the connection that sent
it (ddnnsrc remembers the senders of each fused sample number, in order).
Every answer at each site, as its edge and as its cameras' host learn it,
equals the engine's on that site's own samples, once each.

usage: test_sites.py DDNN_TOOL SOURCE_DIR BUILD_DIR"""
import os
import signal
import subprocess
import sys
import tempfile

from hosts import answers, fail, once_each, port_of, recorded_sites, start_script, stop

N = 400


def main():
    tool, src, build = sys.argv[1], sys.argv[2], sys.argv[3]
    model = os.path.join(src, "models", "fmv6-binary.safetensors")
    env = {"DDNN_TOKEN": "sites"}
    with tempfile.TemporaryDirectory() as tmp:
        sites = recorded_sites(tool, model, tmp, N, (1, 2))
        if all(site["ref"] == sites[0]["ref"] for site in sites):
            fail("the two sites' data sets give the same answers: nothing would tell a "
                 "crossed answer")

        cloud = start_script(src, build, "cloud.sh", f"{tmp}/cloud.log", "-m", model,
                             "-o", f"{tmp}/cloud.jsonl", env=env)
        cport = port_of(f"{tmp}/cloud.log", cloud)
        procs = []
        for site in sites:
            d = os.path.join(tmp, f"site{site['seed']}")
            os.makedirs(d)
            site["dir"] = d
            edge = start_script(src, build, "edge.sh", f"{d}/edge.log", "-u",
                                f"ws://127.0.0.1:{cport}/ddnn", "-m", model,
                                "-o", f"{d}/edge.jsonl", env=env)
            eport = port_of(f"{d}/edge.log", edge)
            devices = start_script(src, build, "devices.sh", f"{d}/devices.log", "-u",
                                   f"ws://127.0.0.1:{eport}/ddnn", "-d", site["video"],
                                   "-m", model, "-o", f"{d}/devices.jsonl", env=env)
            site["edge"], site["devices"] = edge, devices
            procs += [edge, devices]
        try:
            for site in sites:
                site["devices"].wait(timeout=180)
        except subprocess.TimeoutExpired:
            for p in procs + [cloud]:
                stop(p, signal.SIGKILL)
            fail("a site's cameras' host did not finish")
        for site in sites:
            stop(site["edge"])
        stop(cloud)

        summary = []
        for site in sites:
            for where in ("edge", "devices"):
                got = answers(f"{site['dir']}/{where}.jsonl")
                once_each(got, N, f"site {site['seed']}, {where}")
                wrong = [s for s in site["ref"]
                         if (got[s][0]["class"], got[s][0]["tier"]) != site["ref"][s]]
                if wrong:
                    s = wrong[0]
                    fail(f"site {site['seed']}, {where}: {len(wrong)} answers differ from the "
                         f"engine's on this site's samples, e.g. sample {s}: "
                         f"{(got[s][0]['class'], got[s][0]['tier'])} against {site['ref'][s]}")
            cloud_answered = sum(1 for v in site["ref"].values() if v[1] == "cloud")
            summary.append(f"site {site['seed']}: {cloud_answered} answered by the cloud")
        print(f"ok: two sites of {N} samples each, numbered alike, into one cloud: every "
              f"answer equals the engine's on the site's own samples, once each "
              f"({'; '.join(summary)})")


if __name__ == "__main__":
    main()
