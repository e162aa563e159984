// rnnsearch inspect DIR: the manifest summary of a corpus and the padding
// efficiency that the configured batching achieves on it.
#include "common/error.h"
#include "io/batch_plan.h"
#include "io/collective.h"
#include "io/corpus.h"
#include "io/corpus_summary.h"
#include "launch/cli.h"

namespace rnnsearch {

int RunInspect(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  options.add_options()(
      "dir", po::value<std::string>(),
      "DIR, the corpus directory (made by preprocess); given as the first argument or as --dir")(
      "epoch", po::value<std::int64_t>()->default_value(0), "epoch whose batches are measured");
  AddConfigOptions(options);
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  const std::string synopsis = "DIR [--config FILE] [--set data.batch_tokens=N ...]";
  if (!ParseCommandArgs("inspect", synopsis, options, args, vm, env, &positional,
                        ConfigKeysHelp())) {
    return 0;
  }
  if (vm.count("dir") == 0) {
    throw UsageError("rnnsearch inspect: no corpus directory given\n\nUsage: rnnsearch inspect " +
                     synopsis);
  }
  const Config config = ConfigFromOptions(vm, env.comm);
  const std::string dir = vm["dir"].as<std::string>();
  BatchingOptions batching;
  batching.batch_tokens = config.data.batch_tokens;
  batching.batch_sentences = config.data.batch_sentences;
  batching.seed = static_cast<std::uint64_t>(config.train.seed);
  const std::int64_t epoch = vm["epoch"].as<std::int64_t>();
  std::string text;
  RunCollectively(env.comm, [&] {
    if (env.comm.rank() != 0) return;
    const auto corpus = Corpus::OpenNamed("rnnsearch inspect DIR", dir);
    const auto lengths = corpus->lengths();
    const auto plan = PlanEpoch(lengths, batching, epoch);
    text = FormatCorpusSummary(corpus->manifest(), dir) +
           FormatPadding(MeasurePadding(lengths, plan), batching, epoch);
    text += "checksums: all " + std::to_string(corpus->num_shards()) + " shards match\n";
  });
  PrintOnRoot(env, text);
  return 0;
}

}  // namespace rnnsearch
