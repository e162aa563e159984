// rnnsearch translate: raw text in, raw text out, with a checkpoint's model
// and vocabularies (trainer/decode/translation_model.h), by batched beam search
// (trainer/decode/beam_search.h, trainer/decode/translator.h), in the formats of
// trainer/decode/translate_output.h.
//
// Under mpirun: rank 0 reads the checkpoint and broadcasts it, reads the
// input and sorts the lines by length into batches, the same batches as a
// single process makes (Translator::PlanBatches); io/scatter.h gives batch
// b to rank b mod N and brings the results back to rank 0, which writes
// them in input order. The output is therefore bit-identical for any
// number of ranks (with the same --threads). Output files are written
// whole, through a temporary name and a rename, so an error leaves an
// existing output file as it was.
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
#include "trainer/decode/translate_output.h"
#include "trainer/decode/translation_model.h"
#include "trainer/decode/translator.h"
#include "trainer/model/memory.h"

namespace rnnsearch {
int RunTranslate(const std::vector<std::string>& args, CommandEnv& env) {
  Comm& comm = env.comm;
  po::options_description options("Options");
  options.add_options()("input", po::value<std::string>()->default_value("-"),
                        "source text, one sentence per line, plain or .gz ('-': stdin)")(
      "output", po::value<std::string>()->default_value("-"), "translations ('-': stdout)")(
      "beam-size", po::value<int>()->default_value(5), "hypotheses kept per sentence (1: greedy)")(
      "nbest", po::value<int>()->default_value(1),
      "hypotheses written per sentence (> 1: 'LINE ||| TEXT ||| SCORE' lines)")(
      "length-penalty", po::value<double>()->default_value(1.0),
      "alpha: hypotheses are ranked by log-probability / length^alpha (0: no normalisation)")(
      "max-len-ratio", po::value<double>()->default_value(2.0),
      "an output has at most floor(ratio x source subwords) + offset subwords (</s> counted)")(
      "max-len-offset", po::value<std::int64_t>()->default_value(10), "see --max-len-ratio")(
      "batch-sentences", po::value<int>()->default_value(32),
      "sentences decoded together (sorted by length)")(
      "alignments", po::value<std::string>()->default_value(""),
      "also write a JSON line per sentence: subwords and attention weights of the best hypothesis");
  AddCheckpointOptions(options,
                       "another checkpoint (repeatable) whose log-probabilities are averaged with "
                       "the model's at every step; it must have the same vocabularies");
  po::variables_map vm;
  if (!ParseCommandArgs("translate",
                        "(--model CKPT | --run-dir DIR) [--input F] [--output F] "
                        "[--beam-size K] [--nbest N] [--alignments F.jsonl]",
                        options, args, vm, env)) {
    return 0;
  }
  const CheckpointChoice choice = CheckpointChoiceFrom(vm, "translate");
  BeamOptions beam;
  beam.beam_size = vm["beam-size"].as<int>();
  beam.nbest = vm["nbest"].as<int>();
  beam.length_penalty = vm["length-penalty"].as<double>();
  beam.max_len_ratio = vm["max-len-ratio"].as<double>();
  beam.max_len_offset = vm["max-len-offset"].as<std::int64_t>();
  const std::string alignments = vm["alignments"].as<std::string>();
  beam.alignments = !alignments.empty();
  try {
    ValidateBeamOptions(beam);
  } catch (const UserError& e) {
    throw UsageError(std::string("rnnsearch translate: ") + e.what());
  }
  const int batch_sentences = vm["batch-sentences"].as<int>();
  if (batch_sentences < 1) {
    throw UsageError("rnnsearch translate: --batch-sentences: expected at least 1, found " +
                     std::to_string(batch_sentences));
  }
  const std::string output = vm["output"].as<std::string>();
  RunCollectively(comm, [&] {  // before any work: a bad output path is found now
    if (comm.rank() != 0) return;
    CheckOutputPath(output, "rnnsearch translate", "--output");
    if (!beam.alignments) return;
    CheckOutputPath(alignments, "rnnsearch translate", "--alignments");
    if (alignments == output && output != "-") {
      throw UserError("rnnsearch translate: --alignments: '" + alignments +
                      "' is also the --output file");
    }
  });
  const TranslationModel model =
      LoadTranslationModel(choice.model_path, choice.run_dir, choice.weights, comm);
  // Ensemble members: other checkpoints with the same vocabularies.
  const std::vector<TranslationModel> others =
      LoadEnsembleMembers(model, choice.ensemble, choice.weights, comm);
  std::vector<const ParamSet*> members = {&model.params};
  for (const TranslationModel& other : others) members.push_back(&other.params);
  std::vector<Record> records;                    // rank 0: the input lines
  std::vector<std::vector<std::size_t>> batches;  // rank 0: their batches
  const std::string input = vm["input"].as<std::string>();
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    const std::vector<std::string> lines = ReadTextLines(input, "rnnsearch translate", "--input");
    batches = Translator::PlanBatches(model.src_vocab, lines, batch_sentences);
    for (const std::string& line : lines) records.push_back({line});
  });
  const Share share = ScatterGroups(comm, 1, records, batches);
  records.clear();

  const int threads = ResolveThreadsPerRank(choice.threads, comm);
  if (comm.rank() == 0) {
    LogLoadedModels("translate", model, others);
    RNN_LOG(kInfo) << "translate: " << share.total << " lines, " << comm.size() << " rank(s) x "
                   << threads << " thread(s), beam " << beam.beam_size;
  }
  const double t0 = Now();
  std::vector<IndexedRecord> mine;    // this rank's lines: {translation, alignment}
  std::int64_t stats[3] = {0, 0, 0};  // decoded lines, target tokens, lines over the training max
  RunCollectively(comm, [&] {
    ops::Context ctx(threads);
    std::vector<std::vector<LineTranslation>> got(share.groups.size());
    Allocating("the beam search's buffers (--batch-sentences, --beam-size, the longest line)", [&] {
      Translator translator(ctx, members, model.src_vocab, model.tgt_vocab, beam, batch_sentences);
      for (std::size_t b = 0; b < share.groups.size(); ++b) {
        std::vector<std::string> lines;
        for (const IndexedRecord& r : share.groups[b]) lines.push_back(r.record[0]);
        got[b] = translator.TranslateBatch(lines);
      }
    });
    for (std::size_t b = 0; b < got.size(); ++b) {
      for (std::size_t k = 0; k < got[b].size(); ++k) {
        const LineTranslation& t = got[b][k];
        const auto line = static_cast<std::int64_t>(share.groups[b][k].index);
        if (!t.source.empty()) {
          ++stats[0];
          stats[1] += static_cast<std::int64_t>(t.nbest.front().tokens.size()) +
                      (t.nbest.front().finished ? 1 : 0);
          if (model.train_max_len > 0 &&
              static_cast<std::int64_t>(t.source.size()) > model.train_max_len) {
            ++stats[2];
          }
        }
        mine.push_back(
            {share.groups[b][k].index,
             {FormatTranslation(t, line, beam.nbest),
              beam.alignments ? FormatAlignment(t, line, model.src_vocab, model.tgt_vocab)
                              : std::string()}});
      }
    }
  });
  comm.Allreduce(stats, 3, ReduceOp::kSum);
  const std::vector<Record> results = GatherInOrder(comm, 2, share.total, mine);
  mine.clear();
  const double seconds = Now() - t0;
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    std::string all, all_align;
    for (const Record& r : results) {
      all += r[0];
      all_align += r[1];
    }
    WriteWholeOutput(output, all, "rnnsearch translate", "--output");
    if (beam.alignments) {
      WriteWholeOutput(alignments, all_align, "rnnsearch translate", "--alignments");
    }
  });
  if (comm.rank() == 0) {
    if (stats[2] > 0) {
      RNN_LOG(kInfo) << stats[2] << " line(s) longer than the training maximum of "
                     << model.train_max_len << " subwords (data.max_len) were translated whole";
    }
    char rate[128];
    std::snprintf(rate, sizeof rate, "%.1f sentences/s, %.0f target tokens/s",
                  seconds > 0 ? static_cast<double>(stats[0]) / seconds : 0.0,
                  seconds > 0 ? static_cast<double>(stats[1]) / seconds : 0.0);
    RNN_LOG(kInfo) << "translated " << stats[0] << " sentence(s) in " << seconds << " s: " << rate;
  }
  return 0;
}

}  // namespace rnnsearch
