#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Trains the bundled demo model: a small Mamba-1 on tiny Shakespeare with the GPT-NeoX tokenizer.

Pure PyTorch (Debian's python3-torch; CPU), the reference math of state-spaces/mamba
(mamba_simple.py Mamba + MixerModel with tied embeddings), sequential selective scan. Writes a
state-spaces checkpoint (config.json + model.safetensors, F16 by default) that mamba-cli loads.

Token ids come from the project's own tokenizer (`mamba-tokenize`), so the training text is split
exactly as the engine splits prompts. The last 10 % of the text (cut at a line start) is held out.

  /usr/bin/python3 tools/train/train_demo.py --tokenize build/tools/tokenize/mamba-tokenize \
      --text ../shared/data/tinyshakespeare.txt --out models --minutes 40
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def tokenize(tool, tokenizer_json, text):
    out = subprocess.run([tool, "-t", tokenizer_json], input=text.encode("utf-8"),
                         capture_output=True, check=True)
    return np.array([int(x) for x in out.stdout.split()], dtype=np.int64)


def split_text(text, held_out_fraction=0.1):
    cut = int(len(text) * (1 - held_out_fraction))
    cut = text.index("\n", cut) + 1  # start the held-out slice at a line start
    return text[:cut], text[cut:]


class MambaBlock(nn.Module):
    """Mamba-1 mixer (mamba_simple.py), sequential scan; shapes [B, L, *]."""

    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, dt_min=1e-3, dt_max=0.1):
        super().__init__()
        self.d_inner = expand * d_model
        self.d_state = d_state
        self.d_conv = d_conv
        self.dt_rank = math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner,
                                padding=d_conv - 1, bias=True)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        # dt_proj init as in mamba_simple.py: weight ~ U(-r^-0.5, r^-0.5), bias = softplus^-1(dt).
        std = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min))
                       + math.log(dt_min)).clamp(min=1e-4)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def forward(self, u):
        B, L, _ = u.shape
        x, z = self.in_proj(u).chunk(2, dim=-1)                      # [B, L, d_inner] each
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :L]).transpose(1, 2)
        dt, Bm, Cm = torch.split(self.x_proj(x), [self.dt_rank, self.d_state, self.d_state], -1)
        dt = F.softplus(self.dt_proj(dt))                             # [B, L, d_inner]
        A = -torch.exp(self.A_log)                                    # [d_inner, d_state]
        dA = torch.exp(dt.unsqueeze(-1) * A)                          # [B, L, d_inner, d_state]
        dBx = (dt * x).unsqueeze(-1) * Bm.unsqueeze(2)                # [B, L, d_inner, d_state]
        s = torch.zeros(B, self.d_inner, self.d_state)
        ys = []
        # unbind (not dA[:, t]) so autograd does not build a full-size gradient per step.
        for dA_t, dBx_t, C_t in zip(dA.unbind(1), dBx.unbind(1), Cm.unbind(1)):
            s = dA_t * s + dBx_t                                      # [B, d_inner, d_state]
            ys.append(torch.bmm(s, C_t.unsqueeze(-1)).squeeze(-1))    # [B, d_inner]
        y = torch.stack(ys, dim=1) + x * self.D                       # [B, L, d_inner]
        return self.out_proj(y * F.silu(z))


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MambaLM(nn.Module):
    def __init__(self, vocab_padded, d_model, n_layer):
        super().__init__()
        self.embedding = nn.Embedding(vocab_padded, d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)
        self.norms = nn.ModuleList([RMSNorm(d_model) for _ in range(n_layer)])
        self.mixers = nn.ModuleList([MambaBlock(d_model) for _ in range(n_layer)])
        for m in self.mixers:  # rescale_prenorm_residual, as mixer_seq_simple._init_weights
            nn.init.kaiming_uniform_(m.out_proj.weight, a=math.sqrt(5))
            with torch.no_grad():
                m.out_proj.weight /= math.sqrt(n_layer)
        self.norm_f = RMSNorm(d_model)

    def forward(self, ids):
        h = self.embedding(ids)
        for norm, mixer in zip(self.norms, self.mixers):
            h = h + mixer(norm(h))
        return self.norm_f(h) @ self.embedding.weight.t()           # tied head


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, np.ndarray). Names sorted, data 8-byte aligned, as the format says."""
    np_dtype, st_dtype = {"f16": (np.float16, "F16"), "f32": (np.float32, "F32")}[dtype]
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, arr in sorted(tensors):
        data = np.ascontiguousarray(arr.astype(np_dtype)).tobytes()
        header[name] = {"dtype": st_dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def export(model, args, vocab_size, vocab_padded):
    os.makedirs(args.out, exist_ok=True)
    tensors = [("backbone.embedding.weight", model.embedding.weight),
               ("backbone.norm_f.weight", model.norm_f.weight)]
    for i, (norm, m) in enumerate(zip(model.norms, model.mixers)):
        p = f"backbone.layers.{i}."
        tensors.append((p + "norm.weight", norm.weight))
        for name in ["in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight",
                     "dt_proj.weight", "dt_proj.bias", "A_log", "D", "out_proj.weight"]:
            tensors.append((p + "mixer." + name, m.get_parameter(name)))
    write_safetensors(os.path.join(args.out, "model.safetensors"),
                      [(n, t.detach().float().numpy()) for n, t in tensors], args.dtype)
    config = {"d_model": args.d_model, "n_layer": args.n_layer, "vocab_size": vocab_size,
              "ssm_cfg": {}, "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
              "pad_vocab_size_multiple": 8, "tie_embeddings": True}
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokenize", required=True, help="path of the mamba-tokenize binary")
    ap.add_argument("--tokenizer-json", default="tests/data/tokenizer/tokenizer.json")
    ap.add_argument("--text", default="../shared/data/tinyshakespeare.txt")
    ap.add_argument("--out", default="models")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--minutes", type=float, default=40, help="wall-clock training budget")
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--log", default=None, help="write the loss curve (TSV) here")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    train_text, held_text = split_text(text)
    train = tokenize(args.tokenize, args.tokenizer_json, train_text)
    held = tokenize(args.tokenize, args.tokenizer_json, held_text)
    vocab_size = 50277  # GPT-NeoX-20B: 50254 BPE tokens + added tokens up to id 50276
    vocab_padded = (vocab_size + 7) // 8 * 8
    print(f"train tokens {len(train)}, held-out tokens {len(held)}", flush=True)

    model = MambaLM(vocab_padded, args.d_model, args.n_layer)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters {n_params} ({n_params - model.embedding.weight.numel()} without the "
          f"embedding)", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.95))
    log = open(args.log, "w") if args.log else None
    if log:
        log.write("step\tminutes\ttrain_loss\theld_out_loss\n")

    def held_out_loss(n_windows=16):
        model.eval()
        with torch.no_grad():
            starts = np.linspace(0, len(held) - args.seq_len - 2, n_windows).astype(np.int64)
            x = torch.from_numpy(np.stack([held[s:s + args.seq_len] for s in starts]))
            y = torch.from_numpy(np.stack([held[s + 1:s + args.seq_len + 1] for s in starts]))
            loss = F.cross_entropy(model(x).reshape(-1, vocab_padded), y.reshape(-1)).item()
        model.train()
        return loss

    t0 = time.time()
    budget = args.minutes * 60
    step, ema = 0, None
    while step < args.max_steps:
        elapsed = time.time() - t0
        if elapsed > budget:
            break
        lr = args.lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, elapsed / budget))))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = np.random.randint(0, len(train) - args.seq_len - 1, size=args.batch)
        x = torch.from_numpy(np.stack([train[s:s + args.seq_len] for s in starts]))
        y = torch.from_numpy(np.stack([train[s + 1:s + args.seq_len + 1] for s in starts]))
        loss = F.cross_entropy(model(x).reshape(-1, vocab_padded), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        step += 1
        if step % 25 == 0:
            h = held_out_loss()
            minutes = (time.time() - t0) / 60
            print(f"step {step:5d}  {minutes:6.1f} min  train {ema:.3f}  held-out {h:.3f}  "
                  f"lr {lr:.2e}", flush=True)
            if log:
                log.write(f"{step}\t{minutes:.2f}\t{ema:.4f}\t{h:.4f}\n")
                log.flush()
            export(model, args, vocab_size, vocab_padded)
    export(model, args, vocab_size, vocab_padded)
    print(f"done: {step} steps in {(time.time() - t0) / 60:.1f} min, held-out loss "
          f"{held_out_loss(64):.3f}", flush=True)


if __name__ == "__main__":
    main()
