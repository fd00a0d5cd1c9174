"""Reference for bench/clip.ts: OpenAI's CLIP (openai-clip's clip.model.CLIP) in PyTorch on one thread.

The architecture of MODEL's config JSON (src/clip/configs), random weights (torch's init, seeded),
fp32, eval, no_grad, torch.set_num_threads(1). Times encode_image on IMAGE_BATCH random images at
the model's resolution and encode_text on TEXT_BATCH texts over the full context (EOT near 22, as
the bench), ITERATIONS timed calls after one warm-up each.
Usage: torch_clip.py CONFIG_JSON ITERATIONS IMAGE_BATCH TEXT_BATCH; prints one JSON line.
"""
import json
import sys
import time

import torch
from clip.model import CLIP


def timed(fn, units, iterations):
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(iterations):
        fn()
    return units * iterations / (time.perf_counter() - t0)


def main():
    cfg = json.load(open(sys.argv[1]))
    iterations, image_batch, text_batch = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    v, t = cfg["vision"], cfg["text"]
    model = CLIP(
        embed_dim=cfg["embedDim"], image_resolution=v["imageSize"],
        vision_layers=tuple(v["layers"]) if v["kind"] == "resnet" else v["layers"],
        vision_width=v["width"], vision_patch_size=v.get("patchSize"),
        context_length=t["contextLength"], vocab_size=t["vocabSize"], transformer_width=t["width"],
        transformer_heads=t["heads"], transformer_layers=t["layers"],
    ).float().eval()
    size = v["imageSize"]
    images = torch.randn(image_batch, 3, size, size)
    tokens = torch.randint(1, t["vocabSize"] - 2, (text_batch, t["contextLength"]))
    for i in range(text_batch):  # [SOT, ..., EOT] with EOT (the largest id) at 19..23, zeros after
        eot = 16 + 3 + (i % 5)
        tokens[i, 0] = t["vocabSize"] - 2
        tokens[i, eot] = t["vocabSize"] - 1
        tokens[i, eot + 1:] = 0
    with torch.no_grad():
        images_per_s = timed(lambda: model.encode_image(images), image_batch, iterations)
        text_per_s = timed(lambda: model.encode_text(tokens), text_batch, iterations)
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "images_per_s": images_per_s, "text_features_per_s_77_tokens": text_per_s,
    }))


if __name__ == "__main__":
    main()
