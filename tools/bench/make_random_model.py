#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a random-weight Mamba-1 or Mamba-2 checkpoint of a real model's shape (state-spaces
layout: config.json + model.safetensors) for benchmarks and memory checks. Needs only
python3-numpy. Mamba-2 uses the mamba2-* defaults: d_state 128, headdim 64, ngroups 1.

  /usr/bin/python3 tools/bench/make_random_model.py --shape 130m --dtype f32 --out /tmp/m130
  /usr/bin/python3 tools/bench/make_random_model.py --arch mamba2 --shape 130m --out /tmp/m2-130m
"""
import argparse
import json
import math
import os
import struct

import numpy as np

SHAPES = {  # d_model, n_layer (state-spaces/mamba-*; vocab 50277 padded to 50280)
    "130m": (768, 24), "370m": (1024, 48), "790m": (1536, 48), "1.4b": (2048, 48),
    "2.8b": (2560, 64),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=SHAPES, default="130m")
    ap.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arch", choices=["mamba1", "mamba2"], default="mamba1")
    args = ap.parse_args()
    d_model, n_layer = SHAPES[args.shape]
    d_inner, d_state, d_conv, dt_rank = 2 * d_model, 16, 4, math.ceil(d_model / 16)
    vocab = 50280
    rng = np.random.default_rng(args.seed)

    def lin(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) / math.sqrt(cols))

    m2 = args.arch == "mamba2"
    if m2:
        d_state, headdim, ngroups, vocab = 128, 64, 1, 50288  # vocabulary padded to 16
        nheads = d_inner // headdim
        conv_dim = d_inner + 2 * ngroups * d_state
    tensors = [("backbone.embedding.weight", rng.standard_normal((vocab, d_model), np.float32) * 0.02),
               ("backbone.norm_f.weight", np.ones(d_model, np.float32))]
    for i in range(n_layer if m2 else 0):
        p = f"backbone.layers.{i}."
        dt = np.exp(rng.uniform(math.log(1e-3), math.log(1e-1), nheads)).astype(np.float32)
        tensors += [
            (p + "norm.weight", np.ones(d_model, np.float32)),
            (p + "mixer.in_proj.weight", lin(d_inner + conv_dim + nheads, d_model)),
            (p + "mixer.conv1d.weight", rng.standard_normal((conv_dim, 1, d_conv), np.float32) * 0.5),
            (p + "mixer.conv1d.bias", rng.standard_normal(conv_dim, np.float32) * 0.1),
            (p + "mixer.dt_bias", dt + np.log(-np.expm1(-dt))),  # softplus^-1(dt)
            (p + "mixer.A_log", np.log(rng.uniform(1, 16, nheads)).astype(np.float32)),
            (p + "mixer.D", np.ones(nheads, np.float32)),
            (p + "mixer.norm.weight", np.ones(d_inner, np.float32)),
            (p + "mixer.out_proj.weight", lin(d_model, d_inner) / math.sqrt(n_layer)),
        ]
    for i in range(0 if m2 else n_layer):
        p = f"backbone.layers.{i}."
        tensors += [
            (p + "norm.weight", np.ones(d_model, np.float32)),
            (p + "mixer.in_proj.weight", lin(2 * d_inner, d_model)),
            (p + "mixer.conv1d.weight", rng.standard_normal((d_inner, 1, d_conv), np.float32) * 0.5),
            (p + "mixer.conv1d.bias", rng.standard_normal(d_inner, np.float32) * 0.1),
            (p + "mixer.x_proj.weight", lin(dt_rank + 2 * d_state, d_inner)),
            (p + "mixer.dt_proj.weight", lin(d_inner, dt_rank)),
            (p + "mixer.dt_proj.bias", rng.uniform(-6, -2, d_inner).astype(np.float32)),
            (p + "mixer.A_log", np.log(np.tile(np.arange(1, d_state + 1, dtype=np.float32), (d_inner, 1)))),
            (p + "mixer.D", np.ones(d_inner, np.float32)),
            (p + "mixer.out_proj.weight", lin(d_model, d_inner) / math.sqrt(n_layer)),
        ]
    st = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[args.dtype]

    def encode(a):
        if args.dtype == "f32":
            return a.astype("<f4").tobytes()
        if args.dtype == "f16":
            return a.astype("<f2").tobytes()
        u = a.astype("<f4").view("<u4")
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()

    header, offset = {"__metadata__": {"format": "pt"}}, 0
    sizes = {}
    for name, a in sorted(tensors, key=lambda t: t[0]):
        n = a.size * (4 if args.dtype == "f32" else 2)
        header[name] = {"dtype": st, "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, a in sorted(tensors, key=lambda t: t[0]):
            f.write(encode(a))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump({"d_model": d_model, "n_layer": n_layer, "vocab_size": 50277,
                   "ssm_cfg": {"layer": "Mamba2"} if m2 else {}, "rms_norm": True,
                   "residual_in_fp32": True, "fused_add_norm": True,
                   "pad_vocab_size_multiple": 16 if m2 else 8, "tie_embeddings": True}, f, indent=2)
    print(os.path.join(args.out, "model.safetensors"), offset + 8 + len(h), "bytes")


if __name__ == "__main__":
    main()
