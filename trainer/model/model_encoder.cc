// The model's source side: embeddings, the stacked bidirectional encoder,
// the decoder's initial state, their backward, and Encode for decoding.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "trainer/model/model.h"
#include "trainer/model/model_params.h"
#include "trainer/model/model_parts.h"

namespace rnnsearch {

Model::EncoderShape& Model::Encoder(int B, int Tx) {
  return encoders_.Get({B, Tx}, [&] {
    auto shape = std::make_unique<EncoderShape>();
    shape->layers.reserve(static_cast<std::size_t>(dims_.enc_layers));
    for (std::int64_t l = 0; l < dims_.enc_layers; ++l) {
      const std::int64_t in = l == 0 ? dims_.E : 2 * dims_.He;
      shape->layers.emplace_back(ctx_, CellOf(dims_), B, Tx, static_cast<int>(in),
                                 static_cast<int>(dims_.He));
    }
    return shape;
  });
}

void Model::ForwardEncoder(EncoderShape& enc, const ParamSet& params, const std::int32_t* src,
                           const std::int32_t* src_len, int B, int Tx, std::int64_t first,
                           const DropoutKey* dropout) {
  Buffers& b = *buf_;
  const std::int64_t E = dims_.E, C = 2 * dims_.He, Hd = dims_.Hd;
  const std::int64_t rows = static_cast<std::int64_t>(Tx) * B;
  float* x = b.x.Get(Elems(rows, E));
  {
    PartTimer timer(profile_, ModelProfile::kEmbedding);
    src_embed_.Forward(x, src, params.Get("src_embed.weight"), rows);
  }
  b.x_dropped = dropout != nullptr;
  if (dropout != nullptr) {
    PartTimer timer(profile_, ModelProfile::kDropout);
    float* mask = b.x_mask.Get(Elems(rows, E));
    FillDropoutMask(mask, *dropout, DropoutTensor::kSourceEmbedding, options_.dropout, Tx, B, first,
                    static_cast<int>(E));
    ApplyMask(x, mask, rows * E);
  }
  {
    PartTimer timer(profile_, ModelProfile::kEncoder);
    const float* in = x;
    for (std::size_t l = 0; l < enc.layers.size(); ++l) {
      float* h = b.h[l].Get(Elems(rows, C));
      const int layer = static_cast<int>(l);
      enc.layers[l].Forward(h, in, src_len, EncoderParams<float>(params, layer, 0),
                            EncoderParams<float>(params, layer, 1));
      in = h;
    }
  }
  // s0 = tanh(W_init mean + b_init), mean_b over the real positions.
  PartTimer timer(profile_, ModelProfile::kInit);
  const float* H = b.h.back().data();
  float* mean = b.mean.Zero(Elems(B, C));
#pragma omp parallel for schedule(static)
  for (int s = 0; s < B; ++s) {
    float* m = mean + Elems(s, C);
    for (int j = 0; j < src_len[s]; ++j) {
      const float* h = H + Elems(static_cast<std::int64_t>(j) * B + s, C);
      for (std::int64_t c = 0; c < C; ++c) m[c] += h[c];
    }
    const float inv = 1.0f / static_cast<float>(src_len[s]);
    for (std::int64_t c = 0; c < C; ++c) m[c] *= inv;
  }
  float* s0 = b.states.Get(Elems(B, Hd));  // block 0 of the decoder states
  init_.Forward(s0, mean, params.Get("decoder.init.weight"), params.Get("decoder.init.bias"), B);
}

void Model::BackwardEncoder(EncoderShape& enc, ParamSet& grads, const std::int32_t* src,
                            const std::int32_t* src_len, int B, int Tx, const GradReadyFn& ready) {
  Buffers& b = *buf_;
  const std::int64_t E = dims_.E, C = 2 * dims_.He;
  const std::int64_t rows = static_cast<std::int64_t>(Tx) * B;
  float* d_x = nullptr;
  {
    PartTimer timer(profile_, ModelProfile::kEncoder);
    // d_h[k] holds the gradient of layer l's output, with k alternating.
    int k = 0;
    for (int l = static_cast<int>(enc.layers.size()) - 1; l >= 0; --l) {
      float* d_in = l > 0 ? b.d_h[1 - k].Zero(Elems(rows, C)) : b.d_x.Zero(Elems(rows, E));
      const float* in = l > 0 ? b.h[static_cast<std::size_t>(l) - 1].data() : b.x.data();
      enc.layers[static_cast<std::size_t>(l)].Backward(d_in, EncoderGrads<float>(grads, l, 0),
                                                       EncoderGrads<float>(grads, l, 1),
                                                       b.d_h[k].data(), in, src_len);
      Ready(4 + static_cast<int>(enc.layers.size()) - 1 - l, ready);
      k = 1 - k;
      d_x = d_in;
    }
  }
  PartTimer timer(profile_, ModelProfile::kEmbedding);
  if (b.x_dropped) ApplyMask(d_x, b.x_mask.data(), rows * E);
  src_embed_.Backward(grads.Get("src_embed.weight"), d_x, src, rows);
  Ready(4 + static_cast<int>(enc.layers.size()), ready);
}

void Model::Encode(float* H, float* s0, const ParamSet& params, const std::int32_t* src,
                   const std::int32_t* src_len, int B, int Tx) {
  assert(params.dims() == dims_ && B >= 1 && Tx >= 1);
  EncoderShape& enc = Encoder(B, Tx);
  ForwardEncoder(enc, params, src, src_len, B, Tx, 0, nullptr);
  std::memcpy(H, buf_->h.back().data(), sizeof(float) * Elems(Tx, B, 2 * dims_.He));
  std::memcpy(s0, buf_->states.data(), sizeof(float) * Elems(B, dims_.Hd));
}

}  // namespace rnnsearch
