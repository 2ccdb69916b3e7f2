#include "model/ir/tile_interpreter.h"

#include "model/core/error.h"
#include "model/core/fp16.h"
#include "model/ir/verifier.h"
#include "model/quant/cluster_codec.h"

#include <bit>
#include <cstring>
#include <vector>

namespace fq::golden {
namespace {

using ir::Buffer;
using ir::Opcode;
using ir::TileOp;

class Interpreter {
 public:
  Interpreter(const ir::TileProgram& p, const ArchConfig& arch, ir::MemoryImage& mem)
      : m_p(p), m_arch(arch), m_mem(mem), m_weights(static_cast<size_t>(arch.rows) * static_cast<size_t>(arch.cols)) {
    m_buf[static_cast<int>(Buffer::kWbuf)].resize(static_cast<size_t>(arch.weight_bytes));
    m_buf[static_cast<int>(Buffer::kAbuf)].resize(static_cast<size_t>(arch.act_bytes));
    m_buf[static_cast<int>(Buffer::kObuf)].resize(static_cast<size_t>(arch.out_bytes));
    m_buf[static_cast<int>(Buffer::kSbuf)].resize(static_cast<size_t>(arch.scale_bytes));
  }

  InterpreterStats run() {
    for (const TileOp& op : m_p.ops()) {
      switch (op.opcode) {
        case Opcode::kDmaLoad: dma_load(op); break;
        case Opcode::kDmaStore: dma_store(op); break;
        case Opcode::kPreload: preload(op); break;
        case Opcode::kMatmul: matmul(op); break;
        case Opcode::kOsMatmul: os_matmul(op); break;
        case Opcode::kDequant: dequant(op); break;
      }
      ++m_stats.ops;
    }
    return m_stats;
  }

 private:
  uint8_t* buf(Buffer b, uint64_t addr) { return m_buf[static_cast<int>(b)].data() + addr; }

  void dma_load(const TileOp& op) {
    for (uint64_t r = 0; r < op.rows; ++r) {
      m_mem.read(op.src + r * op.src_stride, {buf(op.buf, op.dst + r * op.dst_stride), op.bytes});
    }
  }

  void dma_store(const TileOp& op) {
    for (uint64_t r = 0; r < op.rows; ++r) {
      m_mem.write(op.dst + r * op.dst_stride, {buf(Buffer::kObuf, op.src + r * op.src_stride), op.bytes});
    }
  }

  // Decodes row j of a weight tile (k weights from the cluster or byte holding k0) into out.
  void decode_tile_row(HwFormat format, const uint8_t* row, uint32_t k, int8_t* out) const {
    if (format == HwFormat::kFineqR) {
      for (uint32_t i = 0; i < k; ++i) out[i] = decode_cluster(row[i / 3])[i % 3];
      return;
    }
    const auto bytes = ir::weight_row_bytes(format, k);
    unpack_int_row({row, bytes}, format_int_bits(format), {out, k});
  }

  void preload(const TileOp& op) {
    const auto format = m_p.gemms[op.gemm].format;
    std::vector<int8_t> col(op.k);
    std::fill(m_weights.begin(), m_weights.end(), int8_t{0});
    for (uint32_t j = 0; j < op.n; ++j) {
      decode_tile_row(format, buf(Buffer::kWbuf, op.src + uint64_t{j} * op.src_stride), op.k, col.data());
      for (uint32_t i = 0; i < op.k; ++i) m_weights[i * static_cast<size_t>(m_arch.cols) + j] = col[i];
    }
    m_tile_k = op.k;
    m_tile_n = op.n;
  }

  static int32_t wrap_add(int32_t a, int64_t b) {
    return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(static_cast<int64_t>(b)));
  }

  int32_t load_i32(Buffer b, uint64_t addr) {
    int32_t v;
    std::memcpy(&v, buf(b, addr), 4);
    return v;
  }
  void store_i32(Buffer b, uint64_t addr, int32_t v) { std::memcpy(buf(b, addr), &v, 4); }

  void matmul(const TileOp& op) {
    for (uint32_t r = 0; r < op.m; ++r) {
      const auto* a = reinterpret_cast<const int8_t*>(buf(Buffer::kAbuf, op.src + uint64_t{r} * op.src_stride));
      for (uint32_t j = 0; j < m_tile_n; ++j) {
        int64_t sum = 0;
        for (uint32_t i = 0; i < m_tile_k; ++i) sum += int64_t{a[i]} * m_weights[i * static_cast<size_t>(m_arch.cols) + j];
        const uint64_t addr = op.dst + uint64_t{r} * op.dst_stride + 4ull * j;
        store_i32(Buffer::kObuf, addr, wrap_add(op.acc ? load_i32(Buffer::kObuf, addr) : 0, sum));
      }
    }
    m_stats.macs += uint64_t{op.m} * m_tile_n * m_tile_k;
  }

  void os_matmul(const TileOp& op) {
    const auto format = m_p.gemms[op.gemm].format;
    std::vector<int8_t> w(op.k);
    for (uint32_t j = 0; j < op.n; ++j) {
      decode_tile_row(format, buf(Buffer::kWbuf, op.w_src + uint64_t{j} * op.w_stride), op.k, w.data());
      for (uint32_t r = 0; r < op.m; ++r) {
        const auto* a = reinterpret_cast<const int8_t*>(buf(Buffer::kAbuf, op.src + uint64_t{r} * op.src_stride));
        int64_t sum = 0;
        for (uint32_t i = 0; i < op.k; ++i) sum += int64_t{a[i]} * w[i];
        const uint64_t addr = op.dst + uint64_t{r} * op.dst_stride + 4ull * j;
        store_i32(Buffer::kObuf, addr, wrap_add(op.acc ? load_i32(Buffer::kObuf, addr) : 0, sum));
      }
    }
    m_stats.macs += uint64_t{op.m} * op.n * op.k;
  }

  void dequant(const TileOp& op) {
    for (uint32_t r = 0; r < op.m; ++r) {
      float s_a;
      std::memcpy(&s_a, buf(Buffer::kSbuf, op.as + 4ull * r), 4);
      for (uint32_t j = 0; j < op.n; ++j) {
        uint16_t s_w_bits;
        std::memcpy(&s_w_bits, buf(Buffer::kSbuf, op.ws + 2ull * j), 2);
        const int32_t acc = load_i32(Buffer::kObuf, op.src + uint64_t{r} * op.src_stride + 4ull * j);
        const float y = static_cast<float>(acc) * fp16_to_float(s_w_bits) * s_a;  // spec §4 order
        std::memcpy(buf(Buffer::kObuf, op.dst + uint64_t{r} * op.dst_stride + 4ull * j), &y, 4);
      }
    }
  }

  const ir::TileProgram& m_p;
  const ArchConfig& m_arch;
  ir::MemoryImage& m_mem;
  std::vector<uint8_t> m_buf[ir::kNumBuffers];
  std::vector<int8_t> m_weights;  // [rows][cols] of the stationary tile
  uint32_t m_tile_k = 0, m_tile_n = 0;
  InterpreterStats m_stats;
};

}  // namespace

InterpreterStats run_tile_program(const ir::TileProgram& program, const ArchConfig& arch, ir::MemoryImage& memory) {
  const std::string fp = fingerprint(arch);
  if (program.arch_fingerprint != fp || memory.arch_fingerprint != fp) {
    fail("golden: the program (arch {}) and memory image (arch {}) were not compiled for this arch ({}, {})",
         program.arch_fingerprint, memory.arch_fingerprint, arch.name, fp);
  }
  ir::verify(program, arch, fp, memory.end_bytes());
  return Interpreter(program, arch, memory).run();
}

}  // namespace fq::golden
