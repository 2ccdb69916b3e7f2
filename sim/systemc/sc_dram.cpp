#include "sim/systemc/sc_dram.h"

#include "model/core/error.h"

namespace fq::sim::sc {

fq_dram::fq_dram(const sc_core::sc_module_name& name, sc_core::sc_time period)
    : sc_core::sc_module(name), rd("rd"), wr("wr"), m_period(period) {
  rd.register_b_transport(this, &fq_dram::b_transport_rd);
  wr.register_b_transport(this, &fq_dram::b_transport_wr);
}

void fq_dram::load(ir::MemoryImage& memory, const ArchConfig& arch) {
  m_mem = &memory;
  m_timing.emplace(arch);
}

uint64_t fq_dram::cycle_of(const sc_core::sc_time& delay) const {
  return static_cast<uint64_t>((sc_core::sc_time_stamp() + delay) / m_period);
}

void fq_dram::b_transport_rd(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
  if (m_mem == nullptr || t.get_command() != tlm::TLM_READ_COMMAND || t.get_byte_enable_ptr() != nullptr) {
    t.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  const uint64_t c = cycle_of(delay);
  m_mem->read(t.get_address(), {t.get_data_ptr(), t.get_data_length()});
  delay = m_period * static_cast<double>(m_timing->read(c, t.get_data_length()) - c);
  t.set_response_status(tlm::TLM_OK_RESPONSE);
}

void fq_dram::b_transport_wr(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
  if (m_mem == nullptr || t.get_command() != tlm::TLM_WRITE_COMMAND || t.get_byte_enable_ptr() != nullptr) {
    t.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  const uint64_t c = cycle_of(delay);
  m_mem->write(t.get_address(), {t.get_data_ptr(), t.get_data_length()});  // throws outside every segment
  delay = m_period * static_cast<double>(m_timing->write(c) - c);
  t.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace fq::sim::sc
