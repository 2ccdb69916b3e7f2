#!/usr/bin/python3
"""Regenerates the seed corpora tests/fuzz/<reader>/seeds/ (docs/verification.md "Fuzzing").

usage: tests/fuzz/make_seeds.py BIN_DIR   (BIN_DIR: a normal build's bin/, for quantize and compile)

Small valid files of every format, written by fqsim's own tools where one exists (.q, .tir, .mem)
and by the formats' definitions otherwise (llama2.c .bin, safetensors). The output is deterministic:
rerunning it gives the same bytes.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


def seeds(reader):
    d = os.path.join(HERE, reader, "seeds")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def llama2c(path, dim, hidden, layers, heads, kv_heads, vocab, seq, shared):
    rng = np.random.default_rng(dim * 1000 + layers)
    head = dim // heads
    kv_dim = dim * kv_heads // heads
    sizes = [vocab * dim, layers * dim, layers * dim * dim, layers * kv_dim * dim, layers * kv_dim * dim,
             layers * dim * dim, layers * dim, layers * hidden * dim, layers * dim * hidden, layers * hidden * dim,
             dim, seq * head // 2, seq * head // 2] + ([] if shared else [vocab * dim])
    with open(path, "wb") as f:
        f.write(struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab if shared else -vocab, seq))
        f.write(rng.standard_normal(sum(sizes)).astype("<f4").tobytes())


def safetensors(path, tensors, metadata=None):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, arr in tensors:
        raw = {"F32": lambda a: a.astype("<f4").tobytes(),
               "F16": lambda a: a.astype("<f2").tobytes(),
               "BF16": lambda a: (a.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()}[dtype](arr)
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def run(*args, cwd=None):
    subprocess.run(list(args), check=True, cwd=cwd, stdout=subprocess.DEVNULL)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    bin_dir = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="fq-seeds-")
    try:
        # .q: every weight format the writer knows, small enough to mutate quickly.
        d = seeds("qfile")
        qs = []
        for name, method in [("fineq", ["--method", "fineq"]), ("fineq-g", ["--method", "fineq", "--group", "6"]),
                             ("rtn8", ["--method", "rtn", "--bits", "8"]), ("rtn4", ["--method", "rtn", "--bits", "4"]),
                             ("rtn3", ["--method", "rtn", "--bits", "3"]), ("rtn2-g", ["--method", "rtn", "--bits", "2", "--group", "8"]),
                             ("bfp", ["--method", "bfp"]), ("mxint8", ["--method", "mxint8"]), ("mxfp4", ["--method", "mxfp4"])]:
            out = os.path.join(d, name + ".q")
            run(os.path.join(bin_dir, "quantize"), "--synthetic", "gemm:N=4,K=40", "--seed", "1", *method,
                "--threads", "1", "--out", out)
            qs.append((name, out))
        # .tir and .mem: a small layer compiled for each preset, the INT8 one also output stationary.
        dt, dm = seeds("tir"), seeds("mem")
        for arch, q, sets in [("fineq", "fineq", []), ("fineq-fixed", "fineq", ["--set", "pe.window=fixed"]),
                              ("int8", "rtn8", []), ("int8-os", "rtn8", ["--set", "dataflow=os"]),
                              ("int4", "rtn4", [])]:
            yaml = os.path.join(SRC, "configs", arch.split("-")[0] + ".yaml")
            prefix = os.path.join(tmp, arch)
            run(os.path.join(bin_dir, "compile"), "--arch", yaml, *sets, "--set", "array.rows=6", "--set",
                "array.cols=4", "--layer", dict(qs)[q], "--tokens", "3", "--out", prefix)
            shutil.copy(prefix + ".tir", os.path.join(dt, arch + ".tir"))
            shutil.copy(prefix + ".mem", os.path.join(dm, arch + ".mem"))
        # llama2.c checkpoints: shared and unshared classifier, grouped-query attention.
        d = seeds("llama2c")
        llama2c(os.path.join(d, "shared.bin"), 8, 16, 1, 2, 2, 12, 4, True)
        llama2c(os.path.join(d, "unshared-gqa.bin"), 8, 12, 2, 4, 2, 6, 2, False)
        # safetensors: each dtype, 1-D and 2-D, with and without metadata.
        d = seeds("safetensors")
        rng = np.random.default_rng(5)
        safetensors(os.path.join(d, "f32.safetensors"), [("layers.0.wq", "F32", rng.standard_normal((4, 6))),
                                                         ("norm", "F32", rng.standard_normal(6))])
        safetensors(os.path.join(d, "f16-meta.safetensors"), [("w", "F16", rng.standard_normal((3, 5)))],
                    {"format": "pt"})
        safetensors(os.path.join(d, "bf16-mixed.safetensors"), [("a", "BF16", rng.standard_normal((2, 4))),
                                                                ("b", "F32", rng.standard_normal((2, 2))),
                                                                ("c", "F16", rng.standard_normal(3))])
        # arch YAML: the presets, and the preset with --set overrides after a '\0'.
        d = seeds("arch")
        for arch in ["fineq", "int8", "int4"]:
            shutil.copy(os.path.join(SRC, "configs", arch + ".yaml"), os.path.join(d, arch + ".yaml"))
        with open(os.path.join(SRC, "configs", "int8.yaml"), "rb") as f:
            text = f.read()
        with open(os.path.join(d, "int8-set.yaml"), "wb") as f:
            f.write(text + b"\0array.rows=16\ndataflow=os\ntiming=scalesim\npe.weight_bits=4")
        # cost and synthesis tables.
        d = seeds("costs")
        for name in ["costs.yaml", "synth_area.yaml"]:
            shutil.copy(os.path.join(SRC, "configs", name), os.path.join(d, name))
        # SCALE-Sim topology CSV: with a header line, and without.
        d = seeds("topology")
        with open(os.path.join(d, "header.csv"), "w") as f:
            f.write("Layer, M, N, K,\nqkv, 4, 12, 8,\nffn up, 4, 16, 8,\n\nffn down, 4, 8, 16,\n")
        with open(os.path.join(d, "plain.csv"), "w") as f:
            f.write("g0,2,3,5,\r\ng1 , 1 , 7 , 3 ,\r\n")
        # llama2.c tokenizers: <unk>, <s>, </s>, the 256 byte tokens, merges (scores decide the
        # order); one with a space piece and one without (the dummy prefix falls back to a byte).
        d = seeds("tokenizer")
        for name, words in [("bytes-merges.bin", [" ", "e", " t", "he", " the", "\xc3\xa9", "on", "ce"]),
                            ("no-space.bin", ["ab", "abc"])]:
            pieces = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + [b"<0x%02X>" % i for i in range(256)]
            pieces += [w.encode("latin-1") for w in words]
            with open(os.path.join(d, name), "wb") as f:
                f.write(struct.pack("<i", max(len(p) for p in pieces)))
                for i, p in enumerate(pieces):
                    f.write(struct.pack("<fi", -float(i) if i >= 259 else 0.0, len(p)) + p)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
