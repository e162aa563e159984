// `rnnsearch bench TARGET`: benchmarks that print one JSON line per figure,
//   {"name": "base.model_vs_matmul", "threads": 2, "value": 0.74, "unit": "ratio"}
// so scripts can collect them. Each target is a function in its own
// bench_TARGET.cc, listed in cmd_bench.cc.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "launch/cli.h"
#include "trainer/model/params.h"

namespace rnnsearch {

// Extra fields of a JSON line, in order.
using JsonFields = std::vector<std::pair<std::string, nlohmann::ordered_json>>;

// Prints {"name": NAME, <extra...>, "value": VALUE, "unit": UNIT} on rank 0
// (trainer/decode/json_text.h's layout), VALUE rounded to 6 significant
// digits, null when not finite.
void PrintFigure(const CommandEnv& env, const std::string& name, double value,
                 const std::string& unit, const JsonFields& extra = {});

// The model and batch shapes the ops, train and dist benchmarks measure:
// the PyTorch peer's `small` and `base` presets (B sentences of T tokens a
// batch, a vocabulary of V ids on each side; one GRU layer, additive
// attention, untied output weights: the peer's model).
struct BenchShape {
  const char* name;
  int B, T;
  std::int64_t V, E, He, Hd, A, O;
  ModelDims dims() const;
};

// The shape called `name`; a UsageError naming `what` (e.g. "rnnsearch
// bench ops: --configs") and the choices otherwise.
const BenchShape& FindBenchShape(const std::string& what, const std::string& name);

// Each bench target: parses its own options from `args`.
int BenchMatmul(const std::vector<std::string>& args, CommandEnv& env);
int BenchIo(const std::vector<std::string>& args, CommandEnv& env);
int BenchOps(const std::vector<std::string>& args, CommandEnv& env);
int BenchTrain(const std::vector<std::string>& args, CommandEnv& env);
int BenchTranslate(const std::vector<std::string>& args, CommandEnv& env);
int BenchDist(const std::vector<std::string>& args, CommandEnv& env);

}  // namespace rnnsearch
