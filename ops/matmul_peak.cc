#include "ops/matmul_peak.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace rnnsearch::ops {

MatmulRate MeasureSquareMatmul(Context& ctx, std::int64_t n, double min_seconds) {
  using dnnl::memory;
  const memory::dims dims = {n, n};
  std::vector<float> a(static_cast<std::size_t>(n * n)), b(a.size()), c(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
    b[i] = static_cast<float>((i * 104729) % 1000) * 1e-3f - 0.5f;
  }
  const memory::desc md(dims, memory::data_type::f32, memory::format_tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(md, md, md), ctx.engine());
  const dnnl::matmul mm(pd);
  memory am(md, ctx.engine(), a.data()), bm(md, ctx.engine(), b.data()),
      cm(md, ctx.engine(), c.data());
  auto run = [&] {
    mm.execute(ctx.stream(), {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    ctx.stream().wait();
  };
  run();  // warm-up: page faults, JIT
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  MatmulRate best;
  best.n = n;
  do {
    const auto t0 = Clock::now();
    run();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    const double gflops = 2.0 * static_cast<double>(n) * n * n / s * 1e-9;
    if (gflops > best.gflops) {
      best.gflops = gflops;
      best.seconds = s;
    }
  } while (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds);
  return best;
}

}  // namespace rnnsearch::ops
