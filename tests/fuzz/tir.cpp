// fuzz_tir: a .tir text is parsed, checked by the verifier against configs/fineq.yaml, printed
// and parsed again; the text-form contract (tir_text.h) says the second parse equals the first
// and printing it again gives the same bytes.
#include "fuzz/targets.h"

#include "model/arch/arch_config.h"
#include "model/core/error.h"
#include "model/ir/tir_text.h"
#include "model/ir/verifier.h"

#include <string>

namespace fq::fuzz {

int tir(const uint8_t* data, size_t size) {
  static const ArchConfig kArch = load_arch(FQ_SOURCE_DIR "/configs/fineq.yaml");
  static const std::string kFingerprint = fingerprint(kArch);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ir::TileProgram p;
  try {
    p = ir::parse_tir_text(text, "fuzz.tir");
  } catch (const Error&) {
    return 0;
  }
  // The program's own fingerprint too, so that a mismatch does not stop the verifier early.
  (void)ir::check(p, kArch, kFingerprint, uint64_t{1} << 32);
  (void)ir::check(p, kArch, p.arch_fingerprint, uint64_t{1} << 32);
  const std::string printed = ir::to_tir_text(p);
  const ir::TileProgram q = ir::parse_tir_text(printed, "printed.tir");
  if (!(q == p)) broken("parse(print(p)) != p for:\n" + printed);
  if (ir::to_tir_text(q) != printed) broken("printing the reparsed program gives other bytes:\n" + printed);
  return 0;
}

}  // namespace fq::fuzz
