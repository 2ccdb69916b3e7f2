// The DRAM as the DMA engines see it: one request per burst row. The built-in model is the
// documented channel pair (docs/architecture.md "DMA and DRAM"): reads return their first data
// max(request + L, read channel free), the channel then busy ceil(bytes / B) cycles per row;
// a write is acknowledged L cycles after its last byte. In the SystemC model the same requests
// travel as TLM-2.0 transactions (sim/systemc/sc_dram.h), so any TLM target can stand in.
#pragma once

#include "model/arch/arch_config.h"
#include "model/ir/mem_image.h"

#include <cstdint>
#include <span>

namespace fq::sim {

class DramPort {
 public:
  virtual ~DramPort() = default;
  // A row read requested in cycle c: fills `out` and returns the first cycle its data may move.
  virtual uint64_t read(uint64_t c, uint64_t addr, std::span<uint8_t> out) = 0;
  // A row write whose last byte left the DMA in cycle c: returns the cycle it is acknowledged.
  virtual uint64_t write(uint64_t c, uint64_t addr, std::span<const uint8_t> data) = 0;
};

// The timing half of the built-in DRAM, shared by DramModel and the SystemC DRAM target.
class DramTiming {
 public:
  DramTiming(uint64_t latency, uint64_t bytes_per_cycle) : m_latency(latency), m_bpc(bytes_per_cycle) {}
  explicit DramTiming(const ArchConfig& arch)
      : DramTiming(static_cast<uint64_t>(arch.dram_latency_cycles), static_cast<uint64_t>(arch.dram_bytes_per_cycle)) {}
  uint64_t read(uint64_t c, uint64_t bytes) {
    const uint64_t start = std::max(c + m_latency, m_read_free);
    m_read_free = start + (bytes + m_bpc - 1) / m_bpc;
    return start;
  }
  uint64_t write(uint64_t c) const { return c + 1 + m_latency; }
  uint64_t latency() const { return m_latency; }

 private:
  uint64_t m_latency, m_bpc;
  uint64_t m_read_free = 0;
};

// DRAM contents (a MemoryImage) with the built-in timing: the kernel-free machine's DRAM.
class DramModel final : public DramPort {
 public:
  DramModel(ir::MemoryImage& mem, const ArchConfig& arch) : m_mem(mem), m_timing(arch) {}
  uint64_t read(uint64_t c, uint64_t addr, std::span<uint8_t> out) override {
    m_mem.read(addr, out);
    return m_timing.read(c, out.size());
  }
  uint64_t write(uint64_t c, uint64_t addr, std::span<const uint8_t> data) override {
    m_mem.write(addr, data);
    return m_timing.write(c);
  }

 private:
  ir::MemoryImage& m_mem;
  DramTiming m_timing;
};

}  // namespace fq::sim
