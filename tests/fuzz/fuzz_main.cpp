// libFuzzer entry point of one fuzz_<reader> executable; FQ_FUZZ_ENTRY names the target.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fq::fuzz::FQ_FUZZ_ENTRY(data, size); }
