// rnnsearch bench train: whole training steps, as `rnnsearch train` runs
// them (trainer/run/trainer.h: reading the batches from shards, forward,
// backward, gradient clipping, Adam), at the `base` and `small` shapes of
// the PyTorch peer (../shared/peers/pytorch_rnnsearch.py) on full-length
// batches (every sentence 20 tokens on both sides, </s> included; no
// dropout, no label smoothing: the peer has neither; clipping at 1.0).
//
// Each (config, threads) runs in a fresh process (this program again with
// --single), so that its peak memory is its own. The corpus is generated
// in a scratch directory (every word of the V - 4 used at least once, so
// that the whitespace vocabulary has exactly V ids) and preprocessed
// in-process. After --warmup steps, --steps steps are timed one by one;
// steps whose batch is not full (the sampler's shifted cut points give
// one short batch per shard and epoch) are not timed. Figures per
// (config, threads), as JSON lines, named CONFIG.train.*:
//   step_ms            median time of a timed step (the peer's statistic)
//   tgt_tokens_per_s   target tokens of a full batch / median step time
//   gflops             the peer's FLOP count (TrainingFlops) / median step
//   peak_rss_mb        this process's peak resident memory (VmHWM)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/clock.h"
#include "common/error.h"
#include "common/peak_rss.h"
#include "io/preprocess.h"
#include "launch/bench.h"
#include "trainer/dist/grad_sync.h"
#include "trainer/run/trainer.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

// `pairs` sentence pairs of T - 1 words each (plus </s>), the words drawn
// so that every one of the V - 4 appears.
void WriteCorpus(const fs::path& dir, const BenchShape& p, int pairs) {
  const int words = static_cast<int>(p.V) - 4;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, words - 1);
  std::ofstream src(dir / "bench.src"), tgt(dir / "bench.tgt");
  std::int64_t next = 0;  // words not yet used, in order
  for (int i = 0; i < pairs; ++i) {
    for (std::ofstream* out : {&src, &tgt}) {
      for (int t = 0; t + 1 < p.T; ++t) {
        const int w = next < words ? static_cast<int>(next++) : pick(rng);
        *out << (t ? " " : "") << 'w' << w;
      }
      *out << '\n';
    }
  }
}

int RunSingle(const BenchShape& p, int threads, int steps, int warmup, CommandEnv& env) {
  const fs::path dir =
      fs::temp_directory_path() / ("rnnsearch_bench_train_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const int words_needed = static_cast<int>(p.V - 4 + 2 * (p.T - 1)) / (2 * (p.T - 1)) + 1;
  const int pairs = std::max((steps + warmup + 3) * p.B, words_needed);
  WriteCorpus(dir, p, pairs);
  Config config;
  config.model.emb_dim = p.E;
  config.model.enc_dim = p.He;
  config.model.dec_dim = p.Hd;
  config.model.att_dim = p.A;
  config.model.readout_dim = p.O;
  config.data.tokenizer = "whitespace";
  config.data.max_len = p.T;
  config.data.batch_tokens = 0;
  config.data.batch_sentences = p.B;
  config.data.train = (dir / "corpus").string();
  config.train.dropout = 0;
  config.train.lr = 1e-4;
  config.train.max_epochs = 0;
  config.train.clip_norm = 1.0;
  config.dist.threads_per_rank = threads;
  PreprocessOptions pre;
  pre.src = (dir / "bench.src").string();
  pre.tgt = (dir / "bench.tgt").string();
  pre.out = config.data.train;
  pre.data = config.data;
  const Manifest m = Preprocess(pre, env.comm);
  if (m.src_vocab.size() != p.V) {
    throw std::logic_error("bench train: the generated vocabulary has " +
                           std::to_string(m.src_vocab.size()) + " ids, expected " +
                           std::to_string(p.V));
  }
  ops::Context ctx(threads);
  std::vector<double> times;
  {
    Trainer trainer(config, TrainerOptions{(dir / "run").string(), StartPlan{}}, env.comm, ctx,
                    MakeLocalGradSync());
    const std::int64_t full = static_cast<std::int64_t>(p.B) * p.T;
    for (int k = 0; static_cast<int>(times.size()) < steps; ++k) {
      const double t0 = Now();
      const auto out = trainer.Step();
      const double s = Now() - t0;
      if (!out) throw std::logic_error("bench train: the data ended");
      if (k >= warmup && out->totals.tgt_tokens == full) times.push_back(s);
    }
  }
  fs::remove_all(dir);
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const ModelDims d = p.dims();
  const JsonFields th = {{"threads", threads}, {"timed_steps", times.size()}};
  const std::string name = std::string(p.name) + ".train.";
  PrintFigure(env, name + "step_ms", median * 1e3, "ms", th);
  PrintFigure(env, name + "tgt_tokens_per_s", static_cast<double>(p.B) * p.T / median, "tokens/s",
              th);
  PrintFigure(env, name + "gflops", TrainingFlops(d, p.B, p.T, p.T) / median * 1e-9, "GFLOP/s", th);
  PrintFigure(env, name + "peak_rss_mb", PeakRssMb(), "MB", th);
  return 0;
}

}  // namespace

int BenchTrain(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("threads", po::value<std::vector<int>>()->multitoken()->default_value({1, 2}, "1 2"),
       "thread counts to measure")
      ("configs", po::value<std::vector<std::string>>()->multitoken()->default_value(
           {"base", "small"}, "base small"),
       "shape presets: base, small")
      ("steps", po::value<int>()->default_value(10), "timed steps (full batches) per run")
      ("warmup", po::value<int>()->default_value(2), "untimed steps first")
      ("single", po::bool_switch()->default_value(false),
       "measure the first config and thread count in this process (used internally)");
  // clang-format on
  po::variables_map vm;
  if (!ParseCommandArgs("bench train", "[--threads N ...] [--configs base small] [--steps k]",
                        options, args, vm, env)) {
    return 0;
  }
  const int steps = vm["steps"].as<int>(), warmup = vm["warmup"].as<int>();
  if (steps < 1 || warmup < 0) {
    throw UsageError("rnnsearch bench train: expected --steps >= 1 and --warmup >= 0");
  }
  const auto configs = vm["configs"].as<std::vector<std::string>>();
  const auto threads = vm["threads"].as<std::vector<int>>();
  std::vector<const BenchShape*> presets;
  for (const std::string& c : configs) {
    presets.push_back(&FindBenchShape("rnnsearch bench train: --configs", c));
  }
  for (int t : threads) {
    if (t < 1) throw UsageError("rnnsearch bench train: --threads must be >= 1");
  }
  if (vm["single"].as<bool>()) return RunSingle(*presets.at(0), threads.at(0), steps, warmup, env);
  if (env.comm.size() > 1) {
    throw UsageError("rnnsearch bench train: run it as one process (not under mpirun)");
  }
  for (const BenchShape* p : presets) {
    for (int t : threads) {
      std::fflush(stdout);
      const pid_t pid = ::fork();
      if (pid < 0) throw UserError("rnnsearch bench train: fork failed");
      if (pid == 0) {
        const std::string self = fs::read_symlink("/proc/self/exe").string();
        const std::string th = std::to_string(t), st = std::to_string(steps),
                          wu = std::to_string(warmup);
        ::execl(self.c_str(), self.c_str(), "bench", "train", "--single", "--configs", p->name,
                "--threads", th.c_str(), "--steps", st.c_str(), "--warmup", wu.c_str(),
                static_cast<char*>(nullptr));
        std::_Exit(127);
      }
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw UserError(std::string("rnnsearch bench train: the run of ") + p->name + " on " +
                        std::to_string(t) + " thread(s) failed");
      }
    }
  }
  return 0;
}

}  // namespace rnnsearch
