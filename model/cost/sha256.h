// SHA-256 (FIPS 180-4) of a byte string as 64 lowercase hex digits, so that the cost model can tell
// whether rtl/ still matches the synthesis cache (configs/synth_area.yaml) without a crypto library.
#pragma once

#include <string>
#include <string_view>

namespace fq::cost {

std::string sha256_hex(std::string_view data);

}  // namespace fq::cost
