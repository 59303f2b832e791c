#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerates the libFuzzer seed corpora in fuzz/corpus/<target>/ (kept small, < 1 MB in all).

Seeds: tiny synthetic safetensors files and 4 KiB prefixes of the real test checkpoints; torch
state-dict pickles (protocol 2 as torch.save writes them, and protocol 4) produced with stand-in
`torch` modules; small torch.save-style zips (64-byte aligned entries, ZIP64 end records, like
PyTorch's writer) plus a plain zipfile one; every distinct config.json of the test models.
Usage: fuzz/make_seeds.py [models_dir]   (default: /work/shared/testdata/models, else
tests/data/models). Needs only the Python standard library.
"""
import collections
import glob
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- safetensors
def safetensors(tensors, metadata=True, pad=8):
    """tensors: list of (name, dtype, shape, bytes)."""
    header = collections.OrderedDict()
    if metadata:
        header["__metadata__"] = {"format": "pt"}
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((pad - (8 + len(text)) % pad) % pad)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


# ---------------------------------------------------------------- torch-like pickles
def fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    torch._utils = utils
    for name in ("FloatStorage", "HalfStorage", "BFloat16Storage"):
        cls = type(name, (), {})
        cls.__module__ = "torch"
        cls.__qualname__ = name
        setattr(torch, name, cls)

    def _rebuild_tensor_v2(*args):
        raise AssertionError

    def _rebuild_parameter(*args):
        raise AssertionError

    for fn in (_rebuild_tensor_v2, _rebuild_parameter):
        fn.__module__ = "torch._utils"
        fn.__qualname__ = fn.__name__
        setattr(utils, fn.__name__, fn)
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return torch, utils


TORCH, UTILS = fake_torch()


class Storage:
    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride, parameter=False):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())
        self.parameter = parameter

    def __reduce_ex__(self, protocol):
        if self.parameter:
            inner = Tensor(*self.args[:4])
            return (UTILS._rebuild_parameter, (inner, True, collections.OrderedDict()))
        return (UTILS._rebuild_tensor_v2, self.args)


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(TORCH, obj.kind), obj.key, "cpu", obj.numel)
        return None


def state_dict_pickle(items, protocol=2):
    sd = collections.OrderedDict(items)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    buf = io.BytesIO()
    TorchPickler(buf, protocol=protocol).dump(sd)
    return buf.getvalue()


def sample_state_dict(parameter=False):
    """(pickle items, {storage key: bytes}) with F32/F16/BF16, a tied pair and an offset view."""
    s0 = Storage("FloatStorage", "0", 6)
    s1 = Storage("HalfStorage", "1", 4)
    s2 = Storage("BFloat16Storage", "2", 3)
    items = [
        ("embedding.weight", Tensor(s0, 0, [2, 3], [3, 1], parameter)),
        ("norm.bias", Tensor(s1, 1, [3], [1])),
        ("scalar", Tensor(s2, 2, [], [])),
        ("lm_head.weight", Tensor(s0, 0, [2, 3], [3, 1])),
        ("step", 7),
    ]
    data = {"0": struct.pack("<6f", *range(6)), "1": b"\x00\x3c" * 4, "2": b"\x80\x3f" * 3}
    return items, data


# ---------------------------------------------------------------- zips
def torch_zip(entries, zip64=True, align=64):
    """Stored entries, data aligned like PyTorch's writer; ZIP64 end records when zip64."""
    out = bytearray()
    offsets = []
    for name, data in entries:
        name = name.encode()
        offsets.append(len(out))
        end = len(out) + 30 + len(name)
        extra = (align - (end + 4) % align) % align + 4
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, len(data), len(data),
                           len(name), extra)
        out += name + b"FB" + struct.pack("<H", extra - 4) + b"Z" * (extra - 4) + data
    cd = len(out)
    for (name, data), off in zip(entries, offsets):
        name = name.encode()
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 20, 0, 0, 0, 0, 0, len(data),
                           len(data), len(name), 0, 0, 0, 0, 0, off)
        out += name
    cd_size = len(out) - cd
    n = len(entries)
    if zip64:
        rec = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd)
        out += struct.pack("<IIQI", 0x07064B50, 0, rec, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                           0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size, cd, 0)
    return bytes(out)


def checkpoint_entries(prefix, pkl, data, torch2=False):
    entries = [(prefix + "/data.pkl", pkl)]
    if torch2:
        entries.append((prefix + "/byteorder", b"little"))
    entries += [(prefix + "/data/" + k, v) for k, v in data.items()]
    entries.append((prefix + "/version", b"3\n"))
    if torch2:
        entries.append((prefix + "/.data/serialization_id", b"1234567890"))
    return entries


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/testdata/models"
    if not os.path.isdir(models):
        models = os.path.join(ROOT, "tests", "data", "models")

    # fuzz_safetensors
    f32 = struct.pack("<4f", 1, 2, 3, 4)
    put("fuzz_safetensors", "tiny_f32.safetensors",
        safetensors([("a", "F32", [2, 2], f32), ("b", "F32", [1], f32[:4])]))
    put("fuzz_safetensors", "mixed.safetensors",
        safetensors([("w", "F32", [2], f32[:8]), ("h", "F16", [3], b"\x00\x3c" * 3),
                     ("z", "BF16", [0, 4], b""), ("s", "BF16", [], b"\x80\x3f")]))
    put("fuzz_safetensors", "empty.safetensors", safetensors([], metadata=False))
    for rel in ("mamba1-tiny/model.safetensors", "mamba1-tiny/variants/f16/model.safetensors",
                "mamba1-tiny/variants/bf16/model.safetensors",
                "mamba1-hf-dstate8/model.safetensors", "mamba2-tiny/model.safetensors"):
        path = os.path.join(models, rel)
        if os.path.exists(path):
            with open(path, "rb") as f:
                raw = f.read()
            put("fuzz_safetensors", rel.replace("/", "_") + ".head4k", raw[:4096])
    # A complete file with the real tensor names, each shrunk to two elements.
    path = os.path.join(models, "mamba1-tiny", "variants", "f16", "model.safetensors")
    if os.path.exists(path):
        with open(path, "rb") as f:
            raw = f.read()
        n = struct.unpack("<Q", raw[:8])[0]
        names = [k for k in json.loads(raw[8:8 + n]) if k != "__metadata__"]
        put("fuzz_safetensors", "mamba1-tiny_names_small.safetensors",
            safetensors([(k, "F16", [1, 2], b"\x00\x3c\x00\xbc") for k in names]))

    # fuzz_pickle
    items, data = sample_state_dict()
    p2 = state_dict_pickle(items, 2)
    p4 = state_dict_pickle(sample_state_dict(parameter=True)[0], 4)
    put("fuzz_pickle", "sample_p2.pkl", p2)
    put("fuzz_pickle", "sample_p4_parameter.pkl", p4)
    for rel in ("mamba1-tiny/variants/pt_bin/pytorch_model.bin",
                "mamba2-tiny/variants/pt_bin/pytorch_model.bin"):
        path = os.path.join(models, rel)
        if os.path.exists(path):
            with zipfile.ZipFile(path) as z:
                name = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
                put("fuzz_pickle", rel.split("/")[0] + "_data.pkl", z.read(name))

    # fuzz_pytorch_bin
    put("fuzz_pytorch_bin", "sample_torch1.bin",
        torch_zip(checkpoint_entries("pytorch_model", p2, data)))
    put("fuzz_pytorch_bin", "sample_torch2_archive.bin",
        torch_zip(checkpoint_entries("archive", p4, data, torch2=True)))
    put("fuzz_pytorch_bin", "sample_no_zip64.bin",
        torch_zip(checkpoint_entries("m", p2, data), zip64=False, align=1))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, payload in checkpoint_entries("pyzip", p2, data):
            z.writestr(name, payload)
    put("fuzz_pytorch_bin", "sample_pyzipfile.bin", buf.getvalue())

    # fuzz_model_config
    seen = set()
    for path in sorted(glob.glob(os.path.join(models, "*", "config.json")) +
                       glob.glob(os.path.join(models, "*", "variants", "*", "config.json"))):
        with open(path, "rb") as f:
            text = f.read()
        digest = hashlib.sha256(text).hexdigest()[:8]
        if digest in seen:
            continue
        seen.add(digest)
        rel = os.path.relpath(path, models).replace("/", "_")
        put("fuzz_model_config", rel, text)


if __name__ == "__main__":
    main()
