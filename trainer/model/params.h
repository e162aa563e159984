// The model's parameters (or their gradients, or an optimizer moment): one
// flat float buffer with a named view per tensor, named and shaped exactly
// as docs/model.md's checkpoint table, so a checkpoint maps 1:1 to a
// PyTorch state dict. Each tensor starts on a 64-byte boundary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"

namespace rnnsearch {

// The sizes the model is built from: the model section of the config and
// the vocabulary sizes (which come from the shards).
struct ModelDims {
  std::int64_t Vs = 0, Vt = 0;         // vocabulary sizes
  std::int64_t E = 0, He = 0, Hd = 0;  // embedding, encoder (per direction), decoder
  std::int64_t A = 0, O = 0;           // attention, readout
  std::int64_t enc_layers = 1;
  bool lstm = false;                                     // model.cell == lstm
  AttentionScore attention = AttentionScore::kAdditive;  // model.attention
  bool tie_target_embeddings = false;

  static ModelDims From(const ModelConfig& model, std::int64_t src_vocab, std::int64_t tgt_vocab);
  std::int64_t gates() const { return lstm ? 4 : 3; }
  bool operator==(const ModelDims&) const = default;
};

struct ParamSpec {
  std::string name;                 // e.g. "encoder.0.fwd.weight_ih"
  std::vector<std::int64_t> shape;  // row-major
  std::int64_t size() const;
};

// Every parameter of a model with these dims, in docs/model.md's order.
std::vector<ParamSpec> ParamSpecs(const ModelDims& dims);

class ParamSet {
 public:
  ParamSet() = default;
  explicit ParamSet(const ModelDims& dims);  // zero-filled
  // A copy owns ordinary memory, also when `other` lives in external
  // storage (MoveTo); assigning to a set in external storage with the
  // same layout copies the values into that storage.
  ParamSet(const ParamSet& other);
  ParamSet& operator=(const ParamSet& other);
  ParamSet(ParamSet&& other) noexcept;
  ParamSet& operator=(ParamSet&& other) noexcept;

  const ModelDims& dims() const { return dims_; }
  const std::vector<ParamSpec>& specs() const { return specs_; }
  // The whole buffer, padding between tensors included (it stays zero).
  float* data() { return external_ != nullptr ? external_ : data_.data(); }
  const float* data() const { return external_ != nullptr ? external_ : data_.data(); }
  std::size_t size() const { return size_; }
  // Total number of parameters (padding excluded).
  std::int64_t count() const;

  // The named tensor; aborts with the name if it does not exist (a
  // programming error: names come from ParamSpecs). `Find` returns null.
  float* Get(const std::string& name);
  const float* Get(const std::string& name) const;
  float* Find(const std::string& name);
  const float* Find(const std::string& name) const;
  std::int64_t Offset(const std::string& name) const;

  void Zero();

  // Copies the buffer to `storage` (room for size() floats, valid while
  // `keep` is alive) and uses it from then on, releasing the own memory:
  // for buffers in memory shared with the other ranks of the node
  // (trainer/dist/grad_sync_shm.h). copy = false: `storage` already holds the
  // same values (another process copied them there). Pointers from
  // data(), Get and Find taken before are invalid after the call.
  void MoveTo(float* storage, std::shared_ptr<const void> keep, bool copy = true);
  bool external() const { return external_ != nullptr; }

 private:
  ModelDims dims_;
  std::vector<ParamSpec> specs_;
  std::vector<std::int64_t> offsets_;  // in floats, per spec
  std::size_t size_ = 0;
  std::vector<float> data_;           // empty while external_ is set
  float* external_ = nullptr;         // MoveTo's storage
  std::shared_ptr<const void> keep_;  // keeps external_ valid
};

}  // namespace rnnsearch
