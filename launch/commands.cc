// The table of subcommands. A new subcommand is a cmd_NAME.cc file with a
// Run function and one line here.
#include "launch/cli.h"

namespace rnnsearch {

int RunTrain(const std::vector<std::string>& args, CommandEnv& env);
int RunBench(const std::vector<std::string>& args, CommandEnv& env);
int RunPreprocess(const std::vector<std::string>& args, CommandEnv& env);
int RunInspect(const std::vector<std::string>& args, CommandEnv& env);
int RunScore(const std::vector<std::string>& args, CommandEnv& env);
int RunTranslate(const std::vector<std::string>& args, CommandEnv& env);
int RunRescore(const std::vector<std::string>& args, CommandEnv& env);

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> commands = {
      {"preprocess", "text corpora -> length-sorted HDF5 shards and a manifest (docs/io.md)",
       &RunPreprocess},
      {"inspect", "summary of a preprocessed corpus and its padding efficiency", &RunInspect},
      {"train",
       "train a model in a run directory; resumes its newest checkpoint (--print-config: "
       "the effective config)",
       &RunTrain},
      {"bench", "benchmarks printing JSON lines (rnnsearch bench --help lists the targets)",
       &RunBench},
      {"translate", "translate text with a checkpoint (beam search, n-best, attention alignments)",
       &RunTranslate},
      {"rescore", "log-probabilities of given translations (n-best reranking) under a checkpoint",
       &RunRescore},
      {"score", "corpus BLEU and chrF of a hypothesis file, as sacreBLEU computes them", &RunScore},
  };
  return commands;
}

}  // namespace rnnsearch
