// rnnsearch bench TARGET [OPTIONS]: the benchmarks (JSON lines on stdout).
#include <sstream>

#include "common/error.h"
#include "launch/bench.h"
#include "trainer/decode/json_text.h"

namespace rnnsearch {
namespace {

struct BenchTarget {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args, CommandEnv& env);
};

// One line per target.
const std::vector<BenchTarget>& Targets() {
  static const std::vector<BenchTarget> targets = {
      {"matmul", "f32 GFLOP/s of a large square oneDNN matmul (the baseline of the ratios)",
       &BenchMatmul},
      {"io", "preprocess time vs spm_encode, reader token rate, padding efficiency (Multi30k)",
       &BenchIo},
      {"ops", "model forward+backward per op and whole vs the matmul rate (base, small shapes)",
       &BenchOps},
      {"train", "whole training steps (data, model, clipping, Adam): tokens/s, peak memory",
       &BenchTrain},
      {"translate", "beam search vs greedy decoding on a random base-size model: sentences/s",
       &BenchTranslate},
      {"dist",
       "under mpirun: weak scaling of training steps, 1 rank vs N, overlapped vs blocking "
       "gradient sync, communication wait, allreduce bandwidth",
       &BenchDist},
  };
  return targets;
}

std::string Usage() {
  std::ostringstream out;
  out << "Usage: rnnsearch bench TARGET [OPTIONS]   (rnnsearch bench TARGET --help)\n\n"
      << "Prints one JSON line per figure: {\"name\": ..., \"value\": ..., \"unit\": ...}.\n\n"
      << "Targets:\n";
  for (const BenchTarget& t : Targets()) {
    std::string name = t.name;
    name.resize(10, ' ');
    out << "  " << name << t.summary << "\n";
  }
  return out.str();
}

}  // namespace

namespace {

const BenchShape kBenchShapes[] = {
    {"small", 32, 20, 4000, 128, 128, 256, 256, 256},
    {"base", 64, 20, 10000, 256, 256, 512, 512, 512},
};

}  // namespace

ModelDims BenchShape::dims() const {
  ModelDims d;
  d.Vs = d.Vt = V;
  d.E = E;
  d.He = He;
  d.Hd = Hd;
  d.A = A;
  d.O = O;
  return d;
}

const BenchShape& FindBenchShape(const std::string& what, const std::string& name) {
  for (const BenchShape& s : kBenchShapes) {
    if (name == s.name) return s;
  }
  throw UsageError(what + ": unknown shape '" + name + "' (expected base or small)");
}

void PrintFigure(const CommandEnv& env, const std::string& name, double value,
                 const std::string& unit, const JsonFields& extra) {
  nlohmann::ordered_json line;
  line["name"] = name;
  for (const auto& [k, v] : extra) line[k] = v;
  line["value"] = PrintfRounded("%.6g", value);
  line["unit"] = unit;
  PrintOnRoot(env, OneLineJson(line) + "\n");
}

int RunBench(const std::vector<std::string>& args, CommandEnv& env) {
  if (args.empty()) throw UsageError("rnnsearch bench: no target given\n\n" + Usage());
  if (args[0] == "--help" || args[0] == "-h") {
    PrintOnRoot(env, Usage());
    return 0;
  }
  for (const BenchTarget& t : Targets()) {
    if (args[0] == t.name) return t.run({args.begin() + 1, args.end()}, env);
  }
  std::vector<std::string> names;
  for (const BenchTarget& t : Targets()) names.push_back(t.name);
  std::string msg = "rnnsearch bench: unknown target '" + args[0] + "'";
  const std::string guess = ClosestMatch(args[0], names);
  if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
  throw UsageError(msg + "\n\n" + Usage());
}

}  // namespace rnnsearch
