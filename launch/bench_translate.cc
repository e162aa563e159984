// rnnsearch bench translate: decoding speed of trainer/decode/beam_search.h on a
// random model of the PyTorch peer's `base` shapes (Vs = Vt = 10000,
// E = 256, He = 256, Hd = A = O = 512, GRU, additive attention), on
// --threads 1 2.
//
// Workload: --sentences random sources of 0.5 to 1.5 x --length words,
// decoded in length-sorted batches of --batch-sentences as `rnnsearch
// translate` does. A random model has no idea when to stop, so </s> is
// kept out (output bias -30) and every hypothesis is cut at the length of
// its source (max_len_ratio 1, offset 0: words + 1 tokens): each sentence
// costs what a translation as long as its source costs with a trained
// model, where the beam shrinks a little earlier as hypotheses finish.
// Figures: sentences/s and target tokens/s at --beam, the same for greedy
// decoding (beam 1) measured in the same run, and their time ratio (the
// cost of the beam; machine speed cancels out).
#include <algorithm>
#include <random>

#include "common/clock.h"
#include "common/error.h"
#include "io/vocab.h"
#include "launch/bench.h"
#include "trainer/decode/beam_search.h"

namespace rnnsearch {
namespace {

struct Rate {
  double seconds = 0;
  std::int64_t tokens = 0;  // output tokens of the best hypotheses, </s> included
};

Rate Decode(BeamSearch& search, const std::vector<std::vector<std::int32_t>>& sorted,
            int batch_sentences) {
  Rate r;
  const double t0 = Now();
  for (std::size_t first = 0; first < sorted.size();
       first += static_cast<std::size_t>(batch_sentences)) {
    const std::size_t last =
        std::min(sorted.size(), first + static_cast<std::size_t>(batch_sentences));
    const std::vector<std::vector<std::int32_t>> batch(
        sorted.begin() + static_cast<std::ptrdiff_t>(first),
        sorted.begin() + static_cast<std::ptrdiff_t>(last));
    for (const Translation& t : search.Translate(batch)) r.tokens += t.nbest[0].length();
  }
  r.seconds = Now() - t0;
  return r;
}

}  // namespace

int BenchTranslate(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  options.add_options()("threads",
                        po::value<std::vector<int>>()->multitoken()->default_value({1, 2}, "1 2"),
                        "thread counts to measure")(
      "sentences", po::value<int>()->default_value(128), "source sentences decoded")(
      "length", po::value<int>()->default_value(20), "mean source (and output) length")(
      "beam", po::value<int>()->default_value(5), "beam size measured against beam 1")(
      "batch-sentences", po::value<int>()->default_value(32), "sentences per batch");
  po::variables_map vm;
  if (!ParseCommandArgs("bench translate",
                        "[--threads N ...] [--sentences n] [--length L] [--beam K]", options, args,
                        vm, env)) {
    return 0;
  }
  const int sentences = vm["sentences"].as<int>(), length = vm["length"].as<int>();
  const int beam = vm["beam"].as<int>(), batch = vm["batch-sentences"].as<int>();
  if (sentences < 1 || length < 2 || beam < 1 || batch < 1) {
    throw UsageError(
        "rnnsearch bench translate: --sentences, --beam and --batch-sentences must "
        "be >= 1 and --length >= 2");
  }
  ModelConfig m;  // the defaults are the base shapes
  m.emb_dim = 256;
  m.enc_dim = 256;
  m.dec_dim = 512;
  m.att_dim = 512;
  m.readout_dim = 512;
  const std::int64_t V = 10000;
  ParamSet params(ModelDims::From(m, V, V));
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-0.05f, 0.05f);
  for (std::size_t i = 0; i < params.size(); ++i) params.data()[i] = u(rng);
  params.Get("output.bias")[Vocab::kEos] = -30.0f;
  std::uniform_int_distribution<int> len(length / 2, length + length / 2);
  std::uniform_int_distribution<std::int32_t> id(Vocab::kNumSpecial, static_cast<int>(V) - 1);
  std::vector<std::vector<std::int32_t>> sources(static_cast<std::size_t>(sentences));
  for (auto& s : sources) {
    s.resize(static_cast<std::size_t>(len(rng)));
    for (auto& x : s) x = id(rng);
  }
  std::stable_sort(sources.begin(), sources.end(),
                   [](const auto& a, const auto& b) { return a.size() < b.size(); });
  for (int threads : vm["threads"].as<std::vector<int>>()) {
    if (threads < 1) throw UsageError("rnnsearch bench translate: --threads must be >= 1");
    ops::Context ctx(threads);
    const JsonFields fields = {{"threads", threads}, {"sentences", sentences}};
    BeamOptions o;
    o.beam_size = beam;
    o.max_len_ratio = 1.0;
    o.max_len_offset = 0;
    BeamSearch search(ctx, params, o);
    o.beam_size = 1;
    BeamSearch greedy(ctx, params, o);
    Decode(search, {sources.back()}, 1);  // warm-up: primitives, buffers
    Decode(greedy, {sources.back()}, 1);
    const Rate b = Decode(search, sources, batch);
    const Rate g = Decode(greedy, sources, batch);
    const std::string k = "translate.beam" + std::to_string(beam);
    PrintFigure(env, k + ".sentences_per_s", sentences / b.seconds, "sentences/s", fields);
    PrintFigure(env, k + ".target_tokens_per_s", static_cast<double>(b.tokens) / b.seconds,
                "tokens/s", fields);
    PrintFigure(env, k + ".mean_output_len", static_cast<double>(b.tokens) / sentences, "tokens",
                fields);
    PrintFigure(env, "translate.greedy.sentences_per_s", sentences / g.seconds, "sentences/s",
                fields);
    PrintFigure(env, "translate.greedy.mean_output_len", static_cast<double>(g.tokens) / sentences,
                "tokens", fields);
    PrintFigure(env, k + "_vs_greedy.time", b.seconds / g.seconds, "ratio", fields);
  }
  return 0;
}

}  // namespace rnnsearch
