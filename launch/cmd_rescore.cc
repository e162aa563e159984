// rnnsearch rescore: log p(hypothesis | source) of given translations under
// a checkpoint's model or an ensemble (trainer/decode/rescorer.h), e.g. to rerank
// an n-best list with models that read the target right to left
// (recipes/multi30k/ensemble.sh --r2l, scripts/rerank.py).
//
// Input: --source, one sentence per line, and --hyp, either one hypothesis
// per source line (the same number of lines) or, with --nbest, the n-best
// lines of rnnsearch translate --nbest N ("LINE ||| TEXT ||| SCORE", LINE
// a 0-based source line; anything after the last " ||| " is ignored).
// Output: one line per hypothesis line, in its order,
//     LOGPROB TOKENS
// LOGPROB = log p(Encode(TEXT) + </s> | source) (the members' mean for an
// ensemble), TOKENS = the target subwords + 1 for </s>.
//
// The pairs are scored in batches of similar lengths
// (Rescorer::PlanBatches). Under mpirun, rank 0 reads the files and plans
// the batches, io/scatter.h gives batch b to rank b mod N and brings the
// scores back to rank 0, which writes them in input order: the output does
// not depend on the number of ranks (the batches are the same, so the same
// ops run for any split). Output files are written whole through a
// temporary name and a rename.
#include <cstdio>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "io/collective.h"
#include "io/scatter.h"
#include "launch/checkpoint_options.h"
#include "launch/cli.h"
#include "launch/cli_files.h"
#include "launch/mpi_session.h"
#include "ops/context.h"
#include "trainer/decode/rescorer.h"
#include "trainer/decode/translation_model.h"

namespace rnnsearch {
namespace {

constexpr const char* kWho = "rnnsearch rescore";

struct Pair {
  std::int64_t source = 0;  // index into the source lines
  std::string text;
};

// --nbest lines "LINE ||| TEXT ||| SCORE" of `path`.
std::vector<Pair> ParseNbest(const std::vector<std::string>& lines, const std::string& path,
                             std::int64_t sources) {
  static const std::string kSep = " ||| ";
  std::vector<Pair> pairs;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::string where = std::string(kWho) + ": --hyp " + path + ":" + std::to_string(i + 1);
    const std::size_t first = line.find(kSep);
    const std::size_t last = line.rfind(kSep);
    if (first == std::string::npos || last < first + kSep.size()) {
      throw UserError(where +
                      ": expected an n-best line 'LINE ||| TEXT ||| SCORE' (as written by "
                      "rnnsearch translate --nbest), found '" +
                      line.substr(0, 80) + "'");
    }
    const std::string number = line.substr(0, first);
    std::int64_t source = -1;
    std::size_t used = 0;
    try {
      source = std::stoll(number, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (number.empty() || used != number.size() || source < 0 || source >= sources) {
      throw UserError(where + ": expected a source line number in [0, " + std::to_string(sources) +
                      ") before ' ||| ', found '" + number + "'");
    }
    pairs.push_back({source, line.substr(first + kSep.size(), last - first - kSep.size())});
  }
  return pairs;
}

}  // namespace

int RunRescore(const std::vector<std::string>& args, CommandEnv& env) {
  Comm& comm = env.comm;
  po::options_description options("Options");
  options.add_options()("source", po::value<std::string>()->default_value(""),
                        "source sentences, one per line, plain or .gz")(
      "hyp", po::value<std::string>()->default_value(""),
      "hypotheses: one per source line, or n-best lines with --nbest ('-': stdin)")(
      "nbest", po::bool_switch(), "--hyp holds 'LINE ||| TEXT ||| SCORE' lines")(
      "output", po::value<std::string>()->default_value("-"),
      "'LOGPROB TOKENS' per hypothesis line ('-': stdout)");
  AddCheckpointOptions(options,
                       "another checkpoint (repeatable) with the same vocabularies: the "
                       "members' log-probabilities are averaged");
  po::variables_map vm;
  if (!ParseCommandArgs("rescore",
                        "(--model CKPT | --run-dir DIR) [--ensemble CKPT]... "
                        "--source F --hyp F [--nbest] [--output F]",
                        options, args, vm, env)) {
    return 0;
  }
  const CheckpointChoice choice = CheckpointChoiceFrom(vm, "rescore");
  const std::string source_path = vm["source"].as<std::string>();
  const std::string hyp_path = vm["hyp"].as<std::string>();
  if (source_path.empty() || hyp_path.empty()) {
    throw UsageError(std::string(kWho) + ": give both --source F and --hyp F");
  }
  if (source_path == "-") {
    throw UsageError(std::string(kWho) + ": --source must be a file (only --hyp can be stdin)");
  }
  const bool nbest = vm["nbest"].as<bool>();

  const std::string output = vm["output"].as<std::string>();
  RunCollectively(comm, [&] {  // before any work: a bad output path is found now
    if (comm.rank() == 0) CheckOutputPath(output, kWho, "--output");
  });
  const TranslationModel model =
      LoadTranslationModel(choice.model_path, choice.run_dir, choice.weights, comm, "rescore");
  const std::vector<TranslationModel> others =
      LoadEnsembleMembers(model, choice.ensemble, choice.weights, comm, "rescore");
  std::vector<const ParamSet*> members = {&model.params};
  for (const TranslationModel& other : others) members.push_back(&other.params);

  // Rank 0 reads and pairs the files and plans the batches.
  std::vector<Record> records;  // rank 0: {source, hypothesis}
  std::vector<std::vector<std::size_t>> batches;
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    const std::vector<std::string> sources = ReadTextLines(source_path, kWho, "--source");
    const std::vector<std::string> hyps = ReadTextLines(hyp_path, kWho, "--hyp");
    std::vector<Pair> pairs;
    if (nbest) {
      pairs = ParseNbest(hyps, hyp_path, static_cast<std::int64_t>(sources.size()));
    } else {
      if (hyps.size() != sources.size()) {
        throw UserError(std::string(kWho) + ": --hyp " + hyp_path + " has " +
                        std::to_string(hyps.size()) + " lines but --source " + source_path +
                        " has " + std::to_string(sources.size()) +
                        ": expected one hypothesis per source line (n-best lines need --nbest)");
      }
      for (std::size_t i = 0; i < hyps.size(); ++i) {
        pairs.push_back({static_cast<std::int64_t>(i), hyps[i]});
      }
    }
    std::vector<IdPair> ids;
    for (const Pair& p : pairs) {
      const std::string& src = sources[static_cast<std::size_t>(p.source)];
      ids.push_back({model.src_vocab.Encode(src), model.tgt_vocab.Encode(p.text)});
      records.push_back({src, p.text});
    }
    batches = Rescorer::PlanBatches(ids);
  });
  const Share share = ScatterGroups(comm, 2, records, batches);
  records.clear();

  const int threads = ResolveThreadsPerRank(choice.threads, comm);
  if (comm.rank() == 0) {
    LogLoadedModels("rescore", model, others);
    RNN_LOG(kInfo) << "rescore: " << share.total << " pairs, " << comm.size() << " rank(s) x "
                   << threads << " thread(s)";
  }
  const double t0 = Now();
  std::vector<IndexedRecord> mine;  // this rank's pairs: {"LOGPROB TOKENS\n"}
  RunCollectively(comm, [&] {
    ops::Context ctx(threads);
    Rescorer rescorer(ctx, members, model.src_vocab, model.tgt_vocab);
    for (const std::vector<IndexedRecord>& batch : share.groups) {
      std::vector<IdPair> ids;
      std::vector<std::size_t> rows;
      for (const IndexedRecord& r : batch) {
        rows.push_back(ids.size());
        ids.push_back(rescorer.Encode(r.record[0], r.record[1]));
      }
      const std::vector<PairScore> scores = rescorer.ScoreBatch(ids, rows);
      for (std::size_t j = 0; j < scores.size(); ++j) {
        char line[96];
        std::snprintf(line, sizeof line, "%.6f %lld\n", scores[j].logprob,
                      static_cast<long long>(scores[j].tokens));
        mine.push_back({batch[j].index, {line}});
      }
    }
  });
  const std::vector<Record> results = GatherInOrder(comm, 1, share.total, mine);
  const double seconds = Now() - t0;
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    std::string all;
    for (const Record& r : results) all += r[0];
    WriteWholeOutput(output, all, kWho, "--output");
  });
  if (comm.rank() == 0) {
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.1f pairs/s",
                  seconds > 0 ? static_cast<double>(share.total) / seconds : 0.0);
    RNN_LOG(kInfo) << "rescored " << share.total << " pair(s) in " << seconds << " s: " << rate;
  }
  return 0;
}

}  // namespace rnnsearch
