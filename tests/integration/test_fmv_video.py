#!/usr/bin/python3
"""`ddnn dataset fmv --video` writes one lossless file per camera that stock
GStreamer elements decode back to the data set's frames, bit for bit, with
a labels file that matches.

usage: test_fmv_video.py DDNN_TOOL"""
import csv
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        data, video = os.path.join(tmp, "fmv"), os.path.join(tmp, "video")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--limit", "40",
                        "--seed", "3", "--video", video], check=True,
                       stdout=subprocess.DEVNULL)
        raw = open(os.path.join(data, "test.safetensors"), "rb").read()
        (n,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + n])
        body = raw[8 + n:]

        def tensor(name, shape):
            b, e = header[name]["data_offsets"]
            return np.frombuffer(body[b:e], dtype=np.uint8).reshape(shape)

        images = tensor("images", (40, 6, 32, 32))
        labels = tensor("labels", (40,))
        for cam in range(6):
            out = os.path.join(tmp, f"cam{cam}.gray")
            subprocess.run(["gst-launch-1.0", "-q", "filesrc",
                            f"location={video}/cam{cam}.mkv", "!", "matroskademux",
                            "!", "video/x-raw,format=GRAY8,width=32,height=32", "!",
                            "filesink", f"location={out}"], check=True)
            frames = np.fromfile(out, dtype=np.uint8).reshape(-1, 32, 32)
            if frames.shape[0] != 40 or not (frames == images[:, cam]).all():
                print(f"FAIL: camera {cam}'s video differs from the data set")
                sys.exit(1)
        rows = list(csv.DictReader(open(os.path.join(video, "labels.csv"))))
        if [int(r["label"]) for r in rows] != list(labels):
            print("FAIL: labels.csv differs from the data set")
            sys.exit(1)
    print("ok: 6 cameras x 40 frames decode losslessly with matroskademux; labels match")


if __name__ == "__main__":
    main()
