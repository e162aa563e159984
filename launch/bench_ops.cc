// rnnsearch bench ops: forward + backward of one full training batch of
// the whole model (trainer/model/model.h) at the `base` and `small` shapes of
// the PyTorch peer (../shared/peers/pytorch_rnnsearch.py; every sentence
// 20 tokens on both sides, no dropout, no label smoothing: the peer has
// neither), per op and whole, on each --threads count, and in the same run
// a large square f32 oneDNN matmul on the same threads (ops/matmul_peak.h).
//
// FLOPs are the peer's count (TrainingFlops, trainer/model/model.h; the ops'
// ForwardBackwardFlops per op): matrix products only, training = 3 x the
// forward. Figures per (config, threads), as JSON lines:
//   CONFIG.op.PART.time     ms of each part of the model (ModelProfile
//                           parts) in the best timed step (dropout: in
//                           the best step of the model with dropout 0.2)
//   CONFIG.op.PART.gflops   that part's FLOPs / its time
//   CONFIG.model.time       ms per batch, the best timed step
//   CONFIG.model.gflops     FLOPs per batch / best step time
//   CONFIG.model.tgt_tokens_per_s
//   CONFIG.matmul.gflops    the square matmul, best repetition
//   CONFIG.model_vs_matmul  model GFLOP/s / matmul GFLOP/s (both best)
//   CONFIG.dropout_step_vs_none  best step time with dropout 0.2 over without
//   CONFIG.cache_entry_mb   memory one new batch shape adds (its encoder
//                           and decoder cache entries: malloc'ed bytes)
//   CONFIG.new_shape_step_vs_repeat  the first step on a new shape (its
//                           ops built: a cache miss) over the next one
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "common/clock.h"
#include "common/error.h"
#include "launch/bench.h"
#include "ops/attention.h"
#include "ops/decoder_cell.h"
#include "ops/encoder.h"
#include "ops/matmul_peak.h"
#include "trainer/model/model.h"
#include "trainer/model/model_params.h"

namespace rnnsearch {
namespace {

// B sentences of exactly T tokens on both sides (the last one </s>).
Batch FullBatch(int B, int T, std::int64_t V, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::int32_t> id(4, static_cast<std::int32_t>(V - 1));
  Batch b;
  b.size = B;
  b.src_steps = b.tgt_steps = T;
  b.src_len.assign(static_cast<std::size_t>(B), T);
  b.tgt_len = b.src_len;
  for (auto* ids : {&b.src, &b.tgt}) {
    ids->resize(static_cast<std::size_t>(T) * B);
    for (int t = 0; t < T; ++t) {
      for (int s = 0; s < B; ++s)
        ids->at(static_cast<std::size_t>(t) * B + s) = t + 1 == T ? 3 : id(rng);
    }
  }
  b.global_sentences = B;
  b.global_src_tokens = b.global_tgt_tokens = static_cast<std::int64_t>(B) * T;
  return b;
}

// Bytes currently allocated through malloc (oneDNN's memory included).
double AllocatedMb() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd) / 1048576.0;
}

// FLOPs of each ModelProfile part for one batch (0: not counted).
std::array<double, ModelProfile::kParts> PartFlops(const ModelDims& d, int B, int T) {
  std::array<double, ModelProfile::kParts> f{};
  const int C = static_cast<int>(2 * d.He), Hd = static_cast<int>(d.Hd);
  f[ModelProfile::kEncoder] = ops::EncoderLayer::ForwardBackwardFlops(
      CellOf(d), B, T, static_cast<int>(d.E), static_cast<int>(d.He));
  f[ModelProfile::kInit] = 3 * 2.0 * B * C * Hd;
  f[ModelProfile::kAttention] =
      ops::Attention::ForwardBackwardFlops(AttentionOf(d), {T, T, B, C, Hd, static_cast<int>(d.A)});
  f[ModelProfile::kCell] =
      ops::DecoderCell::ForwardBackwardFlops(CellOf(d), {T, B, static_cast<int>(d.E), C, Hd});
  f[ModelProfile::kReadout] =
      3 * 2.0 * B * T * static_cast<double>(d.O) * static_cast<double>(Hd + C + d.E + d.Vt);
  return f;
}

void RunPreset(const BenchShape& pre, int threads, int steps, double matmul_seconds,
               std::int64_t matmul_size, std::int64_t readout_rows, CommandEnv& env) {
  ops::Context ctx(threads);
  const ModelDims d = pre.dims();
  ParamSet params(d), grads(d);
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-0.05f, 0.05f);
  for (std::size_t i = 0; i < params.size(); ++i) params.data()[i] = u(rng);
  ModelOptions options;
  options.readout_rows = readout_rows;
  Model model(ctx, d, options);
  const Batch batch = FullBatch(pre.B, pre.T, pre.V, 7);
  const float scale = 1.0f / static_cast<float>(batch.global_tgt_tokens);
  // The best of `steps` timed steps (after a warm-up step: buffers,
  // primitives) and, in *best_profile, that step's time per part.
  auto best_step = [&](Model& m, std::uint64_t step, ModelProfile* best_profile) {
    m.ForwardBackward(params, grads, batch, scale, step);
    double best = 1e30;
    for (int k = 0; k < steps; ++k) {
      grads.Zero();
      ModelProfile profile;
      m.set_profile(&profile);
      const double t0 = Now();
      m.ForwardBackward(params, grads, batch, scale, step + 1 + k);
      const double s = Now() - t0;
      m.set_profile(nullptr);
      if (s < best) {
        best = s;
        *best_profile = profile;
      }
    }
    return best;
  };
  ModelProfile profile, dropout_profile;
  const double best = best_step(model, 0, &profile);
  // The same with dropout 0.2 (train.dropout's default) on x~, y~ and t.
  ModelOptions with_dropout = options;
  with_dropout.dropout = 0.2f;
  double dropout_best = 0;
  {
    Model dropout_model(ctx, d, with_dropout);
    dropout_best = best_step(dropout_model, 100, &dropout_profile);
  }
  // Drawing and applying the masks is timed in the model with dropout.
  profile.seconds[ModelProfile::kDropout] = dropout_profile.seconds[ModelProfile::kDropout];
  const ops::MatmulRate mm = ops::MeasureSquareMatmul(ctx, matmul_size, matmul_seconds);

  const std::string name = pre.name;
  const JsonFields th = {{"threads", threads}};
  const auto flops = PartFlops(d, pre.B, pre.T);
  double parts = 0;
  for (int p = 0; p < ModelProfile::kParts; ++p) {
    const double s = profile.seconds[static_cast<std::size_t>(p)];
    if (p != ModelProfile::kDropout) parts += s;  // the parts of the best step
    const std::string part = name + ".op." + ModelProfile::Name(p);
    PrintFigure(env, part + ".time", s * 1e3, "ms", th);
    if (flops[static_cast<std::size_t>(p)] > 0 && s > 0) {
      PrintFigure(env, part + ".gflops", flops[static_cast<std::size_t>(p)] / s * 1e-9, "GFLOP/s",
                  th);
    }
  }
  const double total_flops = TrainingFlops(d, pre.B, pre.T, pre.T);
  PrintFigure(env, name + ".model.time", best * 1e3, "ms", th);
  PrintFigure(
      env, name + ".model.gflops", total_flops / best * 1e-9, "GFLOP/s",
      {{"threads", threads}, {"flops_per_batch", total_flops}, {"profiled_parts_ms", parts * 1e3}});
  PrintFigure(env, name + ".model.tgt_tokens_per_s",
              static_cast<double>(batch.global_tgt_tokens) / best, "tokens/s", th);
  PrintFigure(env, name + ".matmul.gflops", mm.gflops, "GFLOP/s",
              {{"threads", threads}, {"n", mm.n}});
  PrintFigure(env, name + ".model_vs_matmul", total_flops / best * 1e-9 / mm.gflops, "ratio", th);
  PrintFigure(env, name + ".dropout_step_vs_none", dropout_best / best, "ratio", th);

  // A batch of a new shape (B - 1 sentences, T - 1 tokens): the time of
  // its first step (building its ops: a cache miss) over a repeated one,
  // and the memory its cache entries hold.
  const Batch other = FullBatch(pre.B - 1, pre.T - 1, pre.V, 8);
  const double before = AllocatedMb();
  double t0 = Now();
  model.ForwardBackward(params, grads, other, scale, 0);
  const double first = Now() - t0;
  PrintFigure(env, name + ".cache_entry_mb", AllocatedMb() - before, "MB", th);
  t0 = Now();
  model.ForwardBackward(params, grads, other, scale, 0);
  const double again = Now() - t0;
  PrintFigure(env, name + ".new_shape_step_vs_repeat", first / again, "ratio", th);
}

}  // namespace

int BenchOps(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("threads", po::value<std::vector<int>>()->multitoken()->default_value({1, 2}, "1 2"),
       "thread counts to measure")
      ("configs", po::value<std::vector<std::string>>()->multitoken()->default_value(
           {"base", "small"}, "base small"),
       "shape presets: base, small")
      ("steps", po::value<int>()->default_value(5), "timed forward+backward steps per run")
      ("matmul-size", po::value<std::int64_t>()->default_value(2048), "square matmul size n")
      ("matmul-seconds", po::value<double>()->default_value(1.0), "timed seconds of the matmul")
      ("readout-rows", po::value<std::int64_t>()->default_value(ModelOptions{}.readout_rows),
       "rows per readout chunk (ModelOptions::readout_rows)");
  // clang-format on
  po::variables_map vm;
  if (!ParseCommandArgs("bench ops", "[--threads N ...] [--configs base small] [--steps k]",
                        options, args, vm, env)) {
    return 0;
  }
  const int steps = vm["steps"].as<int>();
  if (steps < 1) throw UsageError("rnnsearch bench ops: --steps must be >= 1");
  const std::int64_t readout_rows = vm["readout-rows"].as<std::int64_t>();
  if (readout_rows < 1) throw UsageError("rnnsearch bench ops: --readout-rows must be >= 1");
  for (const std::string& config : vm["configs"].as<std::vector<std::string>>()) {
    const BenchShape& preset = FindBenchShape("rnnsearch bench ops: --configs", config);
    for (int threads : vm["threads"].as<std::vector<int>>()) {
      if (threads < 1) throw UsageError("rnnsearch bench ops: --threads must be >= 1");
      RunPreset(preset, threads, steps, vm["matmul-seconds"].as<double>(),
                vm["matmul-size"].as<std::int64_t>(), readout_rows, env);
    }
  }
  return 0;
}

}  // namespace rnnsearch
