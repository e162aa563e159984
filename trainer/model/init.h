// Seeded initialisation of the model's parameters (a new run; --init-from
// and resuming load them from a checkpoint instead).
//
// The scheme, per docs/model.md tensor (README, "Training and resuming"):
//   recurrent weights  encoder.L.*.weight_hh, decoder.cell.weight_hh
//                      [G*H, H]: each of the G gate blocks [H, H] is a
//                      random orthogonal matrix (Gram-Schmidt on the rows
//                      of a standard normal matrix, in double);
//   embeddings         src_embed.weight, tgt_embed.weight [V, E]: N(0, 1),
//                      PyTorch's nn.Embedding default (independent of V);
//   output layers      readout.weight, output.weight [rows, cols] (and
//                      tgt_embed.weight when it is tied as the output
//                      weight): U(-a, a), a = 1 / sqrt(cols), PyTorch's
//                      nn.Linear default;
//   every other matrix [rows, cols] (weight_ih, decoder.init, attention):
//                      Glorot uniform, U(-a, a) with
//                      a = sqrt(6 / (fan_out + fan_in)), fan_in = cols and
//                      fan_out = rows, or rows / G for the gate-stacked
//                      weight_ih;
//   attention.v_a.weight [A]: U(-a, a), a = sqrt(6 / (A + 1));
//   every bias: 0 (the LSTM's forget gate too, as PyTorch's zero_ init).
//
// Why not Glorot for the embeddings and the output weights: its bound
// sqrt(6 / (V + E)) shrinks with the vocabulary (0.027 at V = 8000), and
// with Adam such tiny embeddings make the model settle on the unigram
// distribution (the readout saturates) and stay there: on the dates task
// with a 7,815-id target vocabulary, training loss 2.29 (unigram level)
// after 300 steps with Glorot, 0.07 with this scheme; an independent
// PyTorch model started from the same Glorot parameters and fed the same
// batches stalls identically (it is the initialisation, not a gradient).
//
// Random numbers are counter-based: element i of the tensor named n is
// draw i of splitmix64 keyed by (seed, FNV-1a(n)) (common/rng.h), so the
// values depend only on the seed, the tensor's name and shape, never on
// the order of the tensors, the layout of the flat buffer, or the number
// of threads. Every rank computes the same parameters.
#pragma once

#include <cstdint>
#include <string>

#include "trainer/model/params.h"

namespace rnnsearch {

// Fills every tensor of `params` by the scheme above (train.seed).
void InitParams(ParamSet& params, std::uint64_t seed);

// A uniform draw in [0, 1) and a standard normal draw, as functions of
// (seed, stream, index): the generator InitParams uses (exposed for tests).
double CounterUniform(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);
double CounterNormal(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);

// FNV-1a 64 of a tensor name: its stream.
std::uint64_t NameStream(const std::string& name);

}  // namespace rnnsearch
