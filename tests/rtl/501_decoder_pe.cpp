// The cluster decoder on all 256 code bytes and both PE kinds on random operands and every
// weight value, against the golden model (fineq-spec.md sections 2 and 5).
#include "Vfq_cluster_decoder.h"
#include "Vfq_pe_mac_w3.h"
#include "Vfq_pe_mac_w8.h"
#include "Vfq_pe_temporal.h"
#include "model/quant/cluster_codec.h"
#include "sim/rtl/rtl_harness.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <type_traits>

using fq::rtl::sign_extend;

TEST_CASE("RTL cluster decoder == decode_cluster on all 256 bytes", "[rtl]") {
  Vfq_cluster_decoder dec;
  for (int b = 0; b < 256; ++b) {
    dec.code = static_cast<uint8_t>(b);
    dec.eval();
    const auto q = fq::decode_cluster(static_cast<uint8_t>(b));
    INFO("code byte " << b);
    CHECK(sign_extend(dec.q0, 4) == q[0]);
    CHECK(sign_extend(dec.q1, 4) == q[1]);
    CHECK(sign_extend(dec.q2, 4) == q[2]);
  }
}

namespace {

// One beat of W cycles through a single PE: returns the partial sum at the end and the pulses.
template <typename V>
std::pair<int32_t, int> run_beat(V& pe, int8_t a, int32_t psum_in, int tag, int W) {
  int pulses = 0;
  for (int p = 0; p < W; ++p) {
    pe.beat_start = p == 0;
    pe.phase = static_cast<uint8_t>(p);
    pe.in_act = static_cast<uint8_t>(a);
    pe.in_valid = 1;
    pe.in_tag = static_cast<uint8_t>(tag);
    pe.in_psum = static_cast<uint32_t>(psum_in);
    pe.w_en = 0;
    pe.w_clear = 0;
    pe.clk = 0;
    pe.eval();
    pulses += pe.pulse;
    pe.clk = 1;
    pe.eval();
  }
  return {static_cast<int32_t>(pe.psum), pulses};
}

template <typename V>
void write_weight(V& pe, int tag, uint64_t q_bits) {
  pe.w_clear = 0;
  pe.w_en = 1;
  pe.w_tag = static_cast<uint8_t>(tag);
  pe.w_q = static_cast<std::remove_reference_t<decltype(pe.w_q)>>(q_bits);
  pe.in_valid = 0;
  pe.beat_start = 1;
  pe.phase = 0;
  fq::rtl::tick(pe);
  pe.w_en = 0;
}

}  // namespace

TEST_CASE("RTL temporal PE: psum_out = psum_in + a*q with |q| pulses, every q, both sets", "[rtl]") {
  Vfq_pe_temporal pe;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> act(-128, 127);
  std::uniform_int_distribution<int32_t> ps(INT32_MIN, INT32_MAX);
  for (int q = -4; q <= 3; ++q) {
    for (int tag = 0; tag < 2; ++tag) {
      write_weight(pe, tag, static_cast<uint64_t>(q) & 0xf);
      write_weight(pe, 1 - tag, static_cast<uint64_t>(-q - 1) & 0xf);  // the other set differs
      for (int W = std::max(1, std::abs(q)); W <= 4; ++W) {
        for (int trial = 0; trial < 50; ++trial) {
          const auto a = static_cast<int8_t>(act(rng));
          const int32_t in = ps(rng);
          const auto [out, pulses] = run_beat(pe, a, in, tag, W);
          INFO("q " << q << " tag " << tag << " W " << W << " a " << int{a} << " psum_in " << in);
          REQUIRE(out == static_cast<int32_t>(static_cast<uint32_t>(in) + static_cast<uint32_t>(a * q)));
          REQUIRE(pulses == std::abs(q));
        }
      }
    }
  }
}

TEST_CASE("RTL MAC PE (INT8 and INT3 weights): psum_out = psum_in + a*q, every q", "[rtl]") {
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> act(-128, 127);
  std::uniform_int_distribution<int32_t> ps(INT32_MIN, INT32_MAX);
  auto check = [&](auto& pe, int bits) {
    for (int q = -(1 << (bits - 1)); q < (1 << (bits - 1)); ++q) {
      for (int tag = 0; tag < 2; ++tag) {
        write_weight(pe, tag, static_cast<uint64_t>(q) & ((1u << bits) - 1));
        for (int trial = 0; trial < 20; ++trial) {
          const auto a = static_cast<int8_t>(act(rng));
          const int32_t in = ps(rng);
          const auto [out, pulses] = run_beat(pe, a, in, tag, 1);
          INFO("bits " << bits << " q " << q << " a " << int{a});
          REQUIRE(out == static_cast<int32_t>(static_cast<uint32_t>(in) + static_cast<uint32_t>(a * q)));
          REQUIRE(pulses == 1);
        }
      }
    }
  };
  Vfq_pe_mac_w8 w8;
  check(w8, 8);
  Vfq_pe_mac_w3 w3;
  check(w3, 3);
}
