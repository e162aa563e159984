// Validation on data.valid: the cross-entropy and perplexity of the
// references (teacher forcing, no dropout, no label smoothing), and the
// corpus BLEU of greedy translations (trainer/decode/greedy.h) as sacreBLEU
// computes it by default (trainer/eval/bleu.h: 13a tokenisation, mixed case,
// exp smoothing) on detokenised text (Vocab::Decode of the output ids).
//
// References are the lines of the validation corpus's target input file
// (manifest.yaml's tgt_input, by each pair's input line) when rank 0 can
// read it, else the decoded ids of the shards (with <unk> for unknown
// words; a warning says so). Pairs that preprocessing dropped (too long,
// empty) are not scored.
//
// Every rank validates its part of each validation batch (the batch
// reader's split, in stored order, no shuffling); the loss sums are
// all-reduced and rank 0 gathers the translations, scores them and
// broadcasts the BLEU statistics, so every rank holds the same figures and
// takes the same early-stopping decision.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/comm.h"
#include "common/config.h"
#include "io/corpus.h"
#include "ops/context.h"
#include "trainer/decode/greedy.h"
#include "trainer/eval/bleu.h"
#include "trainer/model/model.h"

namespace rnnsearch {

struct ValidationResult {
  double loss = 0;        // cross-entropy per real target token (nats)
  double perplexity = 0;  // exp(loss)
  BleuScore bleu;         // greedy translations against the references
  std::int64_t sentences = 0, tgt_tokens = 0;
  double seconds = 0;  // wall time of the validation
};

// The value of `metric` (train.early_stop_metric) in `result`.
double MetricOf(const ValidationResult& result, EarlyStopMetric metric);
bool HigherIsBetter(EarlyStopMetric metric);

class Validator {
 public:
  // Opens config.data.valid; its vocabularies must be those of the
  // training corpus `train` (UserError naming both directories otherwise).
  // `model` (the training model) scores the references (Model::Evaluate
  // with label smoothing 0) and encodes for the greedy decoder; it must
  // outlive the validator.
  Validator(Comm& comm, ops::Context& ctx, const Config& config, const Corpus& train, Model& model);
  ~Validator();

  // Every rank: validates `params`. With a non-empty `hyp_path`, rank 0
  // writes the translations there, one line per validation pair in input
  // order (through a temporary file and a rename).
  ValidationResult Run(const ParamSet& params, const std::string& hyp_path = "");

  const Corpus& corpus() const { return *corpus_; }

 private:
  void LoadReferences();

  Comm& comm_;
  Config config_;
  std::shared_ptr<const Corpus> corpus_;
  Model& model_;
  GreedyDecoder greedy_;
  std::vector<std::string> references_;  // rank 0: lines of the target input file (or empty)
  bool have_references_ = false;
};

}  // namespace rnnsearch
