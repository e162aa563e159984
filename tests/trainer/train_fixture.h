// Shared by the program-level training tests: a tiny translation task
// (reverse the words and upper-case them) preprocessed with `rnnsearch
// preprocess --tokenizer whitespace`, a tiny model config, running
// `rnnsearch train` alone or under mpiexec, and reading back checkpoints
// and metrics.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/checkpoint_dir.h"
#include "tests/launch/run_process.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/model/params.h"
#include "trainer/run/checkpointing.h"

namespace rnnsearch::testing {

namespace fs = std::filesystem;

// Writes `pairs` sentence pairs of the reversal task, drawn from `words`.
inline void WriteTask(const fs::path& dir, const std::string& name, int pairs,
                      const std::vector<std::string>& words, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::ofstream src(dir / (name + ".src")), tgt(dir / (name + ".tgt"));
  for (int i = 0; i < pairs; ++i) {
    const int n = 2 + static_cast<int>(rng() % 5);
    std::vector<std::string> s;
    for (int k = 0; k < n; ++k) s.push_back(words[rng() % words.size()]);
    for (int k = 0; k < n; ++k) src << (k ? " " : "") << s[static_cast<std::size_t>(k)];
    for (int k = n - 1; k >= 0; --k) {
      std::string up = s[static_cast<std::size_t>(k)];
      for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      tgt << up << (k ? " " : "");
    }
    src << "\n";
    tgt << "\n";
  }
}

// The relative rounding of one gradient element of a training step on the
// tasks of WriteTask (sentences of at most 6 words and </s>, batches of
// 10 sentences): ModelTolerance of the longest such batch.
inline double TaskGradTolerance(const ModelDims& d) {
  const std::vector<int> len(10, 7);
  return ModelTolerance(d, MakeBatch(len, len, d, 0));
}

// Expects the parameters of two Adam runs (default betas 0.9, 0.999) of
// `steps` steps at learning rate lr, on the same global batches, whose
// gradients differ by float rounding only (sums in another order: other
// ranks, other kernels), to agree as far as Adam lets them:
//  - Adam moves an element by lr x m / sqrt(v). Where its gradient is well
//    above its rounding, the move changes by at most about twice the
//    gradient's relative rounding, grad_tol, per step: 99% of the elements
//    must be within 2 x steps x lr x grad_tol. A sync that drops or
//    misplaces a rank's part changes most moves by a good part of lr.
//  - Where an element's gradient is at the level of its rounding (terms
//    that cancel), the direction of its move is noise: no element may
//    differ by more than two of Adam's largest moves per step, lr x
//    (1 - beta1) / sqrt(1 - beta2) each.
// (Adam hides a sum scaled by a constant: compare SGD runs for that.)
inline void ExpectAdamRunsClose(const ParamSet& a, const ParamSet& b, double lr, int steps,
                                double grad_tol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  const double bound = 2 * steps * lr * grad_tol;
  const double max_bound = 2 * steps * lr * (1 - 0.9) / std::sqrt(1 - 0.999);
  std::int64_t beyond = 0;
  double worst = 0;
  std::string worst_name;
  for (const ParamSpec& s : a.specs()) {
    const float* x = a.Get(s.name);
    const float* y = b.Get(s.name);
    for (std::int64_t i = 0; i < s.size(); ++i) {
      const double d = std::fabs(double{x[i]} - double{y[i]});
      if (d > bound) ++beyond;
      if (d > worst) worst = d, worst_name = s.name;
    }
  }
  EXPECT_LE(beyond, a.count() / 100) << what << ": elements differing by more than " << bound;
  EXPECT_LE(worst, max_bound) << what << ": largest |difference| in " << worst_name;
  std::printf("%s: %lld of %lld elements differ by more than %g; largest %g in %s (bound %g)\n",
              what.c_str(), static_cast<long long>(beyond), static_cast<long long>(a.count()),
              bound, worst, worst_name.c_str(), max_bound);
}

inline std::vector<std::string> ReadLines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

class TrainFixture : public ::testing::Test {
 protected:
  static inline fs::path root_;

  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("rnnsearch_train_test_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    const std::vector<std::string> words = {"alpha", "beta", "gamma", "delta", "eps",
                                            "zeta",  "eta",  "theta", "iota",  "kappa"};
    WriteTask(root_, "train", 40, words, 1);
    WriteTask(root_, "other", 20, {"red", "green", "blue", "white"}, 2);
    Run("preprocess --tokenizer whitespace --src train.src --tgt train.tgt --out corpus");
    Run("preprocess --tokenizer whitespace --src train.src --tgt train.tgt --out valid "
        "--vocab-from corpus");
    Run("preprocess --tokenizer whitespace --src other.src --tgt other.tgt --out other");
    std::ofstream(root_ / "tiny.yaml")
        << "model: {emb_dim: 16, enc_dim: 16, dec_dim: 32, att_dim: 16, readout_dim: 16}\n"
           "data: {train: corpus, valid: valid, batch_tokens: 0, batch_sentences: 10}\n"
           "train: {lr: 0.01, max_epochs: 0, dropout: 0, valid_every: 0, log_every: 10}\n"
           "checkpoint: {every: 0}\n"
           "dist: {threads_per_rank: 1}\n";
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // Runs `rnnsearch ARGS` in root_ (under mpiexec with `ranks` > 0, after
  // `env`: environment assignments, e.g. "X=1 Y=2 ", or a launcher such as
  // BoxMpirun); asserts exit 0 unless told otherwise.
  static ProcessResult Run(const std::string& args, int expect = 0, int ranks = 0,
                           const std::string& env = "") {
    const std::string cmd = "cd " + root_.string() + " && " + env +
                            (ranks > 0 ? Mpiexec(ranks) : "") + RNNSEARCH_BINARY + " " + args;
    ProcessResult r = RunProcess(cmd);
    if (expect >= 0) {
      EXPECT_EQ(r.status, expect) << cmd << "\n" << r.err;
    }
    return r;
  }

  // rnnsearch train --config tiny.yaml --run-dir DIR SETS.
  static ProcessResult Train(const std::string& dir, const std::string& sets, int expect = 0,
                             int ranks = 0, const std::string& env = "") {
    return Run("train --config tiny.yaml --run-dir " + dir + " " + sets, expect, ranks, env);
  }

  static fs::path Path(const std::string& rel) { return root_ / rel; }

  // A shell loop that waits (30 s at most) until RUN/metrics.jsonl has
  // `lines` lines, for tests that act on a training in the background.
  static std::string WaitForMetrics(const std::string& run, int lines) {
    const std::string metrics = run + "/metrics.jsonl";
    return "for i in $(seq 1 600); do [ -f " + metrics + " ] && [ $(wc -l < " + metrics + ") -ge " +
           std::to_string(lines) + " ] && break; sleep 0.05; done; ";
  }

  // The arguments of a training that runs until it is stopped, one
  // metrics line per step, in RUN.
  static std::string EndlessTrain(const std::string& run) {
    return " train --config tiny.yaml --set train.max_steps=100000000 --set train.log_every=1 "
           "--run-dir " +
           run;
  }
};

// The tensors of a checkpoint group ("params", "ema", "adam.m", "adam.v").
inline ParamSet ReadSet(const fs::path& path, const std::string& group) {
  const CheckpointReader reader(path.string());
  const CheckpointInfo& info = reader.info();
  ParamSet set(
      ModelDims::From(info.meta.model, info.meta.src_vocab.size(), info.meta.tgt_vocab.size()));
  if (group == "params") {
    reader.ReadParams(MutableTensorsOf(set));
  } else if (group == "ema") {
    reader.ReadEma(MutableTensorsOf(set));
  } else {
    reader.ReadOptimizerBuffer(group, MutableTensorsOf(set));
  }
  return set;
}

inline bool SameBytes(const ParamSet& a, const ParamSet& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// metrics.jsonl without the fields that measure time.
inline std::vector<std::string> MetricsWithoutTimes(const fs::path& path) {
  std::vector<std::string> out;
  for (std::string line : ReadLines(path)) {
    for (const char* key : {"\"src_tok_s\"", "\"tgt_tok_s\"", "\"data_share\"", "\"sync_share\"",
                            "\"elapsed_s\"", "\"time_left_s\"", "\"valid_s\""}) {
      const auto at = line.find(key);
      if (at == std::string::npos) continue;
      auto end = line.find_first_of(",}", at);
      if (line[end] == ',') ++end;
      line.erase(at, end - at);
    }
    out.push_back(line);
  }
  return out;
}

// The runs in directories a and b wrote the same checkpoint of `step` (the
// parameters, the moving average, Adam's moments: every bit) and the same
// metrics lines but for their times, at least `lines` of them.
inline void ExpectSameRun(const fs::path& a, const fs::path& b, std::int64_t step,
                          std::size_t lines = 11) {
  const std::string name = "ckpt-" + std::to_string(step) + ".h5";
  for (const char* group : {"params", "ema", "adam.m", "adam.v"}) {
    EXPECT_TRUE(SameBytes(ReadSet(a / name, group), ReadSet(b / name, group))) << group;
  }
  // The run that stopped at a limit also validated its final parameters
  // ("final": true, for the report only); every other line is the same.
  auto metrics = [](const fs::path& p) {
    std::vector<std::string> out;
    for (std::string& l : MetricsWithoutTimes(p)) {
      if (l.find("\"final\":true") == std::string::npos) out.push_back(std::move(l));
    }
    return out;
  };
  const auto ma = metrics(a / "metrics.jsonl");
  EXPECT_EQ(ma, metrics(b / "metrics.jsonl"));
  EXPECT_GE(ma.size(), lines);
}

// (step, loss) of the "train" lines of metrics.jsonl.
inline std::vector<std::pair<int, double>> StepLosses(const fs::path& metrics) {
  std::vector<std::pair<int, double>> out;
  const std::regex re("\"kind\":\"train\",\"step\":([0-9]+),.*\"loss\":([-0-9.eE+]+)");
  for (const std::string& line : ReadLines(metrics)) {
    std::smatch m;
    if (std::regex_search(line, m, re)) out.emplace_back(std::stoi(m[1]), std::stod(m[2]));
  }
  return out;
}

// The run in `dir`, resumed (possibly on another number of ranks) from a
// run cut short, reached `whole`'s checkpoint of `steps` (one run of the
// same training, train.lr `lr`) through the same global batches: the same
// data position, epoch and random state, one metrics line per step with
// the same losses, and the same parameters, both up to float summation
// order (TaskGradTolerance, ExpectAdamRunsClose).
inline void ExpectResumedLike(const fs::path& dir, const fs::path& whole, int steps, double lr) {
  SCOPED_TRACE(dir.string());
  const std::string name = "ckpt-" + std::to_string(steps) + ".h5";
  const CheckpointReader want(whole / name), got(dir / name);
  EXPECT_EQ(got.info().meta.state.step, steps);
  EXPECT_EQ(got.info().meta.state.position, want.info().meta.state.position);
  EXPECT_EQ(got.info().meta.state.epoch, want.info().meta.state.epoch);
  EXPECT_EQ(got.info().meta.state.rng, want.info().meta.state.rng);
  const ParamSet got_params = ReadSet(dir / name, "params");
  const double tol = TaskGradTolerance(got_params.dims());
  ExpectAdamRunsClose(got_params, ReadSet(whole / name, "params"), lr, steps, tol,
                      dir.filename().string() + " vs the uninterrupted run");
  // metrics.jsonl was cut back to the checkpoint's step and continued.
  const auto losses = StepLosses(dir / "metrics.jsonl");
  const auto want_losses = StepLosses(whole / "metrics.jsonl");
  ASSERT_EQ(want_losses.size(), static_cast<std::size_t>(steps));
  ASSERT_EQ(losses.size(), want_losses.size());
  for (std::size_t k = 0; k < losses.size(); ++k) {
    EXPECT_EQ(losses[k].first, want_losses[k].first);
    EXPECT_NEAR(losses[k].second, want_losses[k].second, tol * std::fabs(want_losses[k].second))
        << "step " << k + 1;
  }
}

}  // namespace rnnsearch::testing
