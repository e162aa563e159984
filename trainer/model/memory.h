// The memory a training run needs, estimated before anything big is
// allocated, the memory the machine has for it, and clear errors when an
// allocation fails anyway (README, "Training and resuming").
//
// The estimate, per rank, in 4-byte floats, follows the model's structure
// (trainer/model/params.h, trainer/model/model.h, trainer/model/model_parts.h, ops/*.h):
//   state        P floats per copy (P = ParamSpecs' sizes, each rounded up
//                to 16 floats, as ParamSet lays them out): the parameters,
//                their gradients, Adam's m and v (train.optimizer adam),
//                the moving average (train.ema_decay > 0);
//   activations  of a batch of B sentences of T = data.max_len + 1 steps
//                (or the corpus's longest sentence, </s> included, when
//                shorter) on both sides, B = data.batch_tokens / T (or
//                data.batch_sentences when that is set and smaller) over
//                the ranks, rounded up: the model's buffers (embeddings,
//                masks, encoder outputs, states, contexts, attention
//                weights and their gradients), each encoder layer's oneDNN
//                buffers (24 floats per B T G He, scaled from the 88 MB
//                model.h measured at the base shapes, 2 B T per input
//                feature, and its own copies of the weights and their
//                gradients, 4 G He (in + He)), the decoder cell's
//                (4 B T G Hd) and the attention's buffers, the per-shape
//                parts times the shape cache (2 entries);
//   readout      1024 rows of t, its dropout and gradient (3 O) and logits
//                (Vt).
// It leaves out what does not grow with the config (the program, oneDNN,
// MPI, the corpus index, the batch reader's prefetched ids) and the
// validation decoder. It is an estimate: it ignores that most batches are
// shorter than data.max_len, and oneDNN's buffers are scaled from a
// measurement, not computed. Against the heap that a model, its run state
// and two full-length batches take (mallinfo2), it was 1.07 (GRU) and
// 1.24 (LSTM) times as much at the default config (728 and 877 MB;
// Vt = 8000), 1.05 and 1.26 at the small shapes of tests/trainer/run/memory_test.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/config.h"
#include "trainer/model/params.h"

namespace rnnsearch {

struct MemoryEstimate {
  double state_bytes = 0;       // parameters, gradients, optimizer state, moving average
  double activation_bytes = 0;  // one batch's activations and the ops' buffers
  std::int64_t parameters = 0;  // P, padding included
  int state_copies = 0;         // copies of P in state_bytes
  std::int64_t batch_sentences = 0, steps = 0;  // the batch of the estimate: B, T
  double total() const { return state_bytes + activation_bytes; }
};

// The estimate above for a run of `config` with vocabularies of these
// sizes on `ranks` ranks (the global batch is split between them);
// `longest`: the training corpus's longest sentence in steps, </s>
// included (0: unknown).
MemoryEstimate EstimateTrainingMemory(const Config& config, std::int64_t src_vocab,
                                      std::int64_t tgt_vocab, int ranks, std::int64_t longest = 0);

// Memory this process can still use: MemAvailable of /proc/meminfo, or the
// room left under the memory cgroup's limit (limit - usage, v1 or v2,
// this process's cgroup and its parents) when that is lower. bytes < 0:
// unknown (no /proc/meminfo); `source` says where the figure comes from.
struct AvailableMemory {
  std::int64_t bytes = -1;
  std::string source;
};
AvailableMemory MachineAvailableMemory();

// The floats of a ParamSet of `dims`, padding included (without one).
std::int64_t ParameterFloats(const ModelDims& dims);

// MemAvailable of /proc/meminfo text in bytes (-1 if absent).
std::int64_t ParseMemAvailable(const std::string& meminfo);

// The smallest room (limit - usage) of the memory cgroups that the text of
// /proc/self/cgroup names, and their parents, under `cgroup_root`
// (/sys/fs/cgroup: v1 in memory/, v2 in it or in unified/); -1 if none has
// a limit. `source` says which limit it is.
std::int64_t CgroupMemoryRoom(const std::string& proc_self_cgroup, const std::string& cgroup_root,
                              std::string* source);

// Throws UserError when `ranks_here` ranks of this estimate do not fit in
// `available` (unknown: never), naming the estimate's parts, the config
// keys that drive them and the memory available.
void CheckMemoryFits(const MemoryEstimate& estimate, int ranks_here,
                     const AvailableMemory& available);

// For loading a model to decode (translate, rescore): throws UserError
// when `ranks_here` copies of the parameters of `dims` do not fit in
// `available`, naming `what` (the checkpoint) and the model.* keys.
void CheckParametersFit(const ModelDims& dims, int ranks_here, const AvailableMemory& available,
                        const std::string& what);

// "12.3 GB" (2^30 bytes), "45.6 MB" (2^20 bytes).
std::string FormatBytes(double bytes);

// Runs `allocate`; an allocation failure (std::bad_alloc, oneDNN's
// out-of-memory) becomes a UserError naming `what` and the keys that size
// it, instead of "internal error: std::bad_alloc".
void Allocating(const std::string& what, const std::function<void()>& allocate);

}  // namespace rnnsearch
