// rnnsearch translate as users run it, with small random models saved as
// real checkpoints (io/checkpoint.h) with word vocabularies: the output is
// the library's (trainer/decode/translator.h) line for line; empty lines, blank
// lines and lines longer than the training maximum; stdin/stdout; n-best
// lines; the alignments file (shapes, pieces, rows summing to 1); the
// output order under mpiexec -n 2 and -n 3; --run-dir's choice of
// checkpoint; --weights; and clear errors that leave outputs untouched.
// rnnsearch rescore of the n-best lines, and scripts/rerank.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/config.h"
#include "io/checkpoint.h"
#include "io/vocab.h"
#include "ops/context.h"
#include "tests/io/io_fixture.h"
#include "tests/launch/plot_tool.h"
#include "tests/launch/run_process.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/decode/translator.h"
#include "trainer/run/checkpointing.h"

namespace rnnsearch {
namespace {

using Json = nlohmann::json;
using testing::Mpiexec;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

const std::string kBin = RNNSEARCH_BINARY;
constexpr int kWords = 20;
constexpr int kTrainMaxLen = 6;

std::vector<std::string> Words(const std::string& stem) {
  std::vector<std::string> w;
  for (int i = 0; i < kWords; ++i) w.push_back(stem + std::to_string(i));
  return w;
}

ModelConfig SmallModel() {
  ModelConfig m;
  m.emb_dim = 8;
  m.enc_dim = 8;
  m.dec_dim = 12;
  m.att_dim = 10;
  m.readout_dim = 8;
  return m;
}

// A seeded random model; </s> likely enough that outputs end, <pad> and
// <s> unlikely (as after training).
ParamSet RandomParams(std::uint32_t seed) {
  const int V = kWords + Vocab::kNumSpecial;
  ParamSet p(ModelDims::From(SmallModel(), V, V));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const ParamSpec& s : p.specs()) {
    float* x = p.Get(s.name);
    for (std::int64_t k = 0; k < s.size(); ++k) x[k] = u(rng);
  }
  float* bias = p.Get("output.bias");
  bias[Vocab::kEos] += 1.5f;
  bias[Vocab::kPad] -= 30.0f;
  bias[Vocab::kBos] -= 30.0f;
  return p;
}

struct Saved {
  Vocab src = Vocab::FromWords(Words("q"), "test source");
  Vocab tgt = Vocab::FromWords(Words("z"), "test target");
};

// Saves `params` (and `ema` as its moving average, if given) at `step`.
void Save(const std::string& path, const ParamSet& params, std::int64_t step,
          const ParamSet* ema = nullptr, const std::string& tgt_stem = "z") {
  Saved v;
  v.tgt = Vocab::FromWords(Words(tgt_stem), "test target");
  Config config;
  config.model = SmallModel();
  config.data.max_len = kTrainMaxLen;
  CheckpointContents c;
  c.meta.model = config.model;
  c.meta.config_yaml = ConfigToYaml(config);
  c.meta.src_vocab = v.src;
  c.meta.tgt_vocab = v.tgt;
  c.meta.state.step = step;
  c.meta.optimizer_kind = "adam";
  c.params = ConstTensorsOf(params);
  if (ema != nullptr) c.ema = ConstTensorsOf(*ema);
  SaveCheckpoint(path, c);
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Random source lines: an empty one, a blank one, and several longer than
// the training maximum.
std::vector<std::string> SourceLines(int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> word(0, kWords - 1), len(1, 9);
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    int words = len(rng);
    if (i == 2 || i == 7) words = 0;
    if (i == 5 || i == n - 1) words = 3 * kTrainMaxLen;
    std::string line = i == 7 ? "   " : "";
    for (int k = 0; k < words; ++k) line += (k ? " q" : "q") + std::to_string(word(rng));
    lines.push_back(line);
  }
  return lines;
}

class TranslateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ckpt_ = dir_ / "model.h5";
    Save(ckpt_, params_, 42);
    lines_ = SourceLines(23, 3);
    input_ = dir_ / "in.txt";
    testing::WriteText(input_, testing::JoinLines(lines_));
  }
  ProcessResult Translate(const std::string& args) {
    return RunProcess(kBin + " translate --threads 1 " + args);
  }
  // The library's translations of the input, as the command formats them.
  std::vector<LineTranslation> Library(const BeamOptions& o, int batch_sentences) {
    ops::Context ctx(1);
    Saved v;
    Translator t(ctx, params_, v.src, v.tgt, o, batch_sentences);
    return t.Translate(lines_);
  }

  TempDir dir_{"translate_cli"};
  ParamSet params_ = RandomParams(1);
  std::string ckpt_, input_;
  std::vector<std::string> lines_;
};

TEST_F(TranslateCli, OutputIsTheLibrarysLineForLine) {
  const std::string out = dir_ / "out.txt";
  const ProcessResult r = Translate("--model " + ckpt_ + " --input " + input_ + " --output " + out +
                                    " --batch-sentences 4");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  const std::vector<std::string> got = SplitLines(testing::ReadWhole(out));
  const std::vector<LineTranslation> want = Library(BeamOptions{}, 4);
  ASSERT_EQ(got.size(), lines_.size());
  int nonempty = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], want[i].nbest[0].text) << "line " << i;
    nonempty += got[i].empty() ? 0 : 1;
  }
  EXPECT_EQ(got[2], "");  // an empty line
  EXPECT_EQ(got[7], "");  // only spaces: no tokens
  EXPECT_GT(nonempty, 15);
  int longer = 0;
  for (const LineTranslation& t : want) longer += t.source.size() > kTrainMaxLen ? 1 : 0;
  EXPECT_GE(longer, 2);
  EXPECT_NE(r.err.find(std::to_string(longer) +
                       " line(s) longer than the training maximum of 6 subwords"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("sentences/s"), std::string::npos) << r.err;
  // stdin to stdout gives the same text.
  const ProcessResult s =
      RunProcess("cat " + input_ + " | " + kBin + " translate --threads 1 --model " + ckpt_);
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.out, testing::ReadWhole(out));
}

TEST_F(TranslateCli, NbestLines) {
  const ProcessResult r =
      Translate("--model " + ckpt_ + " --input " + input_ + " --beam-size 4 --nbest 3");
  ASSERT_EQ(r.status, 0) << r.err;
  BeamOptions o;
  o.beam_size = 4;
  o.nbest = 3;
  const std::vector<LineTranslation> want = Library(o, 32);
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < want.size(); ++i) {
    for (const TextHypothesis& h : want[i].nbest) {
      char score[32];
      std::snprintf(score, sizeof score, "%.6f", h.normalized);
      expected.push_back(std::to_string(i) + " ||| " + h.text + " ||| " + score);
    }
    EXPECT_EQ(want[i].nbest.size(), want[i].source.empty() ? 1u : 3u);
  }
  EXPECT_EQ(SplitLines(r.out), expected);
}

TEST_F(TranslateCli, AlignmentsFile) {
  const std::string out = dir_ / "out.txt", align = dir_ / "align.jsonl";
  const ProcessResult r = Translate("--model " + ckpt_ + " --input " + input_ + " --output " + out +
                                    " --alignments " + align + " --beam-size 3");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> outputs = SplitLines(testing::ReadWhole(out));
  const std::vector<std::string> rows = SplitLines(testing::ReadWhole(align));
  ASSERT_EQ(rows.size(), lines_.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Json j = Json::parse(rows[i]);
    EXPECT_EQ(j.at("line").get<double>(), static_cast<double>(i));
    const Json& source = j.at("source");
    const Json& target = j.at("target");
    const Json& attention = j.at("attention");
    std::string words, tokens;
    for (std::size_t k = 0; k < source.size(); ++k) {
      const std::string piece = source[k].get<std::string>();
      if (k + 1 == source.size()) {
        EXPECT_EQ(piece, "</s>");
      } else {
        words += (k ? " " : "") + piece;
      }
    }
    std::istringstream split(lines_[i]);
    std::string w, want_words;
    while (split >> w) want_words += (want_words.empty() ? "" : " ") + w;
    EXPECT_EQ(words, want_words) << "line " << i;
    for (const Json& piece : target) {
      if (piece != "</s>") tokens += (tokens.empty() ? "" : " ") + piece.get<std::string>();
    }
    EXPECT_EQ(tokens, outputs[i]) << "line " << i;
    if (want_words.empty()) {
      EXPECT_TRUE(source.empty() && target.empty() && attention.empty());
      continue;
    }
    ASSERT_EQ(attention.size(), target.size()) << "line " << i;
    EXPECT_EQ(j.at("finished").get<bool>(), target.back() == "</s>");
    for (const Json& row : attention) {
      ASSERT_EQ(row.size(), source.size()) << "line " << i;
      double sum = 0;
      for (const Json& x : row) {
        EXPECT_GE(x.get<double>(), 0.0);
        sum += x.get<double>();
      }
      // A float softmax over the row, each weight printed with 6
      // significant digits (%.6g: within 5e-7 of a weight <= 1).
      const auto n = static_cast<std::int64_t>(row.size());
      EXPECT_NEAR(sum, 1.0, testing::SumTolerance(n) + 5e-7 * static_cast<double>(n))
          << "line " << i;
    }
  }
  // The plotting tool reads the file (when matplotlib is installed).
  const std::string plot = testing::PlotCommand();
  if (plot.empty()) return;
  const ProcessResult p = RunProcess(plot + " attention " + align + " --out " +
                                     (dir_ / "pictures") + " --sentences 0,5");
  EXPECT_EQ(p.status, 0) << p.err;
  EXPECT_GT(testing::PngSize(dir_ / "pictures/attention-5.png").first,
            testing::PngSize(dir_ / "pictures/attention-0.png").first);  // 18 words against 5
}

TEST_F(TranslateCli, SameOutputUnderMpi) {
  const std::string args = " translate --threads 1 --model " + ckpt_ + " --input " + input_ +
                           " --nbest 2 --batch-sentences 3";
  const ProcessResult one = RunProcess(kBin + args + " --alignments " + (dir_ / "a1.jsonl"));
  ASSERT_EQ(one.status, 0) << one.err;
  ASSERT_FALSE(one.out.empty());
  for (int n : {2, 3}) {
    const std::string align = dir_ / ("a" + std::to_string(n) + "_ranks.jsonl");
    const ProcessResult r = RunProcess(Mpiexec(n) + kBin + args + " --alignments " + align);
    ASSERT_EQ(r.status, 0) << n << " ranks: " << r.err;
    EXPECT_EQ(r.out, one.out) << n << " ranks";
    EXPECT_EQ(testing::ReadWhole(align), testing::ReadWhole(dir_ / "a1.jsonl")) << n << " ranks";
  }
  // More ranks than lines: the idle ranks take part in the gather.
  testing::WriteText(dir_ / "two.txt", lines_[0] + "\n" + lines_[1] + "\n");
  const ProcessResult few = RunProcess(Mpiexec(3) + kBin + " translate --threads 1 --model " +
                                       ckpt_ + " --input " + (dir_ / "two.txt"));
  ASSERT_EQ(few.status, 0) << few.err;
  EXPECT_EQ(SplitLines(few.out).size(), 2u);
}

TEST_F(TranslateCli, RunDirectoryAndWeights) {
  TempDir run{"translate_run"};
  const ParamSet p5 = RandomParams(5), p9 = RandomParams(9), p12 = RandomParams(12);
  Save(run / "ckpt-5.h5", p5, 5);
  Save(run / "ckpt-9.h5", p9, 9);
  auto output = [&](const std::string& source) {
    const ProcessResult r = Translate(source + " --input " + input_);
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  const std::string by5 = output("--model " + (run / "ckpt-5.h5"));
  const std::string by9 = output("--model " + (run / "ckpt-9.h5"));
  ASSERT_NE(by5, by9);
  EXPECT_EQ(output("--run-dir " + run.path()), by9);  // the newest
  // A damaged newer checkpoint is skipped with a warning.
  testing::WriteText(run / "ckpt-12.h5", "not a checkpoint");
  const ProcessResult skipped = Translate("--run-dir " + run.path() + " --input " + input_);
  EXPECT_EQ(skipped.out, by9);
  EXPECT_NE(skipped.err.find("skipping the checkpoint '" + (run / "ckpt-12.h5")), std::string::npos)
      << skipped.err;
  // best.h5 comes first.
  std::filesystem::copy_file(run / "ckpt-5.h5", run / "best.h5");
  EXPECT_EQ(output("--run-dir " + run.path()), by5);
  // The moving average when there is one (auto), else the parameters.
  Save(dir_ / "ema.h5", p12, 12, &p5);
  EXPECT_EQ(output("--model " + (dir_ / "ema.h5")), by5);
  EXPECT_EQ(output("--model " + (dir_ / "ema.h5") + " --weights ema"), by5);
  Save(dir_ / "p12.h5", p12, 12);
  EXPECT_EQ(output("--model " + (dir_ / "ema.h5") + " --weights params"),
            output("--model " + (dir_ / "p12.h5")));
  const ProcessResult no_ema =
      Translate("--model " + (dir_ / "p12.h5") + " --weights ema --input " + input_);
  EXPECT_EQ(no_ema.status, 1);
  EXPECT_NE(no_ema.err.find("has no moving average"), std::string::npos) << no_ema.err;
}

// --ensemble: the library's ensemble beam search, line for line; a member
// with another vocabulary is refused before anything is written.
TEST_F(TranslateCli, EnsembleIsTheLibrarysEnsemble) {
  const ParamSet other = RandomParams(2);
  const std::string second = dir_ / "second.h5", foreign = dir_ / "foreign.h5";
  Save(second, other, 7);
  Save(foreign, other, 7, nullptr, "w");
  const std::string out = dir_ / "out.txt";
  const ProcessResult r = Translate("--model " + ckpt_ + " --ensemble " + second + " --input " +
                                    input_ + " --output " + out + " --batch-sentences 4");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("ensemble member " + second), std::string::npos) << r.err;
  ops::Context ctx(1);
  Saved v;
  Translator t(ctx, std::vector<const ParamSet*>{&params_, &other}, v.src, v.tgt, BeamOptions{}, 4);
  const std::vector<LineTranslation> want = t.Translate(lines_);
  const std::vector<LineTranslation> alone = Library(BeamOptions{}, 4);
  const std::vector<std::string> got = SplitLines(testing::ReadWhole(out));
  ASSERT_EQ(got.size(), lines_.size());
  int differs = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], want[i].nbest[0].text) << "line " << i;
    differs += got[i] != alone[i].nbest[0].text ? 1 : 0;
  }
  EXPECT_GT(differs, 0) << "the second model changes some translations";

  testing::WriteText(out, "keep me\n");
  const ProcessResult bad = Translate("--model " + ckpt_ + " --ensemble " + foreign + " --input " +
                                      input_ + " --output " + out);
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_NE(bad.err.find("--ensemble '" + foreign + "': its target vocabulary"), std::string::npos)
      << bad.err;
  EXPECT_EQ(testing::ReadWhole(out), "keep me\n");
}

TEST_F(TranslateCli, ClearErrorsLeaveOutputsAlone) {
  const std::string out = dir_ / "out.txt";
  testing::WriteText(out, "keep me\n");
  auto expect_error = [&](const std::string& args, int status, const std::string& text) {
    const ProcessResult r = Translate(args + " --output " + out);
    EXPECT_EQ(r.status, status) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(testing::ReadWhole(out), "keep me\n") << args;
  };
  const std::string missing = dir_ / "missing.h5";
  expect_error("--model " + missing + " --input " + input_, 1, missing);
  expect_error("--model " + input_ + " --input " + input_, 1, input_);  // not a checkpoint
  expect_error("--model " + ckpt_ + " --input " + (dir_ / "nope.txt"), 1, "nope.txt");
  testing::WriteText(dir_ / "bad.txt", "q1 q2\nq3 \xff q4\n");
  expect_error("--model " + ckpt_ + " --input " + (dir_ / "bad.txt"), 1,
               "bad.txt:2: expected UTF-8 text");
  expect_error("--input " + input_, 2, "exactly one of --model");
  expect_error("--model " + ckpt_ + " --run-dir " + dir_.path(), 2, "exactly one of --model");
  expect_error("--model " + ckpt_ + " --nbest 6", 2, "--nbest");
  expect_error("--model " + ckpt_ + " --beam-size 0", 2, "--beam-size");
  expect_error("--model " + ckpt_ + " --weights best", 2, "--weights");
  expect_error("--run-dir " + (dir_ / "no_run"), 1, "no such directory");
  TempDir empty{"translate_empty_run"};
  expect_error("--run-dir " + empty.path(), 1, "has no checkpoint");
  // Under MPI the same error, once, and every rank exits.
  const ProcessResult r =
      RunProcess(Mpiexec(2) + kBin + " translate --threads 1 --model " + missing);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
}

// Every output path is checked before any work (even before the model is
// read): a missing directory, a directory as the file, or --alignments on
// --output is an error naming the option, and an existing output file is
// left as it was (also when only --alignments is bad). rescore likewise.
TEST_F(TranslateCli, BadOutputPathsAreFoundBeforeAnyWork) {
  const std::string out = dir_ / "out.txt", no_dir = dir_ / "no_dir";
  testing::WriteText(out, "keep me\n");
  auto expect_error = [&](const std::string& command, const std::string& args,
                          const std::string& text) {
    const ProcessResult r = RunProcess(kBin + " " + command + " --threads 1 " + args);
    EXPECT_EQ(r.status, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find("lines, 1 rank(s)"), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(testing::ReadWhole(out), "keep me\n") << args;
    EXPECT_FALSE(std::filesystem::exists(no_dir)) << args;
  };
  const std::string run = "--model " + ckpt_ + " --input " + input_;
  expect_error("translate", run + " --output " + (no_dir + "/t.txt"),
               "rnnsearch translate: --output: cannot write '" + no_dir +
                   "/t.txt': the directory '" + no_dir + "' does not exist");
  expect_error(
      "translate", run + " --output " + dir_.path(),
      "rnnsearch translate: --output: cannot write '" + dir_.path() + "': it is a directory");
  expect_error("translate", run + " --output " + out + " --alignments " + (no_dir + "/a.jsonl"),
               "rnnsearch translate: --alignments: cannot write '" + no_dir +
                   "/a.jsonl': the directory '" + no_dir + "' does not exist");
  expect_error("translate", run + " --output " + out + " --alignments " + (out + "/a.jsonl"),
               "rnnsearch translate: --alignments: cannot write '" + out + "/a.jsonl': '" + out +
                   "' is not a directory");
  expect_error("translate", run + " --output " + out + " --alignments " + out,
               "rnnsearch translate: --alignments: '" + out + "' is also the --output file");
  // Found before the model is read.
  expect_error("translate", "--model " + (dir_ / "missing.h5") + " --output " + dir_.path(),
               "--output: cannot write '" + dir_.path() + "': it is a directory");
  expect_error("rescore",
               "--model " + ckpt_ + " --source " + input_ + " --hyp " + input_ + " --output " +
                   (no_dir + "/s.txt"),
               "rnnsearch rescore: --output: cannot write '" + no_dir + "/s.txt': the directory '" +
                   no_dir + "' does not exist");
  // A good output is written as before.
  const ProcessResult r = Translate(run + " --output " + out);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(testing::ReadWhole(out), "keep me\n");
}

// rnnsearch rescore of translate's n-best lines (alpha 0: SCORE is the
// log-probability) gives every finished hypothesis its score back, for one
// model and an ensemble; the same output under mpiexec; plain hypothesis
// files; errors that name the file and line and leave the output alone.
TEST_F(TranslateCli, RescoreGivesTheNbestScoresBack) {
  const ParamSet other = RandomParams(2);
  const std::string second = dir_ / "second.h5", foreign = dir_ / "foreign.h5";
  Save(second, other, 7);
  Save(foreign, other, 7, nullptr, "w");
  BeamOptions o;
  o.beam_size = 4;
  o.nbest = 3;
  o.length_penalty = 0;
  for (const bool ensemble : {false, true}) {
    const std::string members = "--model " + ckpt_ + (ensemble ? " --ensemble " + second : "");
    const std::string nbest = dir_ / "nbest.txt", scores = dir_ / "scores.txt";
    const ProcessResult t =
        Translate(members + " --input " + input_ +
                  " --beam-size 4 --nbest 3 --length-penalty 0 --output " + nbest);
    ASSERT_EQ(t.status, 0) << t.err;
    const ProcessResult r = RunProcess(kBin + " rescore --threads 1 " + members + " --source " +
                                       input_ + " --hyp " + nbest + " --nbest --output " + scores);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("pairs/s"), std::string::npos) << r.err;
    ops::Context ctx(1);
    Saved v;
    std::vector<const ParamSet*> params = {&params_};
    if (ensemble) params.push_back(&other);
    Translator tr(ctx, params, v.src, v.tgt, o, 32);
    const std::vector<LineTranslation> want = tr.Translate(lines_);
    const std::vector<std::string> got = SplitLines(testing::ReadWhole(scores));
    ASSERT_EQ(got.size(), SplitLines(testing::ReadWhole(nbest)).size());
    std::size_t k = 0;
    int compared = 0;
    for (const LineTranslation& line : want) {
      for (const TextHypothesis& h : line.nbest) {
        ASSERT_LT(k, got.size());
        double logprob = 0;
        long long tokens = 0;
        ASSERT_EQ(std::sscanf(got[k].c_str(), "%lf %lld", &logprob, &tokens), 2) << got[k];
        ++k;
        if (line.source.empty() || !h.finished) continue;  // not decoded / cut: no </s>
        // The rescorer's training path against the decoder's steps, and
        // the score printed with 6 decimals (%.6f).
        const std::size_t sl = line.source.size() + 1, tl = h.tokens.size() + 1;
        const double tol = testing::ScoreBound(params_.dims(), sl, tl, h.score) + 5e-7;
        EXPECT_NEAR(logprob, h.score, tol) << got[k - 1];
        EXPECT_EQ(tokens, static_cast<long long>(h.tokens.size()) + 1);
        ++compared;
      }
    }
    EXPECT_EQ(k, got.size());
    EXPECT_GE(compared, 30) << (ensemble ? "ensemble" : "one model");
    if (!ensemble) {
      // The same under mpiexec -n 2; plain files (the best of each line)
      // score as their n-best lines do.
      const ProcessResult m = RunProcess(Mpiexec(2) + kBin + " rescore --threads 1 " + members +
                                         " --source " + input_ + " --hyp " + nbest + " --nbest");
      ASSERT_EQ(m.status, 0) << m.err;
      EXPECT_EQ(m.out, testing::ReadWhole(scores));
      std::string best, want_scores;
      k = 0;
      for (const LineTranslation& line : want) {
        best += line.nbest.front().text + "\n";
        want_scores += got[k] + "\n";
        k += line.nbest.size();
      }
      testing::WriteText(dir_ / "best.txt", best);
      const ProcessResult plain =
          RunProcess(kBin + " rescore --threads 1 " + members + " --source " + input_ + " --hyp " +
                     (dir_ / "best.txt"));
      ASSERT_EQ(plain.status, 0) << plain.err;
      EXPECT_EQ(plain.out, want_scores);
    }
  }

  // Errors name the file and line; the output stays as it was.
  const std::string out = dir_ / "out.txt";
  testing::WriteText(out, "keep me\n");
  auto expect_error = [&](const std::string& args, int status, const std::string& text) {
    const ProcessResult r = RunProcess(kBin + " rescore --threads 1 " + args + " --output " + out);
    EXPECT_EQ(r.status, status) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(testing::ReadWhole(out), "keep me\n") << args;
  };
  const std::string hyp = dir_ / "hyp.txt";
  testing::WriteText(hyp, "z1\nz2\n");
  expect_error("--model " + ckpt_ + " --source " + input_ + " --hyp " + hyp, 1,
               "--hyp " + hyp + " has 2 lines but --source " + input_ + " has 23");
  testing::WriteText(hyp, "0 ||| z1 ||| -1.0\n1 z2 -2.0\n");
  expect_error("--model " + ckpt_ + " --source " + input_ + " --hyp " + hyp + " --nbest", 1,
               hyp + ":2: expected an n-best line");
  testing::WriteText(hyp, "0 ||| z1 ||| -1.0\n23 ||| z2 ||| -2.0\n");
  expect_error("--model " + ckpt_ + " --source " + input_ + " --hyp " + hyp + " --nbest", 1,
               hyp + ":2: expected a source line number in [0, 23) before ' ||| ', found '23'");
  expect_error("--model " + ckpt_ + " --ensemble " + foreign + " --source " + input_ + " --hyp " +
                   hyp + " --nbest",
               1, "rnnsearch rescore: --ensemble '" + foreign + "': its target vocabulary");
  expect_error("--model " + ckpt_ + " --source " + (dir_ / "nope.txt") + " --hyp " + hyp, 1,
               "rnnsearch rescore: --source");
  expect_error("--model " + ckpt_ + " --hyp " + hyp, 2, "give both --source F and --hyp F");
  expect_error("--source " + input_ + " --hyp " + hyp, 2, "exactly one of --model");
}

// scripts/rerank.py: per input line the hypothesis with the highest
// W0 SCORE + sum_k Wk LOGPROB_k / TOKENS_k, first of equals; one output
// line per input line; errors name the file and line.
TEST(Rerank, PicksTheBestCombinedScore) {
  TempDir dir{"rerank"};
  const std::string tool = std::string("python3 ") + RNNSEARCH_SOURCE_DIR + "/scripts/rerank.py";
  const std::string nbest = dir / "nbest.txt", a = dir / "a.txt", b = dir / "b.txt";
  testing::WriteText(nbest,
                     "0 ||| x y ||| -1.0\n0 ||| x z ||| -1.5\n"
                     "1 |||  ||| 0.000000\n"
                     "2 ||| p ||| -0.5\n2 ||| q ||| -0.6\n2 ||| r ||| -0.7\n");
  // LOGPROB TOKENS: per-token -2.0 -0.5 | -1 | -1.0 -1.0 -0.1
  testing::WriteText(a, "-4.0 2\n-1.5 3\n-1.0 1\n-2.0 2\n-3.0 3\n-0.2 2\n");
  testing::WriteText(b, "-1.0 1\n-9.0 1\n-1.0 1\n-1.0 1\n-1.0 1\n-5.0 1\n");
  auto run = [&](const std::string& args) {
    const ProcessResult r = RunProcess(tool + " " + nbest + " " + args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    return r.out;
  };
  EXPECT_EQ(run("--scores " + a + " --weights 1,0"), "x y\n\np\n");
  EXPECT_EQ(run("--scores " + a + " --weights 0,1"), "x z\n\nr\n");
  // 0.5 SCORE + 0.5 a: line 0: -1.5 vs -1.0; line 2: -0.75, -0.8, -0.4.
  EXPECT_EQ(run("--scores " + a + " --weights 0.5,0.5"), "x z\n\nr\n");
  // Two score files (default weights 1): line 0 -4.0 vs -11.0; line 2
  // -2.5, -2.6, -5.8.
  EXPECT_EQ(run("--scores " + a + " --scores " + b), "x y\n\np\n");
  const std::string out = dir / "out.txt";
  run("--scores " + a + " --weights 0,1 --out " + out);
  EXPECT_EQ(testing::ReadWhole(out), "x z\n\nr\n");
  auto expect_error = [&](const std::string& args, const std::string& text) {
    const ProcessResult r = RunProcess(tool + " " + args);
    EXPECT_EQ(r.status, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << args << "\n" << r.err;
  };
  testing::WriteText(dir / "short.txt", "-1.0 1\n");
  expect_error(nbest + " --scores " + (dir / "short.txt"),
               dir / "short.txt" + " has 1 lines, expected 6");
  testing::WriteText(dir / "zero.txt", "-4.0 2\n-1.5 3\n-1.0 0\n-2.0 2\n-3.0 3\n-0.2 2\n");
  expect_error(nbest + " --scores " + (dir / "zero.txt"), "zero.txt:3: expected 'LOGPROB TOKENS'");
  testing::WriteText(dir / "bad.txt", "0 ||| x ||| -1\nnot an n-best line\n");
  expect_error((dir / "bad.txt") + " --scores " + (dir / "short.txt"),
               "bad.txt:2: expected 'LINE ||| TEXT ||| SCORE'");
  expect_error(nbest + " --scores " + a + " --weights 1,2,3", "--weights: expected 2 numbers");
}

}  // namespace
}  // namespace rnnsearch
