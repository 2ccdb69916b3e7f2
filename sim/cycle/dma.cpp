#include "sim/cycle/dma.h"

#include <algorithm>
#include <cstring>

namespace fq::sim {

using ir::Buffer;
using ir::TileOp;

void DmaReadCore::take(ir::OpId id, uint64_t c) {
  const TileOp& op = m_env.p.op(id);
  m_inorder.push(id);
  m_env.log.ctrl(id, timing::CtrlReg::kCtlIssue);
  m_env.log.ctrl(id, timing::CtrlReg::kDinIssue);
  Transfer t;
  t.id = id;
  t.data.resize(uint64_t{op.rows} * op.bytes);
  t.arrive.resize(op.rows);
  for (uint32_t r = 0; r < op.rows; ++r) {
    t.arrive[r] = m_dram->read(c, op.src + uint64_t{r} * op.src_stride, {t.data.data() + uint64_t{r} * op.bytes, op.bytes});
  }
  if (m_env.scalesim()) {  // ideal memory: everything lands now
    for (uint32_t r = 0; r < op.rows; ++r) {
      std::memcpy(m_env.buf.at(op.buf, op.dst + uint64_t{r} * op.dst_stride), t.data.data() + uint64_t{r} * op.bytes, op.bytes);
    }
    m_env.log.A(id).dram_read_bytes += uint64_t{op.rows} * op.bytes;
    m_env.log.wr(id, op.buf) += uint64_t{op.rows} * op.bytes;
    m_env.log.stamp(id, c);
    return;
  }
  m_q.push_back(std::move(t));
}

DmaBeat DmaReadCore::work(uint64_t c) {
  if (m_q.empty() || m_q.front().arrive[m_q.front().row] > c) return {};
  Transfer& t = m_q.front();
  const TileOp& op = m_env.p.op(t.id);
  const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(m_env.arch.dram_bytes_per_cycle), op.bytes - t.offset);
  std::memcpy(m_env.buf.at(op.buf, op.dst + uint64_t{t.row} * op.dst_stride + t.offset),
              t.data.data() + uint64_t{t.row} * op.bytes + t.offset, n);
  m_env.log.A(t.id).dram_read_bytes += n;
  m_env.log.wr(t.id, op.buf) += n;
  m_env.log.ctrl(t.id, timing::CtrlReg::kDinChunk);  // rtl/fq_dma_in.v: the offset, every chunk
  const DmaBeat beat{true, t.id, n};
  t.offset += n;
  if (t.offset == op.bytes) {
    t.offset = 0;
    ++t.row;
    m_env.log.ctrl(t.id, timing::CtrlReg::kDinRow);
  }
  if (t.row == op.rows) {
    m_env.log.ctrl(t.id, timing::CtrlReg::kDinDone);
    m_env.log.stamp(t.id, c + 1);
    m_q.pop_front();
  }
  return beat;
}

void DmaWriteCore::take(ir::OpId id, uint64_t c) {
  const TileOp& op = m_env.p.op(id);
  m_inorder.push(id);
  m_env.log.ctrl(id, timing::CtrlReg::kCtlIssue);
  m_env.log.ctrl(id, timing::CtrlReg::kDoutIssue);
  if (m_env.scalesim()) {
    for (uint32_t r = 0; r < op.rows; ++r) {
      m_dram->write(c, op.dst + uint64_t{r} * op.dst_stride, {m_env.buf.at(Buffer::kObuf, op.src + uint64_t{r} * op.src_stride), op.bytes});
    }
    m_env.log.rd(id, Buffer::kObuf) += uint64_t{op.rows} * op.bytes;
    m_env.log.A(id).dram_write_bytes += uint64_t{op.rows} * op.bytes;
    m_env.log.stamp(id, c);
    return;
  }
  m_q.push_back({id, 0, 0});
}

DmaBeat DmaWriteCore::work(uint64_t c) {
  if (m_q.empty()) return {};
  Transfer& t = m_q.front();
  const TileOp& op = m_env.p.op(t.id);
  const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(m_env.arch.dram_bytes_per_cycle), op.bytes - t.offset);
  if (t.offset == 0) m_row.resize(op.bytes);
  std::memcpy(m_row.data() + t.offset, m_env.buf.at(Buffer::kObuf, op.src + uint64_t{t.row} * op.src_stride + t.offset), n);
  m_env.log.rd(t.id, Buffer::kObuf) += n;
  m_env.log.A(t.id).dram_write_bytes += n;
  m_env.log.ctrl(t.id, timing::CtrlReg::kDoutChunk);  // rtl/fq_dma_out.v: the offset, every chunk
  const DmaBeat beat{true, t.id, n};
  t.offset += n;
  if (t.offset == op.bytes) {
    const uint64_t ack = m_dram->write(c, op.dst + uint64_t{t.row} * op.dst_stride, m_row);
    t.offset = 0;
    ++t.row;
    m_env.log.ctrl(t.id, timing::CtrlReg::kDoutRow);
    if (t.row == op.rows) {
      m_env.log.ctrl(t.id, timing::CtrlReg::kDoutDone);
      if (ack > c + 1) {  // it waits for the DRAM's acknowledgement; the ack clock runs meanwhile
        m_env.log.ctrl(t.id, timing::CtrlReg::kDoutAck);
        m_env.log.ctrl(t.id, timing::CtrlReg::kDoutClock, ack - std::max(m_clock_until, c));
        m_clock_until = ack;
      }
      m_env.log.stamp(t.id, ack);
      m_q.pop_front();
    }
  }
  return beat;
}

}  // namespace fq::sim
