#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the fuzz_gguf seed corpus (fuzz/corpus/fuzz_gguf/, a few KB): small GGUF v3/v2 files
with every metadata value type, nested and string arrays, F32/F16/BF16/Q8_0/Q4_K tensors, a
custom alignment, a tiny llama.cpp-style Mamba file with tokenizer.ggml.* keys, and header
truncations. Standard library only. Usage: fuzz/make_gguf_seeds.py
"""
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus", "fuzz_gguf")

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B",
       U64: "<Q", I64: "<q", F64: "<d"}


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def val(t, v):
    if t == STR:
        return s(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(val(et, i) for i in items)
    return struct.pack(FMT[t], v)


def gguf(kv, tensors, version=3, alignment=32):
    """kv: [(key, type, value)]; tensors: [(name, ne, ggml_type, bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv))
    for k, t, v in kv:
        out += s(k) + struct.pack("<I", t) + val(t, v)
    off = 0
    offsets = []
    for name, ne, gt, data in tensors:
        out += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<q", n) for n in ne)
        out += struct.pack("<IQ", gt, off)
        offsets.append(off)
        off = (off + len(data) + alignment - 1) // alignment * alignment
    out += b"\0" * ((-len(out)) % alignment)
    for (_, _, _, data), o in zip(tensors, offsets):
        out += data + b"\0" * ((-len(data)) % alignment)
    return out


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    all_types = [("general.architecture", STR, "mamba"), ("u8", U8, 7), ("i8", I8, -7),
                 ("u16", U16, 700), ("i16", I16, -700), ("u32", U32, 70000), ("i32", I32, -70000),
                 ("f32", F32, 1e-5), ("b", BOOL, 1), ("u64", U64, 1 << 40), ("i64", I64, -1),
                 ("f64", F64, 0.5), ("strs", ARR, (STR, ["a", "", "Ġb"])),
                 ("nested", ARR, (ARR, [(I32, [1, 2]), (I32, [])]))]
    f32 = struct.pack("<6f", *range(6))
    f16 = struct.pack("<3H", 0x3C00, 0x4000, 0x4200)
    q8 = struct.pack("<H", 0x3C00) + bytes(range(32))
    q4k = bytes(144)
    tensors = [("a.weight", [3, 2], 0, f32), ("b", [3], 1, f16), ("c", [32], 8, q8),
               ("d", [256], 12, q4k), ("e", [2], 30, b"\x80\x3f\x00\x40")]
    full = gguf(all_types, tensors)
    put("all_types.gguf", full)
    put("v2.gguf", gguf(all_types[:3], tensors[:2], version=2))
    put("align64.gguf", gguf([("general.alignment", U32, 64)], tensors[:2], alignment=64))
    put("empty.gguf", gguf([], []))
    for cut in (4, 8, 24, 40, 100, len(full) // 2):
        put("cut%d.gguf" % cut, full[:cut])
    # A tiny Mamba-1 in llama.cpp's layout (d_model 4, 1 layer, d_inner 8, d_state 2, d_conv 2,
    # dt_rank 1, vocab 4) with tokenizer metadata.
    kv = [("general.architecture", STR, "mamba"), ("mamba.embedding_length", U32, 4),
          ("mamba.block_count", U32, 1), ("mamba.ssm.conv_kernel", U32, 2),
          ("mamba.ssm.inner_size", U32, 8), ("mamba.ssm.state_size", U32, 2),
          ("mamba.ssm.time_step_rank", U32, 1),
          ("mamba.attention.layer_norm_rms_epsilon", F32, 1e-5),
          ("tokenizer.ggml.model", STR, "gpt2"), ("tokenizer.ggml.pre", STR, "olmo"),
          ("tokenizer.ggml.tokens", ARR, (STR, ["<|endoftext|>", "a", "b", "ab"])),
          ("tokenizer.ggml.token_type", ARR, (I32, [3, 1, 1, 1])),
          ("tokenizer.ggml.merges", ARR, (STR, ["a b"])),
          ("tokenizer.ggml.bos_token_id", U32, 0), ("tokenizer.ggml.eos_token_id", U32, 0)]
    z = lambda n: bytes(4 * n)
    mt = [("token_embd.weight", [4, 4], 0, z(16)), ("blk.0.ssm_a", [2, 8], 0, z(16)),
          ("blk.0.ssm_d", [8], 0, z(8)), ("blk.0.ssm_conv1d.bias", [8], 0, z(8)),
          ("blk.0.ssm_conv1d.weight", [2, 8], 0, z(16)), ("blk.0.ssm_dt.bias", [8], 0, z(8)),
          ("blk.0.ssm_dt.weight", [1, 8], 0, z(8)), ("blk.0.ssm_in.weight", [4, 16], 0, z(64)),
          ("blk.0.ssm_out.weight", [8, 4], 0, z(32)), ("blk.0.ssm_x.weight", [8, 5], 0, z(40)),
          ("blk.0.attn_norm.weight", [4], 0, z(4)), ("output_norm.weight", [4], 0, z(4))]
    put("tiny_mamba.gguf", gguf(kv, mt))


if __name__ == "__main__":
    main()
