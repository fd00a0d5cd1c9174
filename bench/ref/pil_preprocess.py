"""Reference for bench/data.ts: CLIP's transform with Pillow + numpy, one process, one core.

Image.open -> convert("RGB") (Dassl's order, as the bench) -> resize shorter side to SIZE (bicubic,
torchvision's int(size * long / short)) -> centre crop (torchvision's round((h - size) / 2)) ->
float32 / 255 -> normalise with CLIP's mean / std, as CHW (ToTensor + Normalize without torch).
With --processes N (N > 1) the files are shared out over N worker processes
(multiprocessing.Pool.map in chunks, as a DataLoader with N workers), started before timing.
Usage: pil_preprocess.py SIZE WARMUP [--processes N] PATH...; prints one JSON line.
"""
import json
import sys
import time

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def preprocess(path, size):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    nw, nh = (size, new_long) if w <= h else (new_long, size)
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BICUBIC)
    top = int(round((nh - size) / 2.0))
    left = int(round((nw - size) / 2.0))
    img = img.crop((left, top, left + size, top + size))
    x = np.asarray(img, dtype=np.float32) / 255.0
    return ((x - MEAN) / STD).transpose(2, 0, 1)


def first_value(path_size):
    path, size = path_size
    return float(preprocess(path, size)[0, 0, 0])


def main():
    size, warmup, rest = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    processes = 1
    if rest[:1] == ["--processes"]:
        processes, rest = int(rest[1]), rest[2:]
    paths = rest
    checksum = 0.0
    for p in paths[:warmup]:
        checksum += float(preprocess(p, size)[0, 0, 0])
    if processes > 1:
        import multiprocessing
        with multiprocessing.Pool(processes) as pool:
            pool.map(first_value, [(p, size) for p in paths[:processes]])  # workers started and warm
            t0 = time.perf_counter()
            checksum += sum(pool.map(first_value, [(p, size) for p in paths], chunksize=4))
            seconds = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        for p in paths:
            checksum += float(preprocess(p, size)[0, 0, 0])
        seconds = time.perf_counter() - t0
    import PIL
    print(json.dumps({
        "images": len(paths), "processes": processes, "seconds": round(seconds, 4),
        "imagesPerSec": round(len(paths) / seconds, 2), "pillow": PIL.__version__,
        "numpy": np.__version__, "checksum": checksum,
    }))


if __name__ == "__main__":
    main()
