// IEEE 754 binary16 conversion, bit-exact and independent of the host's F16C support.
#pragma once

#include <cstdint>

namespace fq {

// Nearest binary16 (ties to even); overflow gives infinity, NaN stays NaN.
uint16_t fp16_from_float(float value);
float fp16_to_float(uint16_t bits);
// bfloat16 (the upper half of a float32) to float, for safetensors BF16.
float bf16_to_float(uint16_t bits);

bool fp16_is_finite(uint16_t bits);

}  // namespace fq
