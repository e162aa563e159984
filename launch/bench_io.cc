// rnnsearch bench io: preprocessing speed against Debian's spm_encode with
// the same SentencePiece model on the same cores in the same run (Multi30k
// and a generated corpus of --pairs pairs), the batch reader's token rate,
// and the padding efficiency of 2000-token batches on Multi30k.
//
// The reader's rate is compared with an upper bound of what training can
// consume: the machine's matmul peak (bench matmul) divided by the FLOPs a
// training step spends per target token of the default model (forward
// matmuls of docs/model.md, times 3 for the backward pass). A real trainer is
// slower than the peak, so the true margin is larger than this ratio.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "io/batch_reader.h"
#include "io/corpus.h"
#include "io/preprocess.h"
#include "io/text_file.h"
#include "io/vocab_build.h"
#include "launch/bench.h"
#include "ops/matmul_peak.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ReadLines(const std::string& path) {
  LineReader r(path);
  std::vector<std::string> lines;
  std::string_view l;
  while (r.Next(&l)) lines.emplace_back(l);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& l : lines) out << l << '\n';
  if (!out) throw UserError("cannot write '" + path + "'");
}

// Wall time of spm_encode on one file, ids written to /dev/null.
double TimeSpmEncode(const std::string& spm_encode, const std::string& model,
                     const std::string& input) {
  const std::string cmd =
      spm_encode + " --model " + model + " --output_format=id < " + input + " > /dev/null";
  const double t0 = Now();
  const int status = std::system(cmd.c_str());
  const double s = Now() - t0;
  if (status != 0) throw UserError("'" + cmd + "' failed (status " + std::to_string(status) + ")");
  return s;
}

// Best of `repeat` runs of preprocess vs the sum of spm_encode on both sides.
std::pair<double, double> TimePreprocessAndSpm(const PreprocessOptions& base,
                                               const std::string& spm_encode, int repeat,
                                               Comm& comm) {
  double best_pre = 1e300, best_spm = 1e300;
  for (int i = 0; i < repeat; ++i) {
    const double spm = TimeSpmEncode(spm_encode, base.spm_model, base.src) +
                       TimeSpmEncode(spm_encode, base.spm_model, base.tgt);
    PreprocessOptions o = base;
    o.overwrite = true;
    const double t0 = Now();
    Preprocess(o, comm);
    const double pre = Now() - t0;
    best_pre = std::min(best_pre, pre);
    best_spm = std::min(best_spm, spm);
  }
  return {best_pre, best_spm};
}

// `pairs` sentence pairs whose lengths follow the given corpus and whose
// words are drawn from its word frequencies, side by side.
void GenerateCorpus(const std::vector<std::string>& src, const std::vector<std::string>& tgt,
                    std::int64_t pairs, const std::string& out_src, const std::string& out_tgt) {
  auto words_of = [](const std::vector<std::string>& lines) {
    std::vector<std::string> words;
    std::vector<int> lengths;
    for (const auto& l : lines) {
      std::istringstream in(l);
      int n = 0;
      for (std::string w; in >> w; ++n) words.push_back(w);
      lengths.push_back(n);
    }
    return std::make_pair(words, lengths);
  };
  const auto [sw, sl] = words_of(src);
  const auto [tw, tl] = words_of(tgt);
  std::mt19937_64 rng(20141);
  std::ofstream os(out_src, std::ios::binary), ot(out_tgt, std::ios::binary);
  std::string line;
  for (std::int64_t i = 0; i < pairs; ++i) {
    const std::size_t k = rng() % sl.size();
    for (int side = 0; side < 2; ++side) {
      const auto& words = side == 0 ? sw : tw;
      const int n = side == 0 ? sl[k] : tl[k];
      line.clear();
      for (int j = 0; j < n; ++j) {
        if (j > 0) line += ' ';
        line += words[rng() % words.size()];  // a uniform draw over tokens = unigram frequencies
      }
      line += '\n';
      (side == 0 ? os : ot) << line;
    }
  }
  if (!os || !ot) throw UserError("cannot write the generated corpus");
}

// Forward matmul FLOPs per target token of docs/model.md's model (GRU), with
// `src_per_tgt` source tokens per target token and mean source length `tx`.
double TrainFlopsPerTargetToken(const ModelConfig& m, std::int64_t vocab, double src_per_tgt,
                                double tx) {
  const double E = static_cast<double>(m.emb_dim), He = static_cast<double>(m.enc_dim),
               Hd = static_cast<double>(m.dec_dim), A = static_cast<double>(m.att_dim),
               O = static_cast<double>(m.readout_dim), V = static_cast<double>(vocab);
  double enc = 0;  // per source token
  for (std::int64_t l = 0; l < m.enc_layers; ++l) {
    enc += 2 * 2 * 3 * He * ((l == 0 ? E : 2 * He) + He);
  }
  enc += 2 * A * 2 * He;                                       // attention keys U_a h_j
  const double dec = 2 * 3 * Hd * (E + 2 * He + Hd)            // decoder GRU
                     + 2 * A * Hd + tx * (2 * A + 2 * 2 * He)  // scores and context
                     + 2 * O * (Hd + 2 * He + E) + 2 * V * O;  // readout and output
  return 3.0 * (dec + src_per_tgt * enc);                      // forward + backward
}

}  // namespace

int BenchIo(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  options.add_options()("data", po::value<std::string>()->default_value("../shared/data/multi30k"),
                        "directory with Multi30k's train.en.gz and train.de.gz")(
      "pairs", po::value<std::int64_t>()->default_value(2000000),
      "sentence pairs of the generated corpus (0: skip it)")(
      "work", po::value<std::string>()->default_value(""),
      "scratch directory (default: a new one under /tmp, removed at the end)")(
      "vocab-size", po::value<std::int64_t>()->default_value(8000), "SentencePiece ids")(
      "repeat", po::value<int>()->default_value(3), "timed runs on Multi30k (the best counts)")(
      "spm-encode", po::value<std::string>()->default_value("spm_encode"),
      "Debian's spm_encode (package sentencepiece)");
  po::variables_map vm;
  if (!ParseCommandArgs("bench io", "[--data DIR] [--pairs N] [--work DIR]", options, args, vm,
                        env)) {
    return 0;
  }
  if (env.comm.size() != 1) throw UsageError("rnnsearch bench io: run it as one process");
  const std::string data = vm["data"].as<std::string>();
  const std::string spm_encode = vm["spm-encode"].as<std::string>();
  std::string work = vm["work"].as<std::string>();
  const bool own_work = work.empty();
  if (own_work)
    work =
        (fs::temp_directory_path() / ("rnnsearch_bench_io_" + std::to_string(::getpid()))).string();
  fs::create_directories(work);
  if (std::system((spm_encode + " --help > /dev/null 2>&1").c_str()) != 0) {
    throw UserError("rnnsearch bench io: '" + spm_encode +
                    "' does not run (install Debian's "
                    "sentencepiece package or pass --spm-encode)");
  }

  // Multi30k as plain text (spm_encode reads plain text; so does preprocess here).
  const auto src = ReadLines(data + "/train.en.gz");
  const auto tgt = ReadLines(data + "/train.de.gz");
  WriteLines(work + "/m30k.en", src);
  WriteLines(work + "/m30k.de", tgt);

  // One joint model, used by both tools.
  double t0 = Now();
  std::size_t at = 0;
  SpmTrainOptions spm;
  spm.vocab_size = vm["vocab-size"].as<std::int64_t>();
  const Vocab model = TrainSentencePiece(
      [&](std::string* s) {
        if (at == 2 * src.size()) return false;
        *s = at < src.size() ? src[at] : tgt[at - src.size()];
        ++at;
        return true;
      },
      spm);
  PrintFigure(env, "io.multi30k.spm_train", Now() - t0, "s");
  const std::string model_path = work + "/joint.model";
  { std::ofstream(model_path, std::ios::binary) << model.bytes(); }

  PreprocessOptions o;
  o.src = work + "/m30k.en";
  o.tgt = work + "/m30k.de";
  o.out = work + "/m30k";
  o.spm_model = model_path;
  const auto [pre, base] = TimePreprocessAndSpm(o, spm_encode, vm["repeat"].as<int>(), env.comm);
  PrintFigure(env, "io.multi30k.spm_encode", base, "s", {{"pairs", src.size()}});
  PrintFigure(env, "io.multi30k.preprocess", pre, "s", {{"pairs", src.size()}});
  PrintFigure(env, "io.multi30k.preprocess_vs_spm_encode", pre / base, "ratio", {{"target", 1.5}});

  // Padding of 2000-token batches, averaged over a few epochs' cut points.
  const auto corpus = Corpus::Open(o.out);
  const auto lengths = corpus->lengths();
  PaddingStats pad;
  for (std::int64_t epoch = 0; epoch < 5; ++epoch) {
    const PaddingStats p =
        MeasurePadding(lengths, PlanEpoch(lengths, {2000, 0, 1234, true}, epoch));
    pad.src_real += p.src_real;
    pad.src_padded += p.src_padded;
    pad.tgt_real += p.tgt_real;
    pad.tgt_padded += p.tgt_padded;
  }
  PrintFigure(env, "io.multi30k.padding_efficiency", pad.efficiency(), "ratio",
              {{"batch_tokens", 2000},
               {"source", pad.src_efficiency()},
               {"target", pad.tgt_efficiency()},
               {"target_min", 0.95}});
  PrintFigure(env, "io.index_bytes_per_pair",
              static_cast<double>(corpus->index_bytes()) / static_cast<double>(corpus->sentences()),
              "B");

  // The reader's delivery rate (source + target tokens), prefetch thread included.
  BatchReaderOptions ro;
  ro.batching = {2000, 0, 1234, true};
  ro.epochs = 10;
  std::int64_t tokens = 0, tgt_tokens = 0;
  t0 = Now();
  {
    BatchReader reader(corpus, ro);
    while (auto b = reader.Next()) {
      tokens += b->src_tokens() + b->tgt_tokens();
      tgt_tokens += b->tgt_tokens();
    }
  }
  const double read_s = Now() - t0;
  const double rate = static_cast<double>(tokens) / read_s;
  PrintFigure(env, "io.reader.tokens_per_second", rate, "tokens/s", {{"corpus", "multi30k"}});
  ops::Context ctx(1);
  const double peak = ops::MeasureSquareMatmul(ctx, 2048, 1.0).gflops;
  const Config defaults;
  const double src_per_tgt = static_cast<double>(corpus->manifest().src_tokens) /
                             static_cast<double>(corpus->manifest().tgt_tokens);
  const double tx =
      static_cast<double>(corpus->manifest().src_tokens) / static_cast<double>(corpus->sentences());
  const double flops = TrainFlopsPerTargetToken(defaults.model, model.size(), src_per_tgt, tx);
  const double train_bound = peak * 1e9 / flops;  // target tokens/s at the matmul peak
  const double tgt_rate = static_cast<double>(tgt_tokens) / read_s;
  PrintFigure(
      env, "io.reader.vs_training_bound", tgt_rate / train_bound, "ratio",
      {{"matmul_gflops_1thread", peak}, {"train_flops_per_tgt_token", flops}, {"target_min", 20}});

  // The generated corpus, once each.
  const std::int64_t pairs = vm["pairs"].as<std::int64_t>();
  if (pairs > 0) {
    GenerateCorpus(src, tgt, pairs, work + "/gen.en", work + "/gen.de");
    o.src = work + "/gen.en";
    o.tgt = work + "/gen.de";
    o.out = work + "/gen";
    const auto [gpre, gbase] = TimePreprocessAndSpm(o, spm_encode, 1, env.comm);
    PrintFigure(env, "io.generated.spm_encode", gbase, "s", {{"pairs", pairs}});
    PrintFigure(env, "io.generated.preprocess", gpre, "s", {{"pairs", pairs}});
    PrintFigure(env, "io.generated.preprocess_vs_spm_encode", gpre / gbase, "ratio",
                {{"target", 1.5}});
    const auto gen = Corpus::Open(o.out);
    PrintFigure(env, "io.generated.index_bytes_per_pair",
                static_cast<double>(gen->index_bytes()) / static_cast<double>(gen->sentences()),
                "B");
    std::int64_t gtokens = 0;
    ro.epochs = 1;
    t0 = Now();
    {
      BatchReader reader(gen, ro);
      while (auto b = reader.Next()) gtokens += b->src_tokens() + b->tgt_tokens();
    }
    PrintFigure(env, "io.reader.tokens_per_second", static_cast<double>(gtokens) / (Now() - t0),
                "tokens/s", {{"corpus", "generated"}});
  }
  if (own_work) fs::remove_all(work);
  return 0;
}

}  // namespace rnnsearch
