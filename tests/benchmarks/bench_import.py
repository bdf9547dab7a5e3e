#!/usr/bin/python3
"""`make bench`: `ddnn dataset import` of two cameras of 2 000 PNG pictures
each (the FMV-6 test views, 32x32 grey, written by GStreamer's pngenc),
beside the bare GStreamer decode of the same files in the same run
(`multifilesrc ! pngdec ! fakesink`, one pipeline a camera, what any import
must at least do).  Median of 3 rounds each, wall time, alternating.

usage: bench_import.py DDNN_TOOL [N]"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import hosts  # noqa: E402


def main():
    tool = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        video = os.path.join(tmp, "video")
        subprocess.run([tool, "dataset", "fmv", "--out", os.path.join(tmp, "fmv"), "--seed", "1",
                        "--limit", str(n), "--video", video], check=True, stdout=subprocess.DEVNULL)
        for v in range(2):
            hosts.video_to_pictures(f"{video}/cam{v}.mkv", os.path.join(tmp, f"png{v}"))
        labels = os.path.join(tmp, "labels.csv")
        with open(labels, "w") as f:
            f.write("file,label\n")
            for row in open(os.path.join(video, "labels.csv")).read().splitlines()[1:]:
                k, label = row.split(",")[:2]
                f.write(f"{int(k):05d}.png,{label}\n")

        def ours():
            t = time.perf_counter()
            subprocess.run([tool, "dataset", "import", "--cameras", os.path.join(tmp, "png0"),
                            "--cameras", os.path.join(tmp, "png1"), "--labels", labels,
                            "--out", os.path.join(tmp, "out")], check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t

        def bare():
            t = time.perf_counter()
            for v in range(2):
                subprocess.run(["gst-launch-1.0", "-q", "multifilesrc",
                                f"location={tmp}/png{v}/%05d.png", "index=0",
                                f"stop-index={n - 1}", "caps=image/png,framerate=1/1", "!",
                                "pngdec", "!", "fakesink"], check=True)
            return time.perf_counter() - t

        a, b = [], []
        for _ in range(3):
            a.append(ours())
            b.append(bare())
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"# import, 2 cameras x {n} PNG pictures (median of 3, wall)")
        print(f"ddnn dataset import   {ma:6.2f} s")
        print(f"bare pngdec decode    {mb:6.2f} s   import / bare = {ma / mb:.2f}x")


if __name__ == "__main__":
    main()
