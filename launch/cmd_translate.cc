// rnnsearch translate: raw text in, raw text out, with a checkpoint's model
// and vocabularies (launch/translate_model.h), by batched beam search
// (trainer/beam_search.h, trainer/translator.h), in the formats of
// launch/translate_output.h.
//
// Under mpirun: rank 0 reads the checkpoint and the input and broadcasts
// them; the lines are sorted by length into batches, the same batches as
// a single process makes, and rank r translates batches r, r + N, ...
// (trainer/translator.h); rank 0 gathers the results and writes them in
// input order. The output is therefore bit-identical for any number of
// ranks (with the same --threads). Output files are written whole, through a temporary name and a
// rename, so an error leaves an existing output file as it was.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "io/collective.h"
#include "io/file_write.h"
#include "io/text_file.h"
#include "io/utf8.h"
#include "launch/cli.h"
#include "launch/mpi_session.h"
#include "launch/translate_model.h"
#include "launch/translate_output.h"
#include "ops/context.h"
#include "trainer/translator.h"

namespace rnnsearch {
namespace {

// Every line of the input ('-': stdin), checked to be UTF-8.
std::vector<std::string> ReadInput(const std::string& path) {
  std::vector<std::string> lines;
  const std::string name = path == "-" ? std::string("<stdin>") : path;
  auto add = [&](std::string_view line) {
    const std::size_t bad = FindInvalidUtf8(line);
    if (bad != std::string_view::npos) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(line[bad]));
      throw UserError("rnnsearch translate: " + name + ":" + std::to_string(lines.size() + 1) +
                      ": expected UTF-8 text, found the byte " + byte + " at column " +
                      std::to_string(bad + 1));
    }
    lines.emplace_back(line);
  };
  if (path == "-") {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      add(line);
    }
    if (std::cin.bad()) throw UserError("rnnsearch translate: cannot read the standard input");
    return lines;
  }
  try {
    LineReader reader(path);
    std::string_view line;
    while (reader.Next(&line)) add(line);
  } catch (const UserError& e) {
    const std::string what = e.what();
    if (what.rfind("rnnsearch translate:", 0) == 0) throw;
    throw UserError("rnnsearch translate: --input: " + what);
  }
  return lines;
}

// A rank's formatted lines as one string: per line "INDEX TEXT_BYTES
// ALIGN_BYTES\n" followed by the two texts.
void AppendRecord(std::string& out, std::size_t line, const std::string& text,
                  const std::string& align) {
  out += std::to_string(line) + " " + std::to_string(text.size()) + " " +
         std::to_string(align.size()) + "\n" + text + align;
}

// Puts every record of `part` into texts[INDEX] and aligns[INDEX].
void ReadRecords(const std::string& part, std::vector<std::string>& texts,
                 std::vector<std::string>& aligns) {
  for (std::size_t at = 0; at < part.size();) {
    const std::size_t nl = part.find('\n', at);
    std::size_t line = 0, text_bytes = 0, align_bytes = 0;
    std::sscanf(part.c_str() + at, "%zu %zu %zu", &line, &text_bytes, &align_bytes);
    texts[line] = part.substr(nl + 1, text_bytes);
    aligns[line] = part.substr(nl + 1 + text_bytes, align_bytes);
    at = nl + 1 + text_bytes + align_bytes;
  }
}

// Writes `text` to `path` through PATH.tmp.<pid> and a rename ('-': stdout).
void WriteOutput(const std::string& path, const std::string& text, const std::string& option) {
  if (path == "-") {
    std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
    std::cout.flush();
    if (!std::cout) throw UserError("rnnsearch translate: cannot write to the standard output");
    return;
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  try {
    WriteFileDurably(tmp, text);
  } catch (const UserError& e) {
    throw UserError("rnnsearch translate: " + option + ": " + e.what());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw UserError("rnnsearch translate: " + option + ": cannot rename '" + tmp + "' to '" +
                    path + "': " + ec.message());
  }
}

}  // namespace

int RunTranslate(const std::vector<std::string>& args, CommandEnv& env) {
  Comm& comm = env.comm;
  po::options_description options("Options");
  options.add_options()
      ("model", po::value<std::string>()->default_value(""), "checkpoint file to translate with")
      ("run-dir", po::value<std::string>()->default_value(""),
       "or a run directory: its best.h5, else its newest valid ckpt-<step>.h5")
      ("ensemble", po::value<std::vector<std::string>>()->default_value({}, ""),
       "another checkpoint (repeatable) whose log-probabilities are averaged with the "
       "model's at every step; it must have the same vocabularies")
      ("input", po::value<std::string>()->default_value("-"),
       "source text, one sentence per line, plain or .gz ('-': stdin)")
      ("output", po::value<std::string>()->default_value("-"), "translations ('-': stdout)")
      ("beam-size", po::value<int>()->default_value(5), "hypotheses kept per sentence (1: greedy)")
      ("nbest", po::value<int>()->default_value(1),
       "hypotheses written per sentence (> 1: 'LINE ||| TEXT ||| SCORE' lines)")
      ("length-penalty", po::value<double>()->default_value(1.0),
       "alpha: hypotheses are ranked by log-probability / length^alpha (0: no normalisation)")
      ("max-len-ratio", po::value<double>()->default_value(2.0),
       "an output has at most floor(ratio x source subwords) + offset subwords (</s> counted)")
      ("max-len-offset", po::value<std::int64_t>()->default_value(10), "see --max-len-ratio")
      ("batch-sentences", po::value<int>()->default_value(32),
       "sentences decoded together (sorted by length)")
      ("alignments", po::value<std::string>()->default_value(""),
       "also write a JSON line per sentence: subwords and attention weights of the best hypothesis")
      ("weights", po::value<std::string>()->default_value("auto"),
       "auto (the moving average when the checkpoint has one), params or ema")
      ("threads", po::value<int>()->default_value(0),
       "compute threads per rank (0: the cores of the node divided by its ranks)");
  po::variables_map vm;
  if (!ParseCommandArgs("translate", "(--model CKPT | --run-dir DIR) [--input F] [--output F] "
                        "[--beam-size K] [--nbest N] [--alignments F.jsonl]",
                        options, args, vm, env)) {
    return 0;
  }
  const std::string model_path = vm["model"].as<std::string>();
  const std::string run_dir = vm["run-dir"].as<std::string>();
  if (model_path.empty() == run_dir.empty()) {
    throw UsageError("rnnsearch translate: give exactly one of --model CKPT and --run-dir DIR");
  }
  const std::string weights = vm["weights"].as<std::string>();
  if (weights != "auto" && weights != "params" && weights != "ema") {
    throw UsageError("rnnsearch translate: --weights: expected auto, params or ema, found '" +
                     weights + "'");
  }
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
  const int threads_option = vm["threads"].as<int>();
  if (threads_option < 0) {
    throw UsageError("rnnsearch translate: --threads: expected 0 or more, found " +
                     std::to_string(threads_option));
  }

  const TranslationModel model = LoadTranslationModel(model_path, run_dir, weights, comm);
  // Ensemble members: other checkpoints with the same vocabularies.
  std::vector<TranslationModel> others;
  std::vector<const ParamSet*> members = {&model.params};
  for (const std::string& path : vm["ensemble"].as<std::vector<std::string>>()) {
    others.push_back(LoadTranslationModel(path, "", weights, comm));
    const TranslationModel& other = others.back();
    for (const auto& [side, mine, theirs] :
         {std::tuple{"source", &model.src_vocab, &other.src_vocab},
          std::tuple{"target", &model.tgt_vocab, &other.tgt_vocab}}) {
      if (!(*mine == *theirs)) {
        throw UserError("rnnsearch translate: --ensemble '" + path + "': its " + side +
                        " vocabulary (" + theirs->kind_name() + ", " +
                        std::to_string(theirs->size()) + " ids, hash " + theirs->hash_hex() +
                        ") differs from that of '" + model.path + "' (" + mine->kind_name() +
                        ", " + std::to_string(mine->size()) + " ids, hash " +
                        mine->hash_hex() + "): an ensemble needs the same vocabularies");
      }
    }
  }
  for (const TranslationModel& other : others) members.push_back(&other.params);
  std::vector<std::string> lines;
  std::string text;  // rank 0's input, lines joined by '\n', for the broadcast
  const std::string input = vm["input"].as<std::string>();
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    lines = ReadInput(input);
    for (std::size_t i = 0; i < lines.size(); ++i) text += (i ? "\n" : "") + lines[i];
  });
  std::int64_t count = static_cast<std::int64_t>(lines.size());
  comm.Broadcast(&count, sizeof count, 0);
  comm.BroadcastString(text, 0);
  if (comm.rank() != 0 && count > 0) {
    for (std::size_t from = 0;;) {
      const std::size_t nl = text.find('\n', from);
      lines.push_back(text.substr(from, nl == std::string::npos ? std::string::npos : nl - from));
      if (nl == std::string::npos) break;
      from = nl + 1;
    }
  }
  text.clear();

  const int threads = ResolveThreadsPerRank(threads_option, comm);
  if (comm.rank() == 0) {
    RNN_LOG(kInfo) << "translate: " << model.path << " (step " << model.step << ", "
                   << (model.ema ? "moving average" : "parameters") << ")";
    for (const TranslationModel& other : others) {
      RNN_LOG(kInfo) << "translate: ensemble member " << other.path << " (step " << other.step
                     << ", " << (other.ema ? "moving average" : "parameters") << ")";
    }
    RNN_LOG(kInfo) << "translate: " << lines.size()
                   << " lines, " << comm.size() << " rank(s) x " << threads
                   << " thread(s), beam " << beam.beam_size;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::string mine;  // this rank's records
  std::int64_t stats[3] = {0, 0, 0};  // decoded lines, target tokens, lines over the training max
  RunCollectively(comm, [&] {
    ops::Context ctx(threads);
    Translator translator(ctx, members, model.src_vocab, model.tgt_vocab, beam, batch_sentences);
    const std::vector<LineTranslation> got = translator.Translate(lines, comm.rank(), comm.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      const LineTranslation& t = got[i];
      if (t.nbest.empty()) continue;  // another rank's line
      if (!t.source.empty()) {
        ++stats[0];
        stats[1] += static_cast<std::int64_t>(t.nbest.front().tokens.size()) +
                    (t.nbest.front().finished ? 1 : 0);
        if (model.train_max_len > 0 &&
            static_cast<std::int64_t>(t.source.size()) > model.train_max_len) {
          ++stats[2];
        }
      }
      AppendRecord(mine, i, FormatTranslation(t, static_cast<std::int64_t>(i), beam.nbest),
                   beam.alignments ? FormatAlignment(t, static_cast<std::int64_t>(i),
                                                     model.src_vocab, model.tgt_vocab)
                                   : std::string());
    }
  });
  comm.Allreduce(stats, 3, ReduceOp::kSum);
  const std::vector<std::string> parts = AllGatherStrings(comm, mine);
  mine.clear();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    std::vector<std::string> texts(lines.size()), aligns(lines.size());
    for (const std::string& part : parts) ReadRecords(part, texts, aligns);
    std::string all, all_align;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      all += texts[i];
      all_align += aligns[i];
    }
    WriteOutput(vm["output"].as<std::string>(), all, "--output");
    if (beam.alignments) WriteOutput(alignments, all_align, "--alignments");
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
