// Forced decoding (trainer/rescorer.h).
#include "trainer/rescorer.h"

#include <stdexcept>

#include "io/batch_reader.h"

namespace rnnsearch {

Rescorer::Rescorer(ops::Context& ctx, const std::vector<const ParamSet*>& members,
                   const Vocab& src, const Vocab& tgt)
    : params_(members), src_(src), tgt_(tgt) {
  if (members.empty()) throw std::invalid_argument("Rescorer: no model");
  ModelOptions options;  // no dropout, no label smoothing
  options.shape_cache = 1;
  for (const ParamSet* p : members) models_.push_back(std::make_unique<Model>(ctx, p->dims(), options));
}

Rescorer::~Rescorer() = default;

PairScore Rescorer::Score(const std::vector<std::int32_t>& source,
                          const std::vector<std::int32_t>& target) {
  Batch b;
  b.size = 1;
  b.src = source;
  b.src.push_back(Vocab::kEos);
  b.src_steps = static_cast<std::int32_t>(b.src.size());
  b.src_len = {b.src_steps};
  b.tgt = target;
  b.tgt.push_back(Vocab::kEos);
  b.tgt_steps = static_cast<std::int32_t>(b.tgt.size());
  b.tgt_len = {b.tgt_steps};
  b.line = {0};
  b.global_sentences = 1;
  b.global_src_tokens = b.src_steps;
  b.global_tgt_tokens = b.tgt_steps;
  double sum = 0;
  for (std::size_t m = 0; m < models_.size(); ++m) {
    sum -= models_[m]->Evaluate(*params_[m], b, 0.0f).loss;
  }
  return {sum / static_cast<double>(models_.size()), b.tgt_steps};
}

PairScore Rescorer::Score(std::string_view source, std::string_view target) {
  return Score(src_.Encode(source), tgt_.Encode(target));
}

}  // namespace rnnsearch
