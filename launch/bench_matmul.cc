// rnnsearch bench matmul: the f32 oneDNN matmul rate on 1..N threads.
#include "common/error.h"
#include "launch/bench.h"
#include "ops/matmul_peak.h"

namespace rnnsearch {

int BenchMatmul(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  options.add_options()("threads",
                        po::value<std::vector<int>>()->multitoken()->default_value({1, 2}, "1 2"),
                        "thread counts to measure")(
      "size", po::value<std::int64_t>()->default_value(2048), "square matrix size n")(
      "seconds", po::value<double>()->default_value(2.0), "timed seconds per thread count");
  po::variables_map vm;
  if (!ParseCommandArgs("bench matmul", "[--threads N ...] [--size n] [--seconds s]", options, args,
                        vm, env)) {
    return 0;
  }
  for (int threads : vm["threads"].as<std::vector<int>>()) {
    if (threads < 1) throw UsageError("rnnsearch bench matmul: --threads must be >= 1");
    ops::Context ctx(threads);
    const ops::MatmulRate r =
        ops::MeasureSquareMatmul(ctx, vm["size"].as<std::int64_t>(), vm["seconds"].as<double>());
    PrintFigure(env, "matmul.f32_square", r.gflops, "GFLOP/s", {{"threads", threads}, {"n", r.n}});
  }
  return 0;
}

}  // namespace rnnsearch
