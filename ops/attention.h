// Attention of the RNNsearch decoder (docs/model.md, "Forward" steps 4-5):
// per decoder step i, from the previous state s_{i-1} and the encoder
// output H,
//
//   additive: e_ij = v_a . tanh(W_a s_{i-1} + b_a + K_j),  K_j = U_a h_j
//   general:  e_ij = s_{i-1} . P_j,                          P_j = W_g h_j
//   dot:      e_ij = s_{i-1} . h_j                           (Hd = 2He)
//   alpha_ij = softmax over the real positions j < len_b (exactly 0 on
//              padding), c_i = sum_j alpha_ij h_j.
//
// The keys K (or P) are computed once per batch by one matrix product.
// Per step, the energies are one fused loop over (b, j) of A-wide
// vectorised tanh work; backward recomputes the tanh values instead of
// storing B x Tx x A of them per step.
//
// Training (class Attention), with the time-major sequence buffers of the
// decoder (states [Ty+1, B, Hd] holding s_0..s_Ty, contexts [Ty, B, 2He]
// holding c_1..c_Ty as blocks 0..Ty-1, alphas [Ty, B, Tx]):
//   ForwardBatch                   once per batch, before the steps;
//   ForwardStep(i)                 for i = 0..Ty-1: reads states block i,
//                                  writes contexts and alphas block i;
//   BackwardStep(i)                for i = Ty-1 down to 0, after the
//                                  forward: reads d_contexts block i (it
//                                  must be complete), adds into d_states
//                                  block i and into dH;
//   BackwardBatch                  once, after the backward steps: adds
//                                  the parameter gradients and the keys'
//                                  share of dH.
// Everything a backward step needs from the forward is kept in buffers the
// op allocates once (W_a s + b_a per step) or is an output the caller
// keeps (alphas). Backward adds into every gradient buffer.
//
// Decoding (class AttentionDecode): one step for n hypotheses (n at most
// the constructor's maximum), each attending to the source sentence
// src_of[k] of the batch given to SetSource; nothing is stored.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/context.h"
#include "ops/matmul_view.h"

namespace rnnsearch::ops {

enum class AttentionKind { kAdditive, kGeneral, kDot };

struct AttentionDims {
  int steps = 0;    // Ty (training only)
  int src_len = 0;  // Tx (maximum, for AttentionDecode)
  int batch = 0;    // B: sentences (maximum, for AttentionDecode)
  int ctx_dim = 0;  // 2He: size of h_j and c_i
  int dec_dim = 0;  // Hd: size of s_i
  int att_dim = 0;  // A (additive only)
};

// The size of a key: A (additive), Hd (general: P_j = W_g h_j), 2He (dot).
int AttentionKeyDim(AttentionKind kind, const AttentionDims& dims);

// Parameters as docs/model.md names them; those the kind does not use are null.
template <class T>
struct AttentionParamsOf {
  const T* W_a = nullptr;  // attention.W_a.weight [A, Hd]
  const T* b_a = nullptr;  // attention.W_a.bias   [A]
  const T* U_a = nullptr;  // attention.U_a.weight [A, 2He]
  const T* v_a = nullptr;  // attention.v_a.weight [A]
  const T* W_g = nullptr;  // attention.W_g.weight [Hd, 2He]
};

// Their gradients, same shapes; backward adds into them.
template <class T>
struct AttentionGradsOf {
  T* W_a = nullptr;
  T* b_a = nullptr;
  T* U_a = nullptr;
  T* v_a = nullptr;
  T* W_g = nullptr;
};

using AttentionParams = AttentionParamsOf<float>;
using AttentionGrads = AttentionGradsOf<float>;

class Attention {
 public:
  Attention(Context& ctx, AttentionKind kind, const AttentionDims& dims);

  // H: [Tx, B, 2He] encoder output.
  void ForwardBatch(const float* H, const AttentionParams& p);

  // contexts: [Ty, B, 2He], alphas: [Ty, B, Tx] (block i written);
  // states: [Ty+1, B, Hd]; H: [Tx, B, 2He]; lengths: [B], 1 <= len <= Tx.
  void ForwardStep(int i, float* contexts, float* alphas, const float* states, const float* H,
                   const int* lengths, const AttentionParams& p);

  // d_states: [Ty+1, B, Hd] (block i added into); dH: [Tx, B, 2He] (added
  // into); d_contexts: [Ty, B, 2He]; alphas, states, H, lengths: as in the
  // forward.
  void BackwardStep(int i, float* d_states, float* dH, const float* d_contexts, const float* alphas,
                    const float* states, const float* H, const int* lengths,
                    const AttentionParams& p);

  // dH: [Tx, B, 2He] (added into); g: parameter gradients (added into);
  // states, H: as in the forward.
  void BackwardBatch(float* dH, const AttentionGrads& g, const float* states, const float* H,
                     const AttentionParams& p);

  // Floating-point operations of one batch's Forward + Backward, counted as
  // ../shared/peers/pytorch_rnnsearch.py counts them (3 x the forward;
  // multiply-add = 2): the keys once per batch (2 Tx B 2He A, general
  // 2 Tx B 2He Hd, dot none) and per step and sentence the query W_a s
  // (2 Hd A, additive only), the scores (2 Tx A; general, dot 2 Tx key_dim)
  // and the context (2 Tx 2He).
  static double ForwardBackwardFlops(AttentionKind kind, const AttentionDims& dims);

 private:
  AttentionKind kind_;
  AttentionDims d_;
  int key_dim_;                  // A (additive), Hd (general), 2He (dot)
  std::vector<float> keys_;      // [Tx, B, key_dim] K or P (empty for dot)
  std::vector<float> query_;     // [Ty, B, A] W_a s_i + b_a (additive)
  std::vector<float> d_query_;   // [Ty, B, A] its gradient (additive)
  std::vector<float> d_keys_;    // [Tx, B, key_dim] (additive, general)
  std::vector<float> d_v_rows_;  // [B, A] per-sentence share of dv_a
  std::vector<float> d_alpha_;   // [B, Tx] scratch
  MatmulView keys_mm_, query_mm_, d_state_mm_, d_wa_mm_, d_wk_mm_, d_h_mm_;
};

class AttentionDecode {
 public:
  // dims.src_len, dims.batch: the largest source batch; max_hyps: the
  // largest number of hypotheses per step. dims.steps is unused.
  AttentionDecode(Context& ctx, AttentionKind kind, const AttentionDims& dims, int max_hyps);

  // Computes the keys of a source batch. H: [Tx, B, 2He] with Tx, B at
  // most the constructor's.
  void SetSource(const float* H, int src_len, int batch, const AttentionParams& p);

  // contexts: [n, 2He], alphas: [n, Tx] (Tx of SetSource); s: [n, Hd];
  // src_of: [n] sentence index in [0, B) of each hypothesis, or null for
  // k -> k (then n <= B); H, lengths: the source batch of SetSource.
  void Step(float* contexts, float* alphas, const float* s, const int* src_of, int n,
            const float* H, const int* lengths, const AttentionParams& p);

 private:
  AttentionKind kind_;
  AttentionDims d_;
  int max_hyps_;
  int key_dim_;
  int src_len_ = 0, batch_ = 0;  // of the current source
  std::vector<float> keys_;      // [Tx, B, key_dim]
  std::vector<float> query_;     // [max_hyps, A]
  MatmulView keys_mm_, query_mm_;
};

}  // namespace rnnsearch::ops
