#include "trainer/model/params.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace rnnsearch {

ModelDims ModelDims::From(const ModelConfig& m, std::int64_t src_vocab, std::int64_t tgt_vocab) {
  ModelDims d;
  d.Vs = src_vocab;
  d.Vt = tgt_vocab;
  d.E = m.emb_dim;
  d.He = m.enc_dim;
  d.Hd = m.dec_dim;
  d.A = m.att_dim;
  d.O = m.readout_dim;
  d.enc_layers = m.enc_layers;
  d.lstm = ChoiceValue<RecurrentCell>(m.cell) == RecurrentCell::kLstm;
  d.attention = ChoiceValue<AttentionScore>(m.attention);
  d.tie_target_embeddings = m.tie_target_embeddings;
  return d;
}

std::int64_t ParamSpec::size() const {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

std::vector<ParamSpec> ParamSpecs(const ModelDims& d) {
  const std::int64_t G = d.gates();
  const std::int64_t C = 2 * d.He;  // context / encoder state size
  std::vector<ParamSpec> p;
  p.push_back({"src_embed.weight", {d.Vs, d.E}});
  p.push_back({"tgt_embed.weight", {d.Vt, d.E}});
  for (std::int64_t L = 0; L < d.enc_layers; ++L) {
    const std::int64_t in = L == 0 ? d.E : C;
    for (const char* dir : {"fwd", "bwd"}) {
      const std::string pre = "encoder." + std::to_string(L) + "." + dir + ".";
      p.push_back({pre + "weight_ih", {G * d.He, in}});
      p.push_back({pre + "weight_hh", {G * d.He, d.He}});
      p.push_back({pre + "bias_ih", {G * d.He}});
      p.push_back({pre + "bias_hh", {G * d.He}});
    }
  }
  p.push_back({"decoder.init.weight", {d.Hd, C}});
  p.push_back({"decoder.init.bias", {d.Hd}});
  if (d.attention == AttentionScore::kAdditive) {
    p.push_back({"attention.W_a.weight", {d.A, d.Hd}});
    p.push_back({"attention.W_a.bias", {d.A}});
    p.push_back({"attention.U_a.weight", {d.A, C}});
    p.push_back({"attention.v_a.weight", {d.A}});
  } else if (d.attention == AttentionScore::kGeneral) {
    p.push_back({"attention.W_g.weight", {d.Hd, C}});
  }
  p.push_back({"decoder.cell.weight_ih", {G * d.Hd, d.E + C}});
  p.push_back({"decoder.cell.weight_hh", {G * d.Hd, d.Hd}});
  p.push_back({"decoder.cell.bias_ih", {G * d.Hd}});
  p.push_back({"decoder.cell.bias_hh", {G * d.Hd}});
  p.push_back({"readout.weight", {d.O, d.Hd + C + d.E}});
  p.push_back({"readout.bias", {d.O}});
  if (!d.tie_target_embeddings) p.push_back({"output.weight", {d.Vt, d.O}});
  p.push_back({"output.bias", {d.Vt}});
  return p;
}

ParamSet::ParamSet(const ModelDims& dims) : dims_(dims), specs_(ParamSpecs(dims)) {
  constexpr std::int64_t kAlign = 16;  // floats: 64 bytes
  std::int64_t offset = 0;
  for (const ParamSpec& s : specs_) {
    offsets_.push_back(offset);
    offset += (s.size() + kAlign - 1) / kAlign * kAlign;
  }
  size_ = static_cast<std::size_t>(offset);
  data_.assign(size_, 0.0f);
}

ParamSet::ParamSet(const ParamSet& other)
    : dims_(other.dims_),
      specs_(other.specs_),
      offsets_(other.offsets_),
      size_(other.size_),
      data_(other.data(), other.data() + other.size_) {}

ParamSet& ParamSet::operator=(const ParamSet& other) {
  if (this == &other) return *this;
  if (external_ != nullptr && other.size_ == size_ && other.specs_.size() == specs_.size()) {
    std::copy(other.data(), other.data() + size_, external_);  // stays where it is
    return *this;
  }
  *this = ParamSet(other);
  return *this;
}

ParamSet::ParamSet(ParamSet&& other) noexcept { *this = std::move(other); }

ParamSet& ParamSet::operator=(ParamSet&& other) noexcept {
  if (this == &other) return *this;
  dims_ = std::move(other.dims_);
  specs_ = std::move(other.specs_);
  offsets_ = std::move(other.offsets_);
  size_ = std::exchange(other.size_, 0);
  data_ = std::move(other.data_);
  external_ = std::exchange(other.external_, nullptr);
  keep_ = std::move(other.keep_);
  other.data_.clear();
  return *this;
}

void ParamSet::MoveTo(float* storage, std::shared_ptr<const void> keep, bool copy) {
  if (copy) std::copy(data(), data() + size_, storage);
  external_ = storage;
  keep_ = std::move(keep);
  std::vector<float>().swap(data_);
}

std::int64_t ParamSet::count() const {
  std::int64_t n = 0;
  for (const ParamSpec& s : specs_) n += s.size();
  return n;
}

std::int64_t ParamSet::Offset(const std::string& name) const {
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return offsets_[i];
  }
  return -1;
}

float* ParamSet::Find(const std::string& name) {
  const std::int64_t off = Offset(name);
  return off < 0 ? nullptr : data() + off;
}

const float* ParamSet::Find(const std::string& name) const {
  return const_cast<ParamSet*>(this)->Find(name);
}

float* ParamSet::Get(const std::string& name) {
  float* p = Find(name);
  if (p == nullptr) {
    std::fprintf(stderr, "internal error: no parameter named '%s'\n", name.c_str());
    std::abort();
  }
  return p;
}

const float* ParamSet::Get(const std::string& name) const {
  return const_cast<ParamSet*>(this)->Get(name);
}

void ParamSet::Zero() { std::fill(data(), data() + size_, 0.0f); }

}  // namespace rnnsearch
