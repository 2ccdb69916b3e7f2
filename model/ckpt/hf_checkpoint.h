// Hugging Face-style LLaMA checkpoints: a directory with `config.json` and one `model.safetensors`
// (F32, F16 or BF16), tensor names `model.embed_tokens.weight`, `model.layers.N.self_attn.q_proj.
// weight` … `lm_head.weight`, seen through the llama2.c tensor names and layout that model/llm
// reads (tok_embeddings, layers.N.wq …, norm, output, and the RoPE table's shape freq_cis_real).
// Contract: q_proj and k_proj rows are un-permuted as llama2.c's export.py does (HF stores each
// head's rotary pairs as two halves; llama2.c as adjacent pairs): llama2.c row h·hs + 2i + j is HF
// row h·hs + j·hs/2 + i, per head of size hs (n_heads heads for q, n_kv_heads for k). config.json
// must describe what model/llm computes (llama, silu, rms_norm_eps 1e-5, rope_theta 10000, no
// rope_scaling); anything else, a sharded checkpoint, a missing or mis-shaped tensor, is an
// fq::Error naming the file and the key or tensor.
#pragma once

#include "model/ckpt/checkpoint.h"

#include <filesystem>
#include <memory>

namespace fq {

// `path` is the directory or its config.json.
std::unique_ptr<ICheckpoint> open_hf_checkpoint(const std::filesystem::path& path);

// A directory or a config.json: open_hf_checkpoint(); anything else: open_checkpoint().
std::unique_ptr<ICheckpoint> open_model_checkpoint(const std::filesystem::path& path);

}  // namespace fq
