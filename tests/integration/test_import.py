#!/usr/bin/python3
"""`ddnn dataset import` decodes in process, gives the same data every time,
and reports every kind of bad input with its file and line.

- The six recorded cameras of `ddnn dataset fmv --video` (raw frames in
  Matroska) import to exactly the pixels, labels and views of the data set
  they were recorded from, and 20 imports in a row give the same bytes.
- Two cameras of PNG pictures (made from those videos by GStreamer's pngenc)
  import to the same pixels as the videos.
- A missing picture, a corrupt one, one of another size, one of another
  format, and a video with fewer frames than the CSV has rows are refused,
  each with a message naming the file (and the CSV line where there is one).

usage: test_import.py DDNN_TOOL"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import hosts

N = 120
RUNS = 20


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def load(path):
    header, data = hosts.safetensors(path)
    return ({k: np.frombuffer(b, dtype=np.uint8).reshape(header[k]["shape"])
             for k, b in data.items()}, header["__metadata__"])


def main():
    tool = sys.argv[1]

    def ddnn(*args, ok=True):
        p = subprocess.run([tool, *args], capture_output=True, text=True)
        if ok and p.returncode != 0:
            fail(f"ddnn {' '.join(args)}: {p.stderr}")
        return p

    with tempfile.TemporaryDirectory() as tmp:
        src, video = os.path.join(tmp, "fmv"), os.path.join(tmp, "video")
        ddnn("dataset", "fmv", "--out", src, "--seed", "1", "--limit", str(N), "--video", video)
        cams = [a for v in range(6) for a in ("--cameras", os.path.join(video, f"cam{v}.mkv"))]
        labels = os.path.join(video, "labels.csv")

        # every sample in order (no test split), against the recorded set
        out = os.path.join(tmp, "all")
        ddnn("dataset", "import", *cams, "--labels", labels, "--out", out, "--test-fraction", "0")
        got, meta = load(os.path.join(out, "train.safetensors"))
        want, _ = load(os.path.join(src, "test.safetensors"))
        if not np.array_equal(got["images"], want["images"][:N]):
            fail("the imported pixels differ from the recorded data set's")
        names = json.loads(meta["classes"])
        relabel = np.array([int(names[c]) for c in got["labels"]])
        if not np.array_equal(relabel, want["labels"][:N]):
            fail("the imported labels differ from the recorded data set's")
        print(f"ok: {N} samples of six recorded cameras import to the recorded pixels and labels")

        digests = set()
        for run in range(RUNS):
            out = os.path.join(tmp, f"run{run}")
            ddnn("dataset", "import", *cams, "--labels", labels, "--out", out)
            digests.add(b"".join(hashlib.sha256(open(os.path.join(out, f), "rb").read()).digest()
                                 for f in ("train.safetensors", "test.safetensors")))
        if len(digests) != 1:
            fail(f"{RUNS} imports of the same videos gave {len(digests)} different data sets")
        print(f"ok: {RUNS} imports in a row give the same bytes")

        # two cameras of PNG pictures, from the videos
        rows = open(labels).read().splitlines()[1:]
        for v in range(2):
            hosts.video_to_pictures(f"{video}/cam{v}.mkv", os.path.join(tmp, f"png{v}"))
        png_labels = os.path.join(tmp, "png-labels.csv")
        with open(png_labels, "w") as f:
            f.write("file,label\n")
            for row in rows:
                k, label = row.split(",")[:2]
                f.write(f"{int(k):05d}.png,{label}\n")
        out = os.path.join(tmp, "png")
        ddnn("dataset", "import", "--cameras", os.path.join(tmp, "png0"), "--cameras",
             os.path.join(tmp, "png1"), "--labels", png_labels, "--out", out, "--test-fraction", "0")
        pngs, _ = load(os.path.join(out, "train.safetensors"))
        if not np.array_equal(pngs["images"], got["images"][:, :2]):
            fail("PNG pictures import to other pixels than the videos they came from")
        print("ok: two cameras of PNG pictures import to the videos' pixels")

        # bad input, each named
        def refused(args, *words):
            p = ddnn("dataset", "import", *args, "--out", os.path.join(tmp, "bad"), ok=False)
            if p.returncode == 0 or not all(w in p.stderr for w in words):
                fail(f"{words}: exit {p.returncode}, {p.stderr!r}")

        png_cams = ["--cameras", os.path.join(tmp, "png0"), "--cameras", os.path.join(tmp, "png1")]
        p1 = os.path.join(tmp, "png1")
        os.rename(os.path.join(p1, "00007.png"), os.path.join(tmp, "kept.png"))
        refused(png_cams + ["--labels", png_labels], "png-labels.csv:9", "00007.png", "missing")
        with open(os.path.join(p1, "00007.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        refused(png_cams + ["--labels", png_labels], "png-labels.csv:9", "00007.png")
        subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=1", "!",
                        "video/x-raw,width=40,height=30", "!", "pngenc", "!", "filesink",
                        f"location={p1}/00007.png"], check=True)
        refused(png_cams + ["--labels", png_labels], "png-labels.csv:9", "00007.png", "40x30")
        subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=1", "!",
                        "video/x-raw,width=32,height=32", "!", "jpegenc", "!", "filesink",
                        f"location={p1}/00007.png"], check=True)
        refused(png_cams + ["--labels", png_labels], "png-labels.csv:9", "00007.png", "one format")
        short = os.path.join(tmp, "short.mkv")
        subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", f"num-buffers={N - 5}", "!",
                        "video/x-raw,format=GRAY8,width=32,height=32", "!", "matroskamux", "!",
                        "filesink", f"location={short}"], check=True)
        refused(cams[:10] + ["--cameras", short, "--labels", labels], "short.mkv",
                f"{N - 5} frames", f"{N} rows")
        print("ok: a missing, corrupt, odd-sized or odd-format picture and a short video "
              "are refused, each named")


if __name__ == "__main__":
    main()
