// Failures and stops of a data-parallel job, and launch/rnnsearch-mpirun:
// - SIGKILL to one rank: mpirun ends the job (the other rank waits in a
//   collective and is killed) with a non-zero status within 30 s, and the
//   wrapper's supervisor (--max-restarts) relaunches it; it resumes from
//   the newest checkpoint, which is intact, and runs to completion;
// - SIGTERM to the wrapper, or to mpirun itself: every rank stops at the
//   same step and exactly one valid checkpoint of that step is written;
// - an I/O error on one rank in the middle of training (a damaged shard
//   chunk) ends the job with a message naming the rank and the file;
// - the wrapper's command line: mapping, binding, threads, interfaces.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <fstream>
#include <regex>
#include <thread>

#include "io/checksum.h"
#include "io/manifest.h"
#include "tests/trainer/train_fixture.h"

namespace rnnsearch::testing {
namespace {

const std::string kWrapper = std::string(RNNSEARCH_SOURCE_DIR) + "/launch/rnnsearch-mpirun";

// The wrapper with this build's programs; ranks not bound (the test suite
// may run several jobs at once on few cores).
std::string Wrapper(const std::string& options) {
  return kWrapper + " --rnnsearch " + RNNSEARCH_BINARY + " --mpirun " + RNNSEARCH_MPIEXEC +
         " --mpirun-arg --oversubscribe --bind none " + options;
}

// The number after `prefix` in `text` (-1 if absent).
long NumberAfter(const std::string& text, const std::string& prefix) {
  const auto at = text.find(prefix);
  if (at == std::string::npos) return -1;
  return std::strtol(text.c_str() + at + prefix.size(), nullptr, 10);
}

class DistFailure : public TrainFixture {
 protected:
  // Every checkpoint of `run` is valid; returns the steps, newest first.
  static std::vector<std::int64_t> ValidCheckpoints(const std::string& run) {
    std::vector<std::int64_t> steps;
    for (const CheckpointEntry& e : CheckpointDir(Path(run).string(), 100).List()) {
      const CheckpointReader reader(e.path);
      reader.VerifyTensors();
      EXPECT_EQ(reader.info().meta.state.step, e.step) << e.path;
      steps.push_back(e.step);
    }
    return steps;
  }

  // Runs `launch` in the background (as $job), waits until RUN/metrics.jsonl
  // has 20 lines, sends `signal` to the pid `target` gives, waits.
  static ProcessResult RunAndSignal(const std::string& run, const std::string& launch,
                                    const std::string& signal, const std::string& target) {
    return RunProcess("cd " + root_.string() + " || exit 1; " + launch + " & job=$!; " +
                      "for i in $(seq 1 600); do [ -f " + run +
                      "/metrics.jsonl ] && "
                      "[ $(wc -l < " +
                      run +
                      "/metrics.jsonl) -ge 20 ] && break; sleep 0.05; done; "
                      "kill -" +
                      signal + " " + target + "; wait $job; echo \"status=$?\"");
  }

  // One checkpoint, valid, of the step the run stopped at: metrics.jsonl
  // (a line every `log_every` steps) ends within log_every steps before it.
  static void ExpectOneCheckpointOfTheLastStep(const std::string& run, int log_every) {
    const std::vector<std::int64_t> steps = ValidCheckpoints(run);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_GE(steps[0], 20);
    const auto lines = ReadLines(Path(run + "/metrics.jsonl"));
    ASSERT_FALSE(lines.empty());
    const long last = NumberAfter(lines.back(), "\"step\":");
    EXPECT_LE(last, steps[0]) << lines.back();
    EXPECT_GT(last + log_every, steps[0]) << lines.back();
  }
};

const char kEndless[] = "--config tiny.yaml --set train.max_steps=100000000 --run-dir ";

TEST_F(DistFailure, SigkillOfOneRankEndsTheJobAndTheSupervisorResumesIt) {
  const std::string script =
      "cd " + root_.string() + " || exit 1; " + Wrapper("-n 2 --max-restarts 1 --restart-delay 1") +
      " -- --config tiny.yaml --run-dir kill --set train.max_steps=600 --set checkpoint.every=10 "
      "--set train.log_every=50 > kill.log 2>&1 & w=$!; "
      "for i in $(seq 1 600); do ls kill/ckpt-*.h5 >/dev/null 2>&1 && break; sleep 0.05; done; "
      "m=$(pgrep -P $w -x " +
      std::filesystem::path(RNNSEARCH_MPIEXEC).filename().string() +
      "); r=$(pgrep -P $m -x rnnsearch | tail -n 1); "
      "[ -n \"$r\" ] || { echo no-rank; kill -KILL $w; exit 1; }; "
      "t0=$(date +%s.%N); kill -KILL $r; "
      "for i in $(seq 1 1200); do grep -q 'the job failed with exit status' kill.log && break; "
      "sleep 0.05; done; t1=$(date +%s.%N); "
      "wait $w; echo \"status=$?\"; awk \"BEGIN { print \\\"seconds=\\\" ($t1 - $t0) }\"";
  const ProcessResult r = RunProcess(script);
  const std::string log = ReadWhole(Path("kill.log"));
  EXPECT_NE(r.out.find("status=0"), std::string::npos) << r.out << r.err << log;
  const double seconds = std::strtod(r.out.c_str() + r.out.find("seconds=") + 8, nullptr);
  EXPECT_LE(seconds, 30.0) << "mpirun took " << seconds << " s to end the job";
  std::printf("mpirun ended the job %.2f s after SIGKILL to one rank\n", seconds);
  const long failed = NumberAfter(log, "the job failed with exit status ");
  EXPECT_GT(failed, 0) << log;
  EXPECT_NE(log.find("relaunch 1 of 1"), std::string::npos) << log;
  // The relaunch resumed from the newest file on disk at the failure.
  const long newest = NumberAfter(log, "(newest file now: ckpt-");
  EXPECT_GE(newest, 10) << log;
  EXPECT_EQ(NumberAfter(log, "resume from 'kill/ckpt-"), newest) << log;
  EXPECT_NE(log.find("the job ended normally"), std::string::npos) << log;
  const std::vector<std::int64_t> steps = ValidCheckpoints("kill");
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.front(), 600);
}

TEST_F(DistFailure, SigtermToTheWrapperStopsEveryRankWithOneValidCheckpoint) {
  const ProcessResult r = RunAndSignal(
      "term", Wrapper("-n 2") + " -- " + kEndless + "term --set train.log_every=1 > term.log 2>&1",
      "TERM", "$job");
  const std::string log = ReadWhole(Path("term.log"));
  EXPECT_NE(r.out.find("status=0"), std::string::npos) << r.out << log;
  EXPECT_NE(log.find("asking every rank to stop"), std::string::npos) << log;
  // The wrapper turns its SIGTERM into SIGUSR1 to every rank.
  EXPECT_NE(log.find("stopped by a signal: SIGUSR1"), std::string::npos) << log;
  ExpectOneCheckpointOfTheLastStep("term", 1);
}

// Plain mpirun forwards SIGTERM to every rank (after about 1 s) and kills
// them 1 s later (Open MPI's odls_base_sigkill_timeout), no longer reading
// their output meanwhile; a step and a small checkpoint fit in that second
// unless a rank blocks writing its log to the pipe mpirun no longer empties
// (so a line every 100 steps here: the tiny model makes about 3,000 steps a
// second on 2 ranks with the blocking sync, and a line every 10 steps
// filled the 64 KB pipe within that second in 1 run of 3). mpirun itself
// then exits non-zero. On failure the job's output is printed.
TEST_F(DistFailure, SigtermToMpirunGivesOneValidCheckpoint) {
  const ProcessResult r = RunAndSignal(
      "mterm",
      Mpiexec(2) + RNNSEARCH_BINARY + " train " + kEndless + "mterm --set train.log_every=100",
      "TERM", "$job");
  ExpectOneCheckpointOfTheLastStep("mterm", 100);
  if (HasFailure()) std::printf("OUT:\n%s\nERR:\n%s\n", r.out.c_str(), r.err.c_str());
}

// Damages the second chunk of /src/ids in the (only) shard of `corpus`,
// and re-seals the shard (its CRC-32 in the manifest, which opening the
// corpus checks), so that the damage is found when the chunk is read.
void DamageSecondChunk(const fs::path& corpus) {
  fs::path shard;
  for (const auto& e : fs::directory_iterator(corpus)) {
    if (e.path().extension() == ".h5") shard = e.path();
  }
  ASSERT_FALSE(shard.empty());
  haddr_t addr = 0;
  hsize_t size = 0;
  {
    const hid_t file = H5Fopen(shard.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    const hid_t dset = H5Dopen2(file, "/src/ids", H5P_DEFAULT);
    ASSERT_GE(dset, 0);
    const hid_t space = H5Dget_space(dset);
    hsize_t chunks = 0;
    ASSERT_GE(H5Dget_num_chunks(dset, space, &chunks), 0);
    ASSERT_GE(chunks, 2u) << "the test corpus needs two chunks of source ids";
    hsize_t offset[1];
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info(dset, space, 1, offset, &mask, &addr, &size), 0);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(file);
  }
  std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes(size, '\0');
  f.seekg(static_cast<std::streamoff>(addr));
  f.read(bytes.data(), static_cast<std::streamsize>(size));
  // Not every byte flipped: Fletcher's checksum is blind to that.
  for (std::size_t i = 0; i < bytes.size(); i += 2) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(addr));
  f.write(bytes.data(), static_cast<std::streamsize>(size));
  ASSERT_TRUE(f.good());
  f.close();
  Manifest m = ReadManifest(corpus.string());
  ASSERT_EQ(m.shards.size(), 1u);
  m.shards[0].crc32 = FileCrc32(shard.string());
  WriteManifest(corpus.string(), m);
}

// Global batches of one sentence: rank 0's part is always empty, rank 1
// reads every sentence; rank 0 waits in the step's collectives when rank 1
// fails, on its communication thread (dist.overlap: true; the other tests
// here run the default, on one node the blocking sync).
TEST_F(DistFailure, IoErrorOnOneRankEndsTheJobNamingTheRankAndTheFile) {
  // 6000 pairs of 2-6 words: more than one chunk (16384 ids) per side.
  WriteTask(root_, "big", 6000, {"alpha", "beta", "gamma", "delta", "eps", "zeta"}, 3);
  Run("preprocess --tokenizer whitespace --src big.src --tgt big.tgt --out big --vocab-from "
      "corpus");
  DamageSecondChunk(Path("big"));
  if (HasFatalFailure()) return;
  const std::string start = "start=$(date +%s); ";
  const ProcessResult r = RunProcess(
      "cd " + root_.string() + " && " + start + "timeout -k 5 120 " + Mpiexec(2) +
      RNNSEARCH_BINARY +
      " train --config tiny.yaml --run-dir io --set data.train=big --set data.batch_sentences=1 "
      "--set train.max_steps=100000 --set data.prefetch=1 --set dist.overlap=true; echo "
      "\"status=$?\"; "
      "echo \"seconds=$(( $(date +%s) - start ))\"");
  const long status = NumberAfter(r.out, "status=");
  EXPECT_NE(status, 0) << r.err;
  EXPECT_NE(status, 124) << "the job hung until timeout killed it\n" << r.err;
  const std::regex named("ERROR \\[rank 1/2\\] cannot read /src/ids of 'big/shard-[^\\n]*checksum");
  EXPECT_TRUE(std::regex_search(r.err, named)) << r.err;
  EXPECT_EQ(r.err.find("ERROR [rank 0/2]"), std::string::npos) << r.err;
  std::printf("the job ended %ld s after its start\n", NumberAfter(r.out, "seconds="));
}

TEST_F(DistFailure, WrapperCommandLine) {
  const std::string dry = kWrapper + " --rnnsearch " + RNNSEARCH_BINARY + " --dry-run ";
  ProcessResult r = RunProcess(dry +
                               "-n 4 --threads-per-rank 2 --ranks-per-node 2 --iface lo "
                               "--tcp -- --run-dir x --config c.yaml");
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* part :
       {"-np 4 ", "--map-by ppr:2:node:PE=2 --bind-to core",
        "--mca btl_tcp_if_include lo --mca oob_tcp_if_include lo", "--mca btl tcp,self",
        "train --run-dir x --config c.yaml --set dist.threads_per_rank=2"}) {
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  }
  r = RunProcess(dry + "-n 2 --bind none --hostfile /dev/null -- --run-dir=x");
  EXPECT_NE(r.out.find("--hostfile /dev/null --bind-to none"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--set dist.threads_per_rank=1"), std::string::npos) << r.out;
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"-- --config c.yaml", "need --run-dir DIR"},
           {"--threads-per-rank 0 -- --run-dir x", "--threads-per-rank: expected a positive"},
           {"--bind socket -- --run-dir x", "--bind: expected core or none, found 'socket'"},
           {"--max-restarts -1 -- --run-dir x", "--max-restarts: expected an integer >= 0"},
           {"--run-dir x", "unknown option '--run-dir'"},
           {"--hostfile /nonexistent -- --run-dir x", "cannot read '/nonexistent'"}}) {
    r = RunProcess(dry + args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
  }
}

// An mpirun that stays alive after every rank it started has ended (Open MPI
// 4.1's shutdown deadlock after an MPI_Abort, reproduced here by a stand-in
// that never reaps its exited child): the wrapper ends it and fails.
TEST_F(DistFailure, WrapperEndsAnMpirunStuckAfterItsRanksEnded) {
  const std::string fake = Path("stuck-mpirun").string();
  {
    std::ofstream f(fake);
    f << "#!/usr/bin/env python3\n"
         "import os, sys, time\n"
         "if os.fork() == 0:\n"
         "    time.sleep(1)\n"
         "    os._exit(3)\n"
         "time.sleep(600)\n";
  }
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  const ProcessResult r = RunProcess(
      "cd " + root_.string() + " && start=$(date +%s); RNNSEARCH_MPIRUN_HANG_GRACE=3 " + kWrapper +
      " --rnnsearch " + RNNSEARCH_BINARY + " --mpirun " + fake +
      " -n 2 -- --run-dir stuck; echo \"status=$?\"; echo \"seconds=$(( $(date +%s) - start ))\"");
  EXPECT_NE(NumberAfter(r.out, "status="), 0) << r.err;
  EXPECT_LT(NumberAfter(r.out, "seconds="), 30) << r.err;
  EXPECT_NE(r.err.find("still running 3s after every rank it started had ended"), std::string::npos)
      << r.err;
}

// Each rank bound to its own core; dist.threads_per_rank from the wrapper.
TEST_F(DistFailure, WrapperBindsEachRankToItsCores) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs 2 cores";
  const ProcessResult r = RunProcess("cd " + root_.string() + " && " + kWrapper + " --rnnsearch " +
                                     RNNSEARCH_BINARY + " --mpirun " + RNNSEARCH_MPIEXEC +
                                     " -n 2 --threads-per-rank 1 --report-bindings -- " +
                                     "--config tiny.yaml --run-dir bound --set train.max_steps=2");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("MCW rank 0 bound to socket 0[core 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("MCW rank 1 bound to socket 0[core 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 rank(s) x 1 thread(s)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rnnsearch::testing
