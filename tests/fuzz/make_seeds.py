#!/usr/bin/python3
"""Regenerates the seed corpora tests/fuzz/<reader>/seeds/ (docs/verification.md "Fuzzing").

usage: tests/fuzz/make_seeds.py BIN_DIR   (BIN_DIR: a normal build's bin/, for quantize, compile and sweep)

Small valid files of every format, written by fqsim's own tools where one exists (.q, .tir, .mem, sweep CSV)
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


def safetensors_bytes(path_tmp, tensors):
    safetensors(path_tmp, tensors)
    with open(path_tmp, "rb") as f:
        return f.read()


def hf_input(path, tmp, dim, hidden, layers, heads, kv_heads, vocab, seq, tied, dtype):
    """A Hugging Face directory as fuzz_hf_config takes it: u32 length, config.json, model.safetensors."""
    rng = np.random.default_rng(dim * 100 + layers * 10 + kv_heads)
    kv_dim = dim * kv_heads // heads
    t = [("model.embed_tokens.weight", (vocab, dim))]
    for layer in range(layers):
        p = "model.layers.%d." % layer
        t += [(p + "input_layernorm.weight", (dim,)), (p + "self_attn.q_proj.weight", (dim, dim)),
              (p + "self_attn.k_proj.weight", (kv_dim, dim)), (p + "self_attn.v_proj.weight", (kv_dim, dim)),
              (p + "self_attn.o_proj.weight", (dim, dim)), (p + "post_attention_layernorm.weight", (dim,)),
              (p + "mlp.gate_proj.weight", (hidden, dim)), (p + "mlp.down_proj.weight", (dim, hidden)),
              (p + "mlp.up_proj.weight", (hidden, dim))]
    t += [("model.norm.weight", (dim,))] + ([] if tied else [("lm_head.weight", (vocab, dim))])
    weights = safetensors_bytes(os.path.join(tmp, "hf.safetensors"),
                                [(name, dtype, rng.standard_normal(shape)) for name, shape in t])
    config = json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
                         "intermediate_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
                         "num_key_value_heads": kv_heads, "vocab_size": vocab, "max_position_embeddings": seq,
                         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
                         "tie_word_embeddings": tied}, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<I", len(config)) + config + weights)


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
        # sweep CSVs as `sweep --out` writes them (ok rows; invalid rows with quoted reasons; one
        # swept key), then one cut mid-row and one resumed after a crash (the cut row kept).
        d = seeds("sweep_csv")
        for name, arch, sets, gemm in [("rows-cols", "int8", ["array.rows=4,8", "array.cols=4,8"], "4,8,16"),
                                       ("invalid", "fineq", ["pe.window=fixed,tile", "array.rows=2,1000000"], "4,8,16"),
                                       ("dataflow", "int8", ["dataflow=ws,os"], "2,4,8")]:
            out = os.path.join(d, name + ".csv")
            run(os.path.join(bin_dir, "sweep"), "--arch", "configs/%s.yaml" % arch,
                *[x for kv in sets for x in ("--set", kv)], "--gemm", gemm, "--jobs", "1", "--no-plots",
                "--out", out, cwd=SRC)
        with open(os.path.join(d, "rows-cols.csv"), "rb") as f:
            text = f.read()
        with open(os.path.join(d, "cut.csv"), "wb") as f:
            f.write(text[:len(text) - 40])
        with open(os.path.join(d, "resumed.csv"), "wb") as f:
            f.write(text[:len(text) - 40] + text[text.index(b"\n") + 1:])
        # Hugging Face directories: tied F32, untied BF16 with grouped-query attention, F16.
        d = seeds("hf_config")
        hf_input(os.path.join(d, "tied-f32.bin"), tmp, 8, 12, 1, 2, 2, 6, 4, True, "F32")
        hf_input(os.path.join(d, "untied-gqa-bf16.bin"), tmp, 8, 16, 2, 2, 1, 5, 3, False, "BF16")
        hf_input(os.path.join(d, "f16.bin"), tmp, 4, 4, 1, 1, 1, 3, 2, True, "F16")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
