// fuzz_costs: the input is parsed as a cost table (configs/costs.yaml) and as a synthesis table
// (configs/synth_area.yaml); a cost table that parses prices configs/fineq.yaml (area and the
// energy of a fixed set of action counts), as `simulate` does.
#include "fuzz/targets.h"

#include "model/arch/arch_config.h"
#include "model/core/error.h"
#include "model/cost/cost_model.h"

#include <string>

namespace fq::fuzz {

int costs(const uint8_t* data, size_t size) {
  static const ArchConfig kArch = load_arch(FQ_SOURCE_DIR "/configs/fineq.yaml");
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)cost::parse_synth_table(text, "fuzz_synth.yaml");
  } catch (const Error&) {
  }
  try {
    const cost::CostModel model(cost::parse_cost_tables(text, "fuzz_costs.yaml"), kArch);
    timing::ActionCounts a;
    a.dram_read_bytes = 1 << 20;
    a.dram_write_bytes = 1 << 16;
    a.buf_read_bytes = {1 << 18, 1 << 17, 1 << 16, 1 << 10};
    a.buf_write_bytes = {1 << 18, 1 << 17, 1 << 16, 1 << 10};
    a.decoder_bytes = 1 << 18;
    a.pe_pulses = 1 << 24;
    a.pe_idle_cycles = 1 << 20;
    a.pe_beats = 1 << 24;
    a.weight_writes = 1 << 16;
    a.dequant_elems = 1 << 14;
    a.useful_macs = 1 << 26;
    (void)model.energy_pj(a, 1 << 20);
    (void)model.area_um2();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace fq::fuzz
