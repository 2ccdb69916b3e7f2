// The fuzz targets: one function per reader, each taking arbitrary bytes as that reader's input
// (docs/verification.md "Fuzzing"). A target returns normally when the reader accepted the input
// or rejected it with fq::Error; anything else (another exception, a failed round trip, a
// sanitizer report) is a crash. The libFuzzer executables (FQ_FUZZ=ON) and fq_fuzz_replay (every
// build, for the corpora and crash regressions under ctest) call the same functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace fq {
class ICheckpoint;
}

namespace fq::fuzz {

int qfile(const uint8_t* data, size_t size);        // .q: read, decode, CRCs repaired, write back
int llama2c(const uint8_t* data, size_t size);      // llama2.c .bin through open_checkpoint()
int safetensors(const uint8_t* data, size_t size);  // safetensors header and tensors
int arch(const uint8_t* data, size_t size);         // arch YAML, then '\0', then --set lines
int costs(const uint8_t* data, size_t size);        // costs.yaml and synth_area.yaml
int topology(const uint8_t* data, size_t size);     // SCALE-Sim topology CSV
int tir(const uint8_t* data, size_t size);          // .tir: parse, verify, print, reparse
int mem(const uint8_t* data, size_t size);          // .mem: read, CRCs repaired, write back
int tokenizer(const uint8_t* data, size_t size);    // llama2.c tokenizer: parse, encode, decode
int sweep_csv(const uint8_t* data, size_t size);    // sweep CSV resume: parse, re-serialise, reparse
int hf_config(const uint8_t* data, size_t size);    // HF config.json + model.safetensors, load_llama

// The same bytes with every CRC recomputed wherever the layout lets the field be found (the
// targets run both, so the parser behind the checksums is searched too; tests craft headers with it).
std::vector<uint8_t> qfile_with_crcs_repaired(std::vector<uint8_t> bytes);
std::vector<uint8_t> mem_with_crcs_repaired(std::vector<uint8_t> bytes);

// Loads every tensor of a checkpoint: the value count must equal the shape's (fuzz_llama2c,
// fuzz_safetensors, fuzz_hf_config).
void load_every_tensor(const ICheckpoint& ckpt);

// Runs `run` on the bytes, then on repair(bytes) when that differs.
int run_raw_and_repaired(const uint8_t* data, size_t size, void (*run)(const std::vector<uint8_t>&),
                         std::vector<uint8_t> (*repair)(std::vector<uint8_t>));

// A violated property of a reader that accepted the input: prints `what` and aborts, which
// libFuzzer and ctest both report as a crash.
[[noreturn]] void broken(const std::string& what);

// The bytes as a file of this process (readers that take a path); overwritten on every call.
std::filesystem::path as_file(std::span<const uint8_t> bytes, const char* suffix);
// Another per-process file name (for write-back round trips); `suffix` starts with ".".
std::filesystem::path scratch_path(const char* suffix);
// Removes this process's files (and folders) of as_file() and scratch_path().
void remove_scratch_files();

}  // namespace fq::fuzz
