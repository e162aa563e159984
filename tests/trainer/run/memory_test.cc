// The memory estimate of a training run (trainer/model/memory.h), here with
// trainer/run because it is checked against a real run state: the state is
// the parameter count times its copies exactly, the activations are within
// a factor of the heap a real model and batch take, a config far beyond
// any machine is refused with the keys and the memory available (without
// allocating it), the memory available comes from /proc/meminfo or the
// cgroup hierarchy, and allocation failures name what was being allocated.
#include "trainer/model/memory.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <dnnl.hpp>
#include <new>

#include "common/error.h"
#include "ops/context.h"
#include "tests/io/checkpoint_fixture.h"
#include "tests/trainer/model_fixture.h"
#include "trainer/model/model.h"
#include "trainer/run/run_state.h"

namespace rnnsearch {
namespace {

using testing::ErrorOf;

Config Base() {
  Config c;
  c.model.emb_dim = 64;
  c.model.enc_dim = 64;
  c.model.dec_dim = 128;
  c.model.att_dim = 64;
  c.model.readout_dim = 64;
  c.data.max_len = 20;
  c.data.batch_tokens = 32 * 21;
  return c;
}

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer's allocator replaces malloc's, which mallinfo2 reads.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
double HeapBytes() { return static_cast<double>(__sanitizer_get_current_allocated_bytes()); }
#else
double HeapBytes() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}
#endif

TEST(Memory, StateIsTheParameterSetTimesItsCopies) {
  Config c = Base();
  const ParamSet p(ModelDims::From(c.model, 500, 600));
  MemoryEstimate e = EstimateTrainingMemory(c, 500, 600, 1);
  EXPECT_EQ(e.parameters, static_cast<std::int64_t>(p.size()));
  EXPECT_EQ(e.state_copies, 4);  // parameters, gradients, Adam m and v
  EXPECT_DOUBLE_EQ(e.state_bytes, 4.0 * 4 * static_cast<double>(p.size()));
  EXPECT_EQ(e.batch_sentences, 32);
  EXPECT_EQ(e.steps, 21);
  c.train.optimizer = "sgd";
  c.train.ema_decay = 0.999;
  EXPECT_EQ(EstimateTrainingMemory(c, 500, 600, 1).state_copies, 3);
  // Two ranks split the batch; batch_sentences caps it.
  EXPECT_EQ(EstimateTrainingMemory(c, 500, 600, 2).batch_sentences, 16);
  c.data.batch_sentences = 8;
  EXPECT_EQ(EstimateTrainingMemory(c, 500, 600, 1).batch_sentences, 8);
  EXPECT_LT(EstimateTrainingMemory(c, 500, 600, 1).activation_bytes, e.activation_bytes);
  // A corpus whose longest sentence is shorter than data.max_len + 1.
  c.data.batch_sentences = 0;
  const MemoryEstimate shorter = EstimateTrainingMemory(c, 500, 600, 1, 12);
  EXPECT_EQ(shorter.steps, 12);
  EXPECT_EQ(shorter.batch_sentences, 672 / 12);
  EXPECT_EQ(EstimateTrainingMemory(c, 500, 600, 1, 40).steps, 21);
}

// The heap a model, its run state and two full-length batch shapes (the
// shape cache's two entries) take, against the estimate.
TEST(Memory, EstimateIsCloseToTheHeapARealStepTakes) {
  for (const char* cell : {"gru", "lstm"}) {
    SCOPED_TRACE(cell);
    Config c = Base();
    c.model.cell = cell;
    const MemoryEstimate e = EstimateTrainingMemory(c, 500, 600, 1);
    ops::Context ctx(1);
    const double before = HeapBytes();
    {
      const ModelDims dims = ModelDims::From(c.model, 500, 600);
      Model model(ctx, dims, ModelOptions::FromConfig(c.train));
      RunState state(dims, c.train);
      for (int T : {21, 20}) {
        const std::vector<int> len(32, T);
        model.ForwardBackward(state.params, state.grads, testing::MakeBatch(len, len, dims, 7),
                              1.0f, 0);
      }
      const double used = HeapBytes() - before;
      // Measured: 1.05 (GRU) and 1.26 (LSTM) times the heap.
      EXPECT_GT(e.total(), 0.8 * used) << "estimate " << e.total() << ", heap " << used;
      EXPECT_LT(e.total(), 1.5 * used) << "estimate " << e.total() << ", heap " << used;
    }
  }
}

TEST(Memory, HugeConfigIsRefusedWithTheKeysAndTheMemoryAvailable) {
  Config c = Base();
  c.model.emb_dim = c.model.enc_dim = c.model.dec_dim = c.model.att_dim = 65536;
  c.model.readout_dim = 65536;
  const MemoryEstimate e = EstimateTrainingMemory(c, 8000, 8000, 1);
  EXPECT_GT(e.total(), 1e12);
  const AvailableMemory sixteen{16LL << 30, "MemAvailable in /proc/meminfo"};
  const std::string error = ErrorOf([&] { CheckMemoryFits(e, 1, sixteen); });
  for (const char* want :
       {"the run needs about ",
        " TB of memory, but 16.0 GB is available "
        "(MemAvailable in /proc/meminfo)",
        "model.emb_dim", "model.enc_layers", "train.optimizer", "data.batch_tokens", "data.max_len",
        "for the activations of a batch of 32 sentences x 21 steps"}) {
    EXPECT_NE(error.find(want), std::string::npos) << want << "\n" << error;
  }
  // The same config on 2 ranks of one node needs twice as much.
  const MemoryEstimate small = EstimateTrainingMemory(Base(), 500, 600, 1);
  const AvailableMemory room{static_cast<std::int64_t>(small.total() * 1.5), "test"};
  EXPECT_EQ(ErrorOf([&] { CheckMemoryFits(small, 1, room); }), "(no error)");
  EXPECT_NE(ErrorOf([&] { CheckMemoryFits(small, 2, room); }).find("2 ranks on this node"),
            std::string::npos);
  // Unknown memory: no check. The machine's memory holds the base config.
  EXPECT_EQ(ErrorOf([&] { CheckMemoryFits(e, 1, AvailableMemory{}); }), "(no error)");
  const AvailableMemory machine = MachineAvailableMemory();
  EXPECT_GT(machine.bytes, 0) << machine.source;
  EXPECT_EQ(ErrorOf([&] { CheckMemoryFits(small, 1, machine); }), "(no error)");
  EXPECT_NE(ErrorOf([&] { CheckMemoryFits(e, 1, machine); }), "(no error)");
}

// translate and rescore: the parameters of a checkpoint's model, per rank.
TEST(Memory, ParametersOfADecodingModelMustFit) {
  Config c = Base();
  const ModelDims dims = ModelDims::From(c.model, 500, 600);
  EXPECT_EQ(ParameterFloats(dims), static_cast<std::int64_t>(ParamSet(dims).size()));
  const double bytes = 4.0 * static_cast<double>(ParameterFloats(dims));
  const AvailableMemory room{static_cast<std::int64_t>(1.5 * bytes), "test room"};
  EXPECT_EQ(ErrorOf([&] { CheckParametersFit(dims, 1, room, "the checkpoint 'm.h5'"); }),
            "(no error)");
  const std::string e =
      ErrorOf([&] { CheckParametersFit(dims, 2, room, "the checkpoint 'm.h5'"); });
  EXPECT_EQ(e.rfind("the checkpoint 'm.h5' has ", 0), 0u) << e;
  for (const char* want : {"(model.emb_dim 64, model.enc_dim 64, model.dec_dim 128, "
                           "model.enc_layers 1, vocabularies 500 and 600)",
                           "for 2 rank(s) on this node, but ", " is available (test room)"}) {
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n" << e;
  }
}

TEST(Memory, ParsesMemAvailable) {
  EXPECT_EQ(ParseMemAvailable("MemTotal:       24683772 kB\nMemFree:         1000 kB\n"
                              "MemAvailable:   22352308 kB\nBuffers: 1 kB\n"),
            22352308LL * 1024);
  EXPECT_EQ(ParseMemAvailable("MemTotal: 5 kB\n"), -1);
}

// The room under cgroup limits: the smallest over the cgroup and its
// parents, v1 (memory/) and v2; "max" and unlimited v1 values do not limit.
TEST(Memory, CgroupRoomIsTheSmallestOverTheHierarchy) {
  testing::TempDir root("cgroup");
  std::filesystem::create_directories(root / "memory/job/a");
  std::filesystem::create_directories(root / "job");
  testing::WriteText(root / "memory/memory.limit_in_bytes", "9223372036854771712\n");
  testing::WriteText(root / "memory/memory.usage_in_bytes", "1000\n");
  testing::WriteText(root / "memory/job/memory.limit_in_bytes", std::to_string(4LL << 30) + "\n");
  testing::WriteText(root / "memory/job/memory.usage_in_bytes", std::to_string(3LL << 30) + "\n");
  testing::WriteText(root / "memory/job/a/memory.limit_in_bytes", std::to_string(8LL << 30));
  testing::WriteText(root / "memory/job/a/memory.usage_in_bytes", std::to_string(1LL << 29));
  std::string source;
  EXPECT_EQ(CgroupMemoryRoom("4:memory:/job/a\n0::/\n", root.path(), &source), 1LL << 30);
  EXPECT_EQ(source, "the memory cgroup's limit 4.0 GB less its usage 3.0 GB, " +
                        (root / "memory/job/memory.limit_in_bytes"));
  testing::WriteText(root / "memory.max", "max\n");
  testing::WriteText(root / "memory.current", "5000\n");
  testing::WriteText(root / "job/memory.max", std::to_string(2LL << 30) + "\n");
  testing::WriteText(root / "job/memory.current", std::to_string(1LL << 29) + "\n");
  EXPECT_EQ(CgroupMemoryRoom("0::/job\n", root.path(), &source), 3LL << 29);
  EXPECT_EQ(CgroupMemoryRoom("0::/\n", root.path(), &source), -1);
  EXPECT_EQ(CgroupMemoryRoom("", root.path(), &source), -1);
}

TEST(Memory, AllocationFailuresNameWhatWasAllocated) {
  std::string e =
      ErrorOf([] { Allocating("the widgets (model.emb_dim)", [] { throw std::bad_alloc(); }); });
  EXPECT_EQ(e.rfind("out of memory while allocating the widgets (model.emb_dim) (", 0), 0u) << e;
  e = ErrorOf([] {
    Allocating("the gadgets",
               [] { throw dnnl::error(dnnl_out_of_memory, "could not create a memory object"); });
  });
  EXPECT_NE(e.find("out of memory while allocating the gadgets (could not create a memory object"),
            std::string::npos)
      << e;
  // Other errors pass unchanged.
  EXPECT_THROW(Allocating("x", [] { throw dnnl::error(dnnl_invalid_arguments, "bad"); }),
               dnnl::error);
  EXPECT_THROW(Allocating("x", [] { throw std::runtime_error("other"); }), std::runtime_error);
}

}  // namespace
}  // namespace rnnsearch
