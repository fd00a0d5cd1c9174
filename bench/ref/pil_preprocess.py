"""Reference for bench/data.ts: CLIP's transform with Pillow + numpy, one process, one core.

Image.open -> convert("RGB") (Dassl's order, as the bench) -> resize shorter side to SIZE (bicubic,
torchvision's int(size * long / short)) -> centre crop (torchvision's round((h - size) / 2)) ->
float32 / 255 -> normalise with CLIP's mean / std, as CHW (ToTensor + Normalize without torch).
With --processes N (N > 1) the files are shared out over N worker processes
(multiprocessing.Pool.map in chunks, as a DataLoader with N workers), started before timing.
Besides wall time it reports CPU time (time.process_time: the parent's, plus each worker's per
image), so figures stay comparable when other jobs share the cores. With --stages it also times each
step alone over all the files (CPU ms per image): decode (open + load), convert, resize, crop +
normalise.
Usage: pil_preprocess.py SIZE WARMUP [--processes N] [--stages] PATH...; prints one JSON line.
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
    """One image in a worker: (first value, CPU seconds it took in that process)."""
    path, size = path_size
    c0 = time.process_time()
    v = float(preprocess(path, size)[0, 0, 0])
    return v, time.process_time() - c0


def stages(paths, size, reps=3):
    """CPU ms per image of each step alone, best of `reps` passes over the files."""
    def best(fn, items):
        times = []
        for _ in range(reps):
            c0 = time.process_time()
            for x in items:
                fn(x)
            times.append(time.process_time() - c0)
        return round(min(times) / len(items) * 1e3, 3)

    def load(p):
        im = Image.open(p)
        im.load()
        return im
    opened = [load(p) for p in paths]
    rgb = [im.convert("RGB") for im in opened]
    resized = []
    for img in rgb:
        w, h = img.size
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(size * long / short)
        resized.append(((size, new_long) if w <= h else (new_long, size), img))
    out = [img.resize(wh, Image.BICUBIC) for wh, img in resized]

    def crop_norm(img):
        w, h = img.size
        top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
        x = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.float32) / 255.0
        return ((x - MEAN) / STD).transpose(2, 0, 1)
    return {
        "decode": best(load, paths),
        "convert": best(lambda im: im.convert("RGB"), opened),
        "resize": best(lambda r: r[1].resize(r[0], Image.BICUBIC), resized),
        "cropNormalize": best(crop_norm, out),
    }


def main():
    size, warmup, rest = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    processes = 1
    if rest[:1] == ["--processes"]:
        processes, rest = int(rest[1]), rest[2:]
    want_stages = rest[:1] == ["--stages"]
    if want_stages:
        rest = rest[1:]
    paths = rest
    checksum = 0.0
    for p in paths[:warmup]:
        checksum += float(preprocess(p, size)[0, 0, 0])
    if processes > 1:
        import multiprocessing
        with multiprocessing.Pool(processes) as pool:
            pool.map(first_value, [(p, size) for p in paths[:processes]])  # workers started and warm
            t0, c0 = time.perf_counter(), time.process_time()
            done = pool.map(first_value, [(p, size) for p in paths], chunksize=4)
            seconds = time.perf_counter() - t0
            cpu = time.process_time() - c0 + sum(c for _, c in done)
            checksum += sum(v for v, _ in done)
    else:
        t0, c0 = time.perf_counter(), time.process_time()
        for p in paths:
            checksum += float(preprocess(p, size)[0, 0, 0])
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
    import PIL
    print(json.dumps({
        "images": len(paths), "processes": processes, "seconds": round(seconds, 4),
        "imagesPerSec": round(len(paths) / seconds, 2), "cpuMsPerImage": round(cpu / len(paths) * 1e3, 3),
        "pillow": PIL.__version__, "numpy": np.__version__, "checksum": checksum,
        **({"stagesCpuMsPerImage": stages(paths, size)} if want_stages else {}),
    }))


if __name__ == "__main__":
    main()
