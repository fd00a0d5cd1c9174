"""Reference for bench/speed.ts: PyTorch (openai-clip's model code) on the same inputs, same threads.

Runs as a child process of the bench and answers one JSON line per JSON command line on stdin, so
the bench can interleave its own measurements with these (ours, torch, ours, ...) on a busy machine.

CoOp's step is written here from the CoOp prompt learner as specified in shared/docs/coop-spec.md §1
(CoOp:trainers/coop.py PromptLearner + TextEncoder): prompts "X X ... X <name>." tokenized to 77,
token_prefix / token_suffix frozen buffers, a generic context `ctx` [n_ctx, width] spliced between,
every prompt run through the whole 77-token text transformer, the feature read at argmax(token id),
logits = exp(logit_scale) * normalise(image) @ normalise(text).T, cross-entropy, backward, SGD
(lr 0.002, momentum 0.9, weight decay 5e-4). Every CLIP weight has requires_grad False; fp32;
image features are given (cached), as in the bench.

Commands (one JSON object per line; every answer is one JSON line with "ok"):
  {"cmd": "setup", "dir", "config", "classnames", "shots", "batch", "n_ctx", "image_batch", "text_batch",
   "threads", "seed"}
      builds CLIP (random weights, torch's init, seeded) and writes DIR/model.safetensors (its state
      dict) and DIR/inputs.safetensors (ctx, train features, labels, batch indices, images, text
      ids), then DIR/reference.safetensors (CoOp logits at the initial ctx, ctx after one step,
      image and text features of those inputs).
  {"cmd": "coop_step", "reps": k}      times k CoOp steps (wall ms and process CPU ms, each)
  {"cmd": "encode_image", "reps": k}   times k encode_image calls on IMAGE_BATCH images (ms each)
  {"cmd": "encode_text", "reps": k}    times k encode_text calls on TEXT_BATCH "a photo of a <name>." (77 tokens)
  {"cmd": "peak", "reps": k}           times k [1024, 1024] @ [1024, 1024] matmuls (ms each)
  {"cmd": "iwpl_logits", "path"}       CoOp-literal (77-token) features of IWPL prompts read from
      PATH (global [G, D], instance [N, L, D], prompts [U] int, batch [B] int) → writes
      PATH.out.safetensors with logits [B, U] = scale * cos(train feature of batch image, prompt)
  {"cmd": "quit"}
Usage: torch_speed.py  (then commands on stdin)
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import load_file, save_file

import clip
from clip.model import CLIP


def build_clip(cfg):
    v, t = cfg["vision"], cfg["text"]
    return CLIP(
        embed_dim=cfg["embedDim"], image_resolution=v["imageSize"],
        vision_layers=tuple(v["layers"]) if v["kind"] == "resnet" else v["layers"],
        vision_width=v["width"], vision_patch_size=v.get("patchSize"),
        context_length=t["contextLength"], vocab_size=t["vocabSize"], transformer_width=t["width"],
        transformer_heads=t["heads"], transformer_layers=t["layers"],
    ).float().eval()


def prompt_texts(classnames, n_ctx):
    placeholder = " ".join(["X"] * n_ctx)
    return [(placeholder + " " if n_ctx > 0 else "") + name.replace("_", " ") + "." for name in classnames]


class PromptLearner(nn.Module):
    """CoOp's generic-context learner, class token at the end (coop-spec §1)."""

    def __init__(self, classnames, clip_model, ctx):
        super().__init__()
        n_ctx = ctx.shape[0]
        self.n_cls = len(classnames)
        self.tokenized_prompts = torch.cat([clip.tokenize(p) for p in prompt_texts(classnames, n_ctx)])
        with torch.no_grad():
            embedding = clip_model.token_embedding(self.tokenized_prompts)
        self.register_buffer("token_prefix", embedding[:, :1, :])
        self.register_buffer("token_suffix", embedding[:, 1 + n_ctx:, :])
        self.ctx = nn.Parameter(ctx.clone())

    def forward(self):
        ctx = self.ctx.unsqueeze(0).expand(self.n_cls, -1, -1)
        return torch.cat([self.token_prefix, ctx, self.token_suffix], dim=1)


class TextEncoder(nn.Module):
    """CoOp's TextEncoder: the whole context length through CLIP's transformer."""

    def __init__(self, clip_model):
        super().__init__()
        self.transformer = clip_model.transformer
        self.positional_embedding = clip_model.positional_embedding
        self.ln_final = clip_model.ln_final
        self.text_projection = clip_model.text_projection

    def forward(self, prompts, tokenized_prompts):
        x = prompts + self.positional_embedding
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), tokenized_prompts.argmax(dim=-1)] @ self.text_projection


class Bench:
    def setup(self, c):
        torch.set_num_threads(int(c["threads"]))
        torch.manual_seed(int(c["seed"]))
        cfg = c["config"]
        self.model = build_clip(cfg)
        for p in self.model.parameters():
            p.requires_grad_(False)
        width, embed = cfg["text"]["width"], cfg["embedDim"]
        names = c["classnames"]
        shots, batch = int(c["shots"]), int(c["batch"])
        n_train = len(names) * shots
        g = torch.Generator().manual_seed(int(c["seed"]) + 1)
        ctx0 = torch.randn(int(c["n_ctx"]), width, generator=g) * 0.02
        self.train_features = torch.randn(n_train, embed, generator=g)
        self.labels = torch.arange(n_train) // shots  # class-major: shots images per class
        self.batch_index = torch.randperm(n_train, generator=g)[:batch]
        size = cfg["vision"]["imageSize"]
        self.images = torch.randn(int(c["image_batch"]), 3, size, size, generator=g)
        text_names = [names[i % len(names)] for i in range(int(c["text_batch"]))]
        self.text_ids = torch.cat([clip.tokenize(f"a photo of a {n.replace('_', ' ')}.") for n in text_names])
        sd = {k: v.contiguous() for k, v in self.model.state_dict().items() if not k.endswith("num_batches_tracked")}
        save_file(sd, f"{c['dir']}/model.safetensors")
        save_file({
            "ctx": ctx0, "train_features": self.train_features, "labels": self.labels.int(),
            "batch_index": self.batch_index.int(), "images": self.images, "text_ids": self.text_ids.int(),
        }, f"{c['dir']}/inputs.safetensors")
        self.learner = PromptLearner(names, self.model, ctx0)
        self.encoder = TextEncoder(self.model)
        self.optim = torch.optim.SGD([self.learner.ctx], lr=0.002, momentum=0.9, weight_decay=5e-4)
        with torch.no_grad():
            logits = self.coop_logits()
            image_features = self.model.encode_image(self.images)
            text_features = self.model.encode_text(self.text_ids)
        self.step()
        save_file({
            "coop_logits": logits.contiguous(), "ctx_after_step": self.learner.ctx.detach().clone(),
            "image_features": image_features.contiguous(), "text_features": text_features.contiguous(),
        }, f"{c['dir']}/reference.safetensors")
        return {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "interop_threads": torch.get_num_interop_threads(), "mkldnn": torch.backends.mkldnn.is_available(),
                "train_images": n_train, "max_eot": int(self.learner.tokenized_prompts.argmax(-1).max()),
                "vocab": os.path.join(os.path.dirname(clip.__file__), "bpe_simple_vocab_16e6.txt.gz")}

    def coop_logits(self):
        text = self.encoder(self.learner(), self.learner.tokenized_prompts)
        image = self.train_features[self.batch_index]
        image = image / image.norm(dim=-1, keepdim=True)
        text = text / text.norm(dim=-1, keepdim=True)
        return self.model.logit_scale.exp() * image @ text.t()

    def step(self):
        loss = F.cross_entropy(self.coop_logits(), self.labels[self.batch_index])
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()
        return float(loss)

    def timed(self, fn, reps):
        wall, cpu = [], []
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)  # every thread of the process
        return {"ms": wall, "cpu_ms": cpu}

    def iwpl_logits(self, path):
        t = load_file(path)
        g, inst, prompts, batch = t["global"], t["instance"], t["prompts"].long(), t["batch"].long()
        n_global, n_inst = g.shape[0], inst.shape[1]
        names = [self.learner_names[int(self.labels[j])] for j in prompts]
        tokenized = torch.cat([clip.tokenize(p) for p in prompt_texts(names, n_global + n_inst)])
        with torch.no_grad():
            emb = self.model.token_embedding(tokenized)
            ctx = torch.cat([g.unsqueeze(0).expand(len(names), -1, -1), inst[prompts]], dim=1)
            x = torch.cat([emb[:, :1], ctx, emb[:, 1 + n_global + n_inst:]], dim=1)
            text = self.encoder(x, tokenized)
            image = self.train_features[batch]
            image = image / image.norm(dim=-1, keepdim=True)
            text = text / text.norm(dim=-1, keepdim=True)
            logits = self.model.logit_scale.exp() * image @ text.t()
        save_file({"logits": logits.contiguous()}, path + ".out.safetensors")
        return {"prompts": len(names), "max_eot": int(tokenized.argmax(-1).max())}


def main():
    bench = Bench()
    for line in sys.stdin:
        if not line.strip():
            continue
        c = json.loads(line)
        cmd = c["cmd"]
        try:
            if cmd == "quit":
                break
            if cmd == "setup":
                bench.learner_names = c["classnames"]
                out = bench.setup(c)
            elif cmd == "coop_step":
                out = bench.timed(bench.step, int(c["reps"]))
            elif cmd == "encode_image":
                with torch.no_grad():
                    out = bench.timed(lambda: bench.model.encode_image(bench.images), int(c["reps"]))
            elif cmd == "encode_text":
                with torch.no_grad():
                    out = bench.timed(lambda: bench.model.encode_text(bench.text_ids), int(c["reps"]))
            elif cmd == "peak":
                a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
                a @ b
                out = bench.timed(lambda: a @ b, int(c["reps"]))
            elif cmd == "iwpl_logits":
                out = bench.iwpl_logits(c["path"])
            else:
                raise ValueError(f"unknown command {cmd!r}")
            out["ok"] = True
        except Exception as e:  # the bench prints the reason
            out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
