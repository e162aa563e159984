#include "ops/rnn_weights.h"

#include <algorithm>

namespace rnnsearch::ops {
namespace {

// 8 x 8: with larger tiles the strided side (a 4 KiB stride for the LSTM at
// He = 256) thrashes L1 sets; measured 2x faster than 32 x 32 there.
constexpr int kTile = 8;

// dst[c * dst_ld + r] (= or +=) src[r * src_ld + c] for r < rows, c < cols,
// in kTile x kTile tiles so that both sides stay in cache. Serial: the
// callers run one OpenMP loop over all gate blocks instead (one parallel
// region per call, not one per block).
template <bool kAdd>
void Transpose(float* dst, int dst_ld, const float* src, int src_ld, int rows, int cols) {
  for (int r0 = 0; r0 < rows; r0 += kTile) {
    const int r1 = std::min(rows, r0 + kTile);
    for (int c0 = 0; c0 < cols; c0 += kTile) {
      const int c1 = std::min(cols, c0 + kTile);
      for (int c = c0; c < c1; ++c) {
        float* d = dst + static_cast<std::size_t>(c) * dst_ld;
        for (int r = r0; r < r1; ++r) {
          const float v = src[static_cast<std::size_t>(r) * src_ld + c];
          if constexpr (kAdd) {
            d[r] += v;
          } else {
            d[r] = v;
          }
        }
      }
    }
  }
}

}  // namespace

void PackDnnlWeights(float* weights_layer, float* weights_iter, float* bias, CellType cell,
                     const RnnParams& params, int in, int hidden) {
  const int G = GateCount(cell), H = hidden;
  // PyTorch block g is [H, in] (resp. [H, H]); oneDNN's is the column block
  // dg of [in, G*H] (resp. [H, G*H]). Blocks k < G are weight_ih's.
#pragma omp parallel for schedule(dynamic)
  for (int k = 0; k < 2 * G; ++k) {
    const int g = k % G, dg = DnnlGate(cell, g);
    if (k < G) {
      Transpose<false>(weights_layer + dg * H, G * H,
                       params.weight_ih + static_cast<std::size_t>(g) * H * in, in, H, in);
    } else {
      Transpose<false>(weights_iter + dg * H, G * H,
                       params.weight_hh + static_cast<std::size_t>(g) * H * H, H, H, H);
    }
  }
  for (int g = 0; g < G; ++g) {
    const float* b_ih = params.bias_ih + g * H;
    const float* b_hh = params.bias_hh + g * H;
    if (cell == CellType::kGru && g == 2) {
      // lbr_gru keeps the candidate's two biases apart: b_hn is scaled by r.
      std::copy(b_ih, b_ih + H, bias + 2 * H);
      std::copy(b_hh, b_hh + H, bias + 3 * H);
    } else {
      float* b = bias + DnnlGate(cell, g) * H;
      for (int j = 0; j < H; ++j) b[j] = b_ih[j] + b_hh[j];
    }
  }
}

void AddDnnlGradients(const RnnGrads& grads, CellType cell, const float* diff_weights_layer,
                      const float* diff_weights_iter, const float* diff_bias, int in, int hidden) {
  const int G = GateCount(cell), H = hidden;
#pragma omp parallel for schedule(dynamic)
  for (int k = 0; k < 2 * G; ++k) {
    const int g = k % G, dg = DnnlGate(cell, g);
    if (k < G) {
      Transpose<true>(grads.weight_ih + static_cast<std::size_t>(g) * H * in, in,
                      diff_weights_layer + dg * H, G * H, in, H);
    } else {
      Transpose<true>(grads.weight_hh + static_cast<std::size_t>(g) * H * H, H,
                      diff_weights_iter + dg * H, G * H, H, H);
    }
  }
  for (int g = 0; g < G; ++g) {
    float* db_ih = grads.bias_ih + g * H;
    float* db_hh = grads.bias_hh + g * H;
    const bool split = cell == CellType::kGru && g == 2;
    const float* from_ih = diff_bias + (split ? 2 : DnnlGate(cell, g)) * H;
    const float* from_hh = diff_bias + (split ? 3 : DnnlGate(cell, g)) * H;
    for (int j = 0; j < H; ++j) {
      db_ih[j] += from_ih[j];
      db_hh[j] += from_hh[j];
    }
  }
}

}  // namespace rnnsearch::ops
