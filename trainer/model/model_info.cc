// The model's bookkeeping: its FLOP count, the gradient-ready ranges and
// the profile's part names.
#include <algorithm>
#include <cassert>
#include <string>

#include "trainer/model/model.h"

namespace rnnsearch {

double TrainingFlops(const ModelDims& d, int B, int Tx, int Ty) {
  const double G = static_cast<double>(d.gates());
  const double E = d.E, He = d.He, Hd = d.Hd, A = d.A, O = d.O, V = d.Vt;
  const double C = 2 * He, b = B, tx = Tx, ty = Ty;
  double encoder = 0;
  for (std::int64_t l = 0; l < d.enc_layers; ++l) {
    const double in = l == 0 ? E : C;
    encoder += 2 * 2 * tx * b * G * He * (in + He);
  }
  const double init = 2 * b * C * Hd;
  double keys = 0, query = 0, score_dim = C;
  if (d.attention == AttentionScore::kAdditive) {
    keys = 2 * tx * b * C * A;
    query = 2 * Hd * A;
    score_dim = A;
  } else if (d.attention == AttentionScore::kGeneral) {
    keys = 2 * tx * b * C * Hd;
    score_dim = Hd;
  }
  const double per_token = query + 2 * tx * score_dim + 2 * tx * C + 2 * G * Hd * (E + C + Hd) +
                           2 * O * (Hd + C + E) + 2 * O * V;
  const double forward = encoder + init + keys + b * ty * per_token;
  return 3 * forward;
}

std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> GradientReadyStages(
    const ParamSet& grads) {
  const ModelDims& d = grads.dims();
  const int layers = static_cast<int>(d.enc_layers);
  // The stage of each tensor (see the header for the order).
  auto stage_of = [&](const std::string& name) {
    if (name.rfind("readout.", 0) == 0 || name.rfind("output.", 0) == 0) return 0;
    if (name.rfind("attention.", 0) == 0 || name.rfind("decoder.cell.", 0) == 0) return 1;
    if (name.rfind("decoder.init.", 0) == 0) return 2;
    if (name == "tgt_embed.weight") return 3;
    if (name == "src_embed.weight") return 4 + layers;
    assert(name.rfind("encoder.", 0) == 0);
    const int l = std::stoi(name.substr(8));
    return 4 + layers - 1 - l;
  };
  std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> stages(
      static_cast<std::size_t>(5 + layers));
  const auto& specs = grads.specs();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::int64_t begin = grads.Offset(specs[i].name);
    const std::int64_t end = i + 1 < specs.size() ? grads.Offset(specs[i + 1].name)
                                                  : static_cast<std::int64_t>(grads.size());
    auto& ranges = stages[static_cast<std::size_t>(stage_of(specs[i].name))];
    if (!ranges.empty() && ranges.back().first + ranges.back().second == begin) {
      ranges.back().second += end - begin;  // adjacent: merge
    } else {
      ranges.emplace_back(begin, end - begin);
    }
  }
  return stages;
}

const char* ModelProfile::Name(int part) {
  static const char* const names[kParts] = {"embedding", "encoder", "init",   "attention",
                                            "cell",      "readout", "dropout"};
  return part >= 0 && part < kParts ? names[part] : "?";
}

}  // namespace rnnsearch
