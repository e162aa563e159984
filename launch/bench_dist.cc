// rnnsearch bench dist: weak scaling of data-parallel training steps, run
// under mpirun with N >= 2 ranks (scripts/bench_dist.sh runs it over
// shared memory and over TCP).
//
// A step is what TrainStep does after reading: forward and backward of
// this rank's batch part (B sentences of T tokens, the PyTorch peer's
// `base` or `small` shapes, random ids, no dropout) with the GradSync's
// hook (and the embedding rows it touches: dist.sparse_embeddings is on),
// GradSync::Finish, clipping and Adam. Every rank's part has the
// same shape, so the ranks do the same work. In each of --rounds rounds,
// alternating so that a drifting machine load hits all alike:
//   solo      rank 0 alone (the other ranks sleep in a polling barrier),
//             no sync: the 1 rank x T threads baseline;
//   independent  all ranks at once, no sync: what sharing the machine
//             (memory bandwidth, caches, clocks) costs without any
//             communication, the ceiling of any gradient sync here;
//   overlap   all ranks, OverlapGradSync (dist.bucket_mb), its thread
//             waiting for each allreduce by polling (--poll-us, the
//             default of dist.comm_poll_us);
//   overlap_spin  the same with blocking allreduces (dist.comm_poll_us 0),
//             which busy-poll inside MPI while they wait;
//   overlap_dense  `overlap` with the embedding tables all-reduced whole
//             (dist.sparse_embeddings: false; the other phases send the
//             rows the step's random ids touched);
//   overlap_bf16  `overlap` with bf16 on the wire (dist.wire_dtype: bf16);
//   blocking  all ranks, one blocking allreduce after the backward pass;
//   shared    all ranks, SharedMemoryGradSync (trainer/dist/grad_sync_shm.h):
//             blocking, the buffers summed in a shared-memory segment,
//             every rank updating its own copy of the state (only when
//             every rank runs on this node; it bypasses the MPI transport,
//             so its figures do not depend on it);
//   sharded   the same sync with the state shared (ShareState, as
//             `rnnsearch train` runs it): each rank sums and updates 1/N;
//   plain     Comm::Allreduce (MPI_Allreduce in place) of the gradient
//             buffer's bytes alone, barrier-separated, the slowest rank's
//             time: the library's own bandwidth in this run.
// Figures (JSON lines; medians over all timed steps of all rounds):
//   dist.solo.step_ms, dist.solo.tgt_tokens_per_s
//   dist.SYNC.step_ms, dist.SYNC.tgt_tokens_per_s (all ranks)
//   dist.SYNC.weak_scaling_efficiency  solo step time / SYNC step time
//                                      (= tokens/s over N x solo tokens/s)
//   dist.independent.step_ms, dist.independent.weak_scaling_efficiency
//                                      (the slowest rank's median)
//   dist.SYNC.vs_independent  independent step time / SYNC step time:
//                             the part of the efficiency the sync costs
//   dist.SYNC.comm_wait_share  time in Finish (waiting for buckets still
//                              in flight, the totals' allreduce) over the
//                              step time, mean over ranks
//   dist.SYNC.allreduce_gbps   the f32 gradient's bytes (whatever travels)
//                              / time spent in allreduces
//                              per step (overlap: the communication
//                              thread's; blocking: Finish's)
//   dist.SYNC.allreduce_vs_plain  that bandwidth over the plain one
//   dist.plain_allreduce.ms, dist.plain_allreduce.gbps
//   dist.bound.step_ms  independent step time + one plain allreduce: the
//                       best a sync can do when the ranks have no spare
//                       core, so that the allreduce's copies and sums
//                       (CPU work under shared memory and loopback TCP)
//                       cannot overlap the computation
//   dist.bound.weak_scaling_efficiency  solo step time / that
//   dist.SYNC.vs_bound  bound step time / SYNC step time
//   dist.PHASE.main_thread_cpu_share  CPU time of the stepping thread over
//                              the step time (solo: rank 0's; else the mean
//                              over ranks): below 1 when it waited for
//                              communication or lost its core to another
//                              thread or process (a busy machine)
// Bandwidth is algorithm bandwidth: bytes of the buffer / time (GB = 1e9).
#include <mpi.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/error.h"
#include "launch/bench.h"
#include "trainer/dist/grad_sync_overlap.h"
#include "trainer/dist/grad_sync_shm.h"
#include "trainer/model/init.h"
#include "trainer/model/model.h"
#include "trainer/optim/optimizer.h"

namespace rnnsearch {
namespace {

// A barrier during which the waiting ranks sleep instead of spinning on
// their cores (so that rank 0's solo steps run as if alone).
void SleepingBarrier(Comm& comm) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return comm.Barrier();
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  for (int done = 0;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// B sentences of T ids in [4, V) on both sides, sentence numbers from first.
Batch SyntheticBatch(const BenchShape& p, std::uint32_t seed, std::int64_t first) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::int32_t> id(4, static_cast<std::int32_t>(p.V) - 1);
  Batch b;
  b.size = p.B;
  b.first = first;
  b.src_steps = b.tgt_steps = p.T;
  b.src.resize(static_cast<std::size_t>(p.B) * p.T);
  b.tgt.resize(b.src.size());
  for (auto& x : b.src) x = id(rng);
  for (auto& x : b.tgt) x = id(rng);
  b.src_len.assign(static_cast<std::size_t>(p.B), p.T);
  b.tgt_len.assign(static_cast<std::size_t>(p.B), p.T);
  return b;
}

struct StepTimes {
  std::vector<double> step, finish;
  std::vector<double> cpu;  // the calling thread's CPU time in the step
};

// CPU time of the calling thread, seconds.
double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

class Runner {
 public:
  Runner(const BenchShape& p, ops::Context& ctx, int rank)
      : p_(p),
        dims_(p.dims()),
        model_(ctx, dims_, ModelOptions{}),
        params_(dims_),
        grads_(dims_),
        optimizer_(OptimizerOptions{}, dims_),
        batch_(SyntheticBatch(p, 11 + rank, 0)) {
    InitParams(params_, 1);
  }

  // `steps` timed steps after `warmup` untimed ones with `sync`, as one
  // rank of `ranks`.
  void Run(GradSync& sync, int ranks, int warmup, int steps, StepTimes& times) {
    const float scale = 1.0f / static_cast<float>(static_cast<std::int64_t>(ranks) * p_.B * p_.T);
    for (int k = 0; k < warmup + steps; ++k) {
      const double t0 = Now();
      const double c0 = ThreadCpu();
      grads_.Zero();
      EmbeddingRows touched;
      AddTouchedRows(batch_, touched);
      sync.SetTouchedRows(std::move(touched));
      const GradReadyFn hook = sync.BeginLastBackward(grads_);
      const StepResult r = model_.ForwardBackward(params_, grads_, batch_, scale, counter_++, hook);
      StepTotals totals;
      totals.loss = r.loss;
      totals.tgt_tokens = r.tokens;
      const double t1 = Now();
      sync.Finish(grads_, totals);
      const double t2 = Now();
      ApplyUpdate(optimizer_, params_, grads_, 1e-5, 1.0, sync.Part());
      const double t3a = Now();
      sync.EndUpdate();
      const double t3 = Now();
      const double c3 = ThreadCpu();
      if (k >= warmup) {
        times.step.push_back(t3 - t0);
        times.finish.push_back((t2 - t1) + (t3 - t3a));
        times.cpu.push_back(c3 - c0);
      }
    }
  }

  ParamSet& grads() { return grads_; }
  // The parameters and Adam's moments (GradSync::ShareState).
  std::vector<ParamSet*> state() {
    std::vector<ParamSet*> b = {&params_};
    for (const StateRefs::Buffers& x : optimizer_.State().buffers) b.push_back(x.set);
    return b;
  }
  const ModelDims& dims() const { return dims_; }

 private:
  const BenchShape& p_;
  ModelDims dims_;
  Model model_;
  ParamSet params_, grads_;
  Optimizer optimizer_;
  Batch batch_;
  std::uint64_t counter_ = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

}  // namespace

int BenchDist(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("config", po::value<std::string>()->default_value("base"), "shape preset: base or small")
      ("threads", po::value<int>()->default_value(1), "compute threads per rank")
      ("steps", po::value<int>()->default_value(5), "timed steps per phase and round")
      ("warmup", po::value<int>()->default_value(1), "untimed steps before each phase")
      ("rounds", po::value<int>()->default_value(3), "rounds of solo, independent, overlap, blocking, plain")
      ("bucket-mb", po::value<double>()->default_value(25.0), "dist.bucket_mb of the overlap sync")
      ("poll-us", po::value<int>()->default_value(OverlapGradSync::kDefaultPollUs),
       "dist.comm_poll_us of the overlap sync (overlap_spin: 0)")
      ("transport", po::value<std::string>()->default_value("default"),
       "label printed with every figure (scripts/bench_dist.sh: shm or tcp)");
  // clang-format on
  po::variables_map vm;
  if (!ParseCommandArgs("bench dist",
                        "[--config base|small] [--threads T] [--steps k] [--rounds r]", options,
                        args, vm, env)) {
    return 0;
  }
  Comm& comm = env.comm;
  const int n = comm.size(), rank = comm.rank();
  if (n < 2) {
    throw UsageError(
        "rnnsearch bench dist: run it under mpirun with 2 or more ranks "
        "(scripts/bench_dist.sh)");
  }
  const std::string config = vm["config"].as<std::string>();
  const BenchShape* preset = &FindBenchShape("rnnsearch bench dist: --config", config);
  const int threads = vm["threads"].as<int>(), steps = vm["steps"].as<int>();
  const int warmup = vm["warmup"].as<int>(), rounds = vm["rounds"].as<int>();
  const double bucket_mb = vm["bucket-mb"].as<double>();
  const int poll_us = vm["poll-us"].as<int>();
  if (threads < 1 || steps < 1 || warmup < 0 || rounds < 1 || bucket_mb < 0 || poll_us < 0) {
    throw UsageError(
        "rnnsearch bench dist: expected --threads, --steps, --rounds >= 1 and "
        "--warmup, --bucket-mb, --poll-us >= 0");
  }

  ops::Context ctx(threads);
  Runner runner(*preset, ctx, rank);
  OverlapGradSync overlap(comm, BucketFloats(bucket_mb), poll_us);
  OverlapGradSync spin(comm, BucketFloats(bucket_mb), 0);
  OverlapGradSync dense(comm, BucketFloats(bucket_mb), poll_us, WireDtype::kF32, false);
  OverlapGradSync bf16(comm, BucketFloats(bucket_mb), poll_us, WireDtype::kBf16, true);
  const auto blocking = MakeAllreduceGradSync(comm);
  const bool one_node = comm.local_size() == n;
  SharedMemoryGradSync shared(comm);
  // The shared state needs a model of its own: the other phases update
  // every rank's own copy.
  std::unique_ptr<Runner> sharded_runner;
  SharedMemoryGradSync sharded(comm);
  if (one_node) {
    sharded_runner = std::make_unique<Runner>(*preset, ctx, rank);
    sharded.ShareState(sharded_runner->state());
  }
  const auto local = MakeLocalGradSync();
  StepTimes solo, indep, over, over_spin, over_dense, over_bf16, block, shm, shm_sharded;
  std::vector<double> plain;
  double overlap_comm = 0, spin_comm = 0, dense_comm = 0, bf16_comm = 0;
  // An overlapped phase; adds its communication thread's seconds in
  // allreduces during the timed steps (the warm-up's share by proportion).
  auto run_overlapped = [&](OverlapGradSync& sync, StepTimes& times, double& comm_s) {
    const OverlapSyncStats before = sync.stats();
    runner.Run(sync, n, warmup, steps, times);
    comm_s += (sync.stats().comm_seconds - before.comm_seconds) * steps / (warmup + steps);
  };
  ParamSet& g = runner.grads();
  for (int round = 0; round < rounds; ++round) {
    SleepingBarrier(comm);
    if (rank == 0) runner.Run(*local, 1, warmup, steps, solo);
    SleepingBarrier(comm);
    runner.Run(*local, n, warmup, steps, indep);
    SleepingBarrier(comm);
    run_overlapped(overlap, over, overlap_comm);
    comm.Barrier();
    run_overlapped(spin, over_spin, spin_comm);
    comm.Barrier();
    run_overlapped(dense, over_dense, dense_comm);
    comm.Barrier();
    run_overlapped(bf16, over_bf16, bf16_comm);
    comm.Barrier();
    runner.Run(*blocking, n, warmup, steps, block);
    comm.Barrier();
    if (one_node) runner.Run(shared, n, warmup, steps, shm);
    comm.Barrier();
    if (one_node) sharded_runner->Run(sharded, n, warmup, steps, shm_sharded);
    comm.Barrier();
    g.Zero();  // the same bytes; repeated sums of zeros stay finite
    for (int k = 0; k < warmup + steps; ++k) {
      comm.Barrier();
      const double t0 = Now();
      comm.Allreduce(g.data(), g.size(), ReduceOp::kSum);
      double dt = Now() - t0;
      comm.Allreduce(&dt, 1, ReduceOp::kMax);
      if (k >= warmup) plain.push_back(dt);
    }
  }

  // Rank 0's step times are the job's (every step ends in the sync);
  // shares are averaged over the ranks.
  auto mean_over_ranks = [&](double x) {
    comm.Allreduce(&x, 1, ReduceOp::kSum);
    return x / n;
  };
  auto wait_share = [&](const StepTimes& t) {
    return mean_over_ranks(Sum(t.finish) / Sum(t.step));
  };
  auto cpu_share = [&](const StepTimes& t) { return mean_over_ranks(Sum(t.cpu) / Sum(t.step)); };
  const double timed = static_cast<double>(steps) * rounds;
  const double over_comm_per_step = mean_over_ranks(overlap_comm / timed);
  const double spin_comm_per_step = mean_over_ranks(spin_comm / timed);
  const double dense_comm_per_step = mean_over_ranks(dense_comm / timed);
  const double bf16_comm_per_step = mean_over_ranks(bf16_comm / timed);
  const double block_comm_per_step = mean_over_ranks(Sum(block.finish) / timed);
  const double shm_comm_per_step = one_node ? mean_over_ranks(Sum(shm.finish) / timed) : 0.0;
  const double sharded_comm_per_step =
      one_node ? mean_over_ranks(Sum(shm_sharded.finish) / timed) : 0.0;
  const double solo_ms = Median(solo.step) * 1e3;  // rank 0 only
  double indep_ms = Median(indep.step) * 1e3;
  comm.Allreduce(&indep_ms, 1, ReduceOp::kMax);
  const double plain_s = Median(plain);
  const double bound_ms = indep_ms + plain_s * 1e3;
  const double bytes = static_cast<double>(g.size()) * sizeof(float);
  const double tokens = static_cast<double>(preset->B) * preset->T;

  const JsonFields f = {{"config", preset->name},
                        {"transport", vm["transport"].as<std::string>()},
                        {"ranks", n},
                        {"threads", threads},
                        {"bucket_mb", bucket_mb},
                        {"poll_us", poll_us},
                        {"buckets", overlap.plan().buckets.size()},
                        {"grad_mb", bytes / 1048576.0},
                        {"timed_steps", steps * rounds}};
  PrintFigure(env, "dist.solo.step_ms", solo_ms, "ms", f);
  PrintFigure(env, "dist.solo.tgt_tokens_per_s", tokens / solo_ms * 1e3, "tokens/s", f);
  if (rank == 0) {
    PrintFigure(env, "dist.solo.main_thread_cpu_share", Sum(solo.cpu) / Sum(solo.step), "ratio", f);
  }
  PrintFigure(env, "dist.independent.step_ms", indep_ms, "ms", f);
  PrintFigure(env, "dist.independent.weak_scaling_efficiency", solo_ms / indep_ms, "ratio", f);
  for (const auto& [name, times, comm_s] :
       {std::tuple{"overlap", &over, over_comm_per_step},
        std::tuple{"overlap_spin", &over_spin, spin_comm_per_step},
        std::tuple{"overlap_dense", &over_dense, dense_comm_per_step},
        std::tuple{"overlap_bf16", &over_bf16, bf16_comm_per_step},
        std::tuple{"blocking", &block, block_comm_per_step},
        std::tuple{"shared", &shm, shm_comm_per_step},
        std::tuple{"sharded", &shm_sharded, sharded_comm_per_step}}) {
    if (times == &shm && !shared.active()) continue;  // not one node, or no segment
    if (times == &shm_sharded && !sharded.shared_state()) continue;
    const std::string s = std::string("dist.") + name + ".";
    const double ms = Median(times->step) * 1e3;
    const double share = wait_share(*times), cpu = cpu_share(*times);
    PrintFigure(env, s + "step_ms", ms, "ms", f);
    PrintFigure(env, s + "tgt_tokens_per_s", n * tokens / ms * 1e3, "tokens/s", f);
    PrintFigure(env, s + "weak_scaling_efficiency", solo_ms / ms, "ratio", f);
    PrintFigure(env, s + "vs_independent", indep_ms / ms, "ratio", f);
    PrintFigure(env, s + "vs_bound", bound_ms / ms, "ratio", f);
    PrintFigure(env, s + "comm_wait_share", share, "ratio", f);
    PrintFigure(env, s + "allreduce_gbps", bytes / comm_s * 1e-9, "GB/s", f);
    PrintFigure(env, s + "allreduce_vs_plain", plain_s / comm_s, "ratio", f);
    PrintFigure(env, s + "main_thread_cpu_share", cpu, "ratio", f);
  }
  PrintFigure(env, "dist.plain_allreduce.ms", plain_s * 1e3, "ms", f);
  PrintFigure(env, "dist.plain_allreduce.gbps", bytes / plain_s * 1e-9, "GB/s", f);
  PrintFigure(env, "dist.bound.step_ms", bound_ms, "ms", f);
  PrintFigure(env, "dist.bound.weak_scaling_efficiency", solo_ms / bound_ms, "ratio", f);
  return 0;
}

}  // namespace rnnsearch
