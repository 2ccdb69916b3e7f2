// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): the checksum of .mem segments.
#pragma once

#include <cstdint>
#include <span>

namespace fq {

// Contract: crc32(b, crc32(a)) == crc32(a ++ b) (zlib's chaining), crc32({}) == 0 and
// crc32("123456789") == 0xCBF43926.
uint32_t crc32(std::span<const uint8_t> data, uint32_t seed = 0);
// crc32(n zero bytes, seed), in O(log n): appending a zero byte is linear in the CRC register, so
// n of them are one 32 x 32 bit-matrix product per set bit of n.
uint32_t crc32_zeros(uint64_t n, uint32_t seed = 0);

}  // namespace fq
