#include "sim/cycle/epilogue.h"

#include "model/core/fp16.h"

#include <bit>
#include <cstring>

namespace fq::sim {

using ir::Buffer;

void EpilogueCore::take(ir::OpId id, uint64_t c) {
  const ir::TileOp& op = m_env.p.op(id);
  const uint64_t C = static_cast<uint64_t>(m_env.arch.cols);
  const uint64_t per_row = (op.n + C - 1) / C;
  m_inorder.push(id);
  m_env.log.ctrl(id, timing::CtrlReg::kCtlIssue);
  m_env.log.ctrl(id, timing::CtrlReg::kEpiIssue);
  if (m_env.scalesim()) {
    for (uint64_t ch = 0; ch < op.m * per_row; ++ch) chunk(id, ch, per_row);
    m_env.log.stamp(id, c);
    return;
  }
  m_busy = true;
  m_id = id;
  m_start = c;
  m_chunks = op.m * per_row;
  m_next = 0;
}

bool EpilogueCore::work(uint64_t c) {
  if (!m_busy) return false;
  const ir::TileOp& op = m_env.p.op(m_id);
  const uint64_t C = static_cast<uint64_t>(m_env.arch.cols);
  const bool read = m_next < m_chunks;
  const uint64_t per_row = (op.n + C - 1) / C;
  if (read) {
    // rtl/fq_epilogue.v: the chunk enters stage 1 (with the column counter), moves to stage 2 in
    // the next cycle; both valid bits are written while chunks pass; the row counter at a row's end.
    if (m_next % per_row == per_row - 1) m_env.log.ctrl(m_id, timing::CtrlReg::kEpiRow);
    chunk(m_id, m_next++, per_row);
    for (auto g : {timing::CtrlReg::kEpiChunk, timing::CtrlReg::kEpiStage2, timing::CtrlReg::kEpiValid1,
                   timing::CtrlReg::kEpiValid2}) {
      m_env.log.ctrl(m_id, g);
    }
  }
  // Two pipeline stages (scale multiply, write) after the last read.
  if (c == m_start + m_chunks + 1) {
    // Each valid bit written once more as the last chunk drains, the busy flag dropped.
    for (auto g : {timing::CtrlReg::kEpiValid1, timing::CtrlReg::kEpiValid2, timing::CtrlReg::kEpiFinish}) {
      m_env.log.ctrl(m_id, g);
    }
    m_env.log.stamp(m_id, c + 1);
    m_busy = false;
  }
  return read;
}

void EpilogueCore::chunk(ir::OpId id, uint64_t chunk, uint64_t per_row) {
  const ir::TileOp& op = m_env.p.op(id);
  Buffers& buf = m_env.buf;
  const uint64_t C = static_cast<uint64_t>(m_env.arch.cols);
  const uint64_t r = chunk / per_row;
  const uint64_t j0 = (chunk % per_row) * C;
  const uint64_t j1 = std::min<uint64_t>(op.n, j0 + C);
  uint32_t sa_bits = 0;
  std::memcpy(&sa_bits, buf.at(Buffer::kSbuf, op.as + 4 * r), 4);
  const float sa = std::bit_cast<float>(sa_bits);
  if (chunk % per_row == 0) m_env.log.rd(id, Buffer::kSbuf) += 4;
  if (r == 0) m_env.log.rd(id, Buffer::kSbuf) += 2 * (j1 - j0);
  for (uint64_t j = j0; j < j1; ++j) {
    int32_t a = 0;
    std::memcpy(&a, buf.at(Buffer::kObuf, op.src + r * op.src_stride + 4 * j), 4);
    uint16_t swb = 0;
    std::memcpy(&swb, buf.at(Buffer::kSbuf, op.ws + 2 * j), 2);
    const float y = (static_cast<float>(a) * fp16_to_float(swb)) * sa;
    std::memcpy(buf.at(Buffer::kObuf, op.dst + r * op.dst_stride + 4 * j), &y, 4);
  }
  m_env.log.rd(id, Buffer::kObuf) += 4 * (j1 - j0);
  m_env.log.wr(id, Buffer::kObuf) += 4 * (j1 - j0);
  m_env.log.A(id).dequant_elems += j1 - j0;
}

}  // namespace fq::sim
