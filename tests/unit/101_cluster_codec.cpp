#include "model/core/error.h"
#include "model/quant/cluster_codec.h"

#include <catch2/catch.hpp>

SCENARIO("every code byte decodes to the fields of spec section 2", "[quant][codec]") {
  for (int byte = 0; byte < 256; ++byte) {
    const auto q = fq::decode_cluster(static_cast<uint8_t>(byte));
    const int idx = byte >> 6;
    INFO("byte " << byte);
    // Independent re-derivation: two's complement fields read bit by bit.
    auto field = [&](int hi, int lo) {
      int v = 0;
      for (int b = hi; b >= lo; --b) v = 2 * v + ((byte >> b) & 1);
      const int width = hi - lo + 1;
      return v >= (1 << (width - 1)) ? v - (1 << width) : v;
    };
    if (idx == 0) {
      CHECK(q[0] == field(5, 4));
      CHECK(q[1] == field(3, 2));
      CHECK(q[2] == field(1, 0));
      CHECK(fq::pack_normal_cluster(q[0], q[1], q[2]) == byte);
    } else {
      const int pruned = idx - 1;
      int kept[2], k = 0;
      for (int p = 0; p < 3; ++p) {
        if (p != pruned) kept[k++] = p;
      }
      CHECK(q[static_cast<size_t>(pruned)] == 0);
      CHECK(q[static_cast<size_t>(kept[0])] == field(5, 3));
      CHECK(q[static_cast<size_t>(kept[1])] == field(2, 0));
      CHECK(fq::pack_outlier_cluster(pruned, q[static_cast<size_t>(kept[0])], q[static_cast<size_t>(kept[1])]) == byte);
    }
  }
}

SCENARIO("the spec's worked bytes decode as the table says", "[quant][codec]") {
  CHECK(fq::decode_cluster(0x19) == std::array<int8_t, 3>{1, -2, 1});
  CHECK(fq::decode_cluster(0x99) == std::array<int8_t, 3>{3, 0, 1});
  CHECK(fq::decode_cluster(0xE1) == std::array<int8_t, 3>{-4, 1, 0});
  CHECK(fq::decode_cluster(0x00) == std::array<int8_t, 3>{0, 0, 0});
  CHECK(fq::decode_cluster(0x16) == std::array<int8_t, 3>{1, 1, -2});
  CHECK(fq::decode_cluster(0x90) == std::array<int8_t, 3>{2, 0, 0});
}

SCENARIO("values outside a field are rejected when packing", "[quant][codec]") {
  CHECK_THROWS_AS(fq::pack_normal_cluster(2, 0, 0), fq::Error);
  CHECK_THROWS_AS(fq::pack_normal_cluster(0, -3, 0), fq::Error);
  CHECK_THROWS_AS(fq::pack_outlier_cluster(0, 4, 0), fq::Error);
  CHECK_THROWS_AS(fq::pack_outlier_cluster(1, 0, -5), fq::Error);
  CHECK_THROWS_AS(fq::pack_outlier_cluster(3, 0, 0), fq::Error);
}
