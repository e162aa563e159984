#include "common/bf16.h"

namespace rnnsearch {

void FloatsToBf16(const float* in, std::size_t count, std::uint16_t* out) {
  for (std::size_t i = 0; i < count; ++i) out[i] = FloatToBf16(in[i]);
}

void Bf16ToFloats(const std::uint16_t* in, std::size_t count, float* out) {
  for (std::size_t i = 0; i < count; ++i) out[i] = Bf16ToFloat(in[i]);
}

void AddBf16(const std::uint16_t* in, std::uint16_t* inout, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    inout[i] = FloatToBf16(Bf16ToFloat(in[i]) + Bf16ToFloat(inout[i]));
  }
}

}  // namespace rnnsearch
