#include "trainer/run/validate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "io/batch_reader.h"
#include "io/collective.h"
#include "io/text_file.h"
#include "trainer/run/metrics.h"

namespace rnnsearch {
namespace {

void PutString(std::string& out, const std::string& s) {
  const std::uint64_t n = s.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out += s;
}

std::string GetString(const std::string& in, std::size_t& pos) {
  std::uint64_t n = 0;
  std::memcpy(&n, in.data() + pos, sizeof n);
  pos += sizeof n;
  std::string s = in.substr(pos, static_cast<std::size_t>(n));
  pos += static_cast<std::size_t>(n);
  return s;
}

// Column b of a time-major [T, B] id array, its first len ids.
std::vector<std::int32_t> Column(const std::vector<std::int32_t>& ids, int B, int b, int len) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(len));
  for (int t = 0; t < len; ++t) {
    out[static_cast<std::size_t>(t)] =
        ids[static_cast<std::size_t>(t) * static_cast<std::size_t>(B) +
            static_cast<std::size_t>(b)];
  }
  return out;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    for (const std::string& l : lines) out << l << '\n';
    out.flush();
    if (!out) throw UserError("cannot write the validation translations '" + tmp + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw UserError("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
}

}  // namespace

double MetricOf(const ValidationResult& result, EarlyStopMetric metric) {
  switch (metric) {
    case EarlyStopMetric::kBleu: return result.bleu.score;
    case EarlyStopMetric::kPerplexity: return result.perplexity;
    case EarlyStopMetric::kLoss: return result.loss;
  }
  return result.loss;
}

bool HigherIsBetter(EarlyStopMetric metric) { return metric == EarlyStopMetric::kBleu; }

Validator::Validator(Comm& comm, ops::Context& ctx, const Config& config, const Corpus& train,
                     Model& model)
    : comm_(comm),
      config_(config),
      corpus_(Corpus::OpenNamed("data.valid", config.data.valid)),
      model_(model),
      greedy_(ctx, model) {
  const auto same = [](const Vocab& a, const Vocab& b) { return a.hash() == b.hash(); };
  if (!same(corpus_->src_vocab(), train.src_vocab()) ||
      !same(corpus_->tgt_vocab(), train.tgt_vocab())) {
    throw UserError("data.valid: the validation corpus '" + corpus_->dir() +
                    "' has other vocabularies than the training corpus '" + train.dir() +
                    "' (source " + corpus_->src_vocab().hash_hex() + " vs " +
                    train.src_vocab().hash_hex() + ", target " + corpus_->tgt_vocab().hash_hex() +
                    " vs " + train.tgt_vocab().hash_hex() + "); preprocess it with --vocab-from " +
                    train.dir());
  }
  if (comm_.rank() == 0) LoadReferences();
}

Validator::~Validator() = default;

void Validator::LoadReferences() {
  const std::string& path = corpus_->manifest().tgt_input;
  try {
    LineReader reader(path);
    std::string_view line;
    while (reader.Next(&line)) references_.emplace_back(line);
    have_references_ = true;
  } catch (const UserError& e) {
    RNN_LOG(kWarn) << "validation BLEU is scored against the decoded target ids of '"
                   << corpus_->dir()
                   << "' (unknown words as <unk>), not against the text: " << e.what();
  }
}

ValidationResult Validator::Run(const ParamSet& params, const std::string& hyp_path) {
  const double t0 = Now();
  BatchReaderOptions options = ReaderOptionsFromConfig(config_, comm_);
  options.batching.shuffle = false;
  options.epochs = 1;
  BatchReader reader(corpus_, options, DataPosition{});
  const Vocab& vocab = corpus_->tgt_vocab();
  double sums[3] = {0, 0, 0};  // loss, tokens, sentences
  std::string mine;            // per sentence: line, hypothesis, decoded reference
  while (auto batch = reader.Next()) {
    const StepResult r = model_.Evaluate(params, *batch, 0.0f);  // plain cross-entropy
    sums[0] += r.loss;
    sums[1] += static_cast<double>(r.tokens);
    sums[2] += batch->size;
    if (batch->size == 0) continue;
    const auto outs = greedy_.Translate(params, batch->src.data(), batch->src_len.data(),
                                        batch->size, batch->src_steps);
    for (int b = 0; b < batch->size; ++b) {
      const std::int64_t line = batch->line[static_cast<std::size_t>(b)];
      mine.append(reinterpret_cast<const char*>(&line), sizeof line);
      PutString(mine, vocab.Decode(outs[static_cast<std::size_t>(b)]));
      PutString(mine, have_references_
                          ? std::string()
                          : vocab.Decode(Column(batch->tgt, batch->size, b,
                                                batch->tgt_len[static_cast<std::size_t>(b)])));
    }
  }
  comm_.Allreduce(sums, 3, ReduceOp::kSum);
  ValidationResult result;
  result.tgt_tokens = std::llround(sums[1]);
  result.sentences = std::llround(sums[2]);
  result.loss = result.tgt_tokens > 0 ? sums[0] / sums[1] : 0.0;
  result.perplexity = Perplexity(result.loss);

  // Rank 0 scores the translations of all ranks, in input order.
  const std::vector<std::string> parts = AllGatherStrings(comm_, mine);
  std::vector<std::int64_t> stats(10, 0);  // sys_len, ref_len, correct[4], total[4]
  std::string error;
  if (comm_.rank() == 0) {
    struct Item {
      std::int64_t line;
      std::string hyp, ref;
    };
    std::vector<Item> items;
    for (const std::string& part : parts) {
      std::size_t pos = 0;
      while (pos < part.size()) {
        Item it;
        std::memcpy(&it.line, part.data() + pos, sizeof it.line);
        pos += sizeof it.line;
        it.hyp = GetString(part, pos);
        it.ref = GetString(part, pos);
        items.push_back(std::move(it));
      }
    }
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.line < b.line; });
    std::vector<std::string> hyps;
    std::vector<std::vector<std::string>> refs(1);
    for (Item& it : items) {
      if (have_references_) {
        if (it.line < 0 || it.line >= static_cast<std::int64_t>(references_.size())) {
          error = "validation: pair at line " + std::to_string(it.line + 1) + " of '" +
                  corpus_->manifest().tgt_input + "' is past its end (" +
                  std::to_string(references_.size()) +
                  " lines): the file changed after preprocessing";
          break;
        }
        it.ref = references_[static_cast<std::size_t>(it.line)];
      }
      hyps.push_back(std::move(it.hyp));
      refs[0].push_back(std::move(it.ref));
    }
    if (error.empty()) {
      const BleuStats s = BleuStatistics(hyps, refs);
      stats[0] = s.sys_len;
      stats[1] = s.ref_len;
      for (int n = 0; n < 4; ++n) {
        stats[static_cast<std::size_t>(2 + n)] = s.correct[static_cast<std::size_t>(n)];
        stats[static_cast<std::size_t>(6 + n)] = s.total[static_cast<std::size_t>(n)];
      }
      if (!hyp_path.empty()) {
        try {
          WriteLines(hyp_path, hyps);
        } catch (const UserError& e) {
          RNN_LOG(kWarn) << e.what();
        }
      }
    }
  }
  comm_.BroadcastString(error, 0);
  if (!error.empty()) throw CollectiveError(error, 1);
  comm_.Broadcast(stats.data(), stats.size() * sizeof(std::int64_t), 0);
  BleuStats total;
  total.sys_len = stats[0];
  total.ref_len = stats[1];
  total.correct.assign(stats.begin() + 2, stats.begin() + 6);
  total.total.assign(stats.begin() + 6, stats.begin() + 10);
  result.bleu = ComputeBleu(total);
  result.seconds = Now() - t0;
  return result;
}

}  // namespace rnnsearch
