// rnnsearch score --hyp H --ref R: corpus BLEU and chrF of a detokenized
// hypothesis file against reference files, as the sacreBLEU 2.x command
// line computes and prints them (trainer/eval/bleu.h, trainer/eval/chrf.h).
//
// Files are read as sacreBLEU reads them: UTF-8, lines split at '\n' only,
// each line right-stripped of (Python's) whitespace; with several
// reference files an empty line is an absent reference ("nrefs:var"). Like
// sacreBLEU, it refuses files of different line counts and a line whose
// references are all empty;
// unlike sacreBLEU's '-lc', --lowercase applies to chrF as well (its
// signature then says case:lc).
#include <iostream>
#include <sstream>

#include "common/error.h"
#include "common/utf8.h"
#include "io/collective.h"
#include "io/text_file.h"
#include "launch/cli.h"
#include "trainer/eval/bleu.h"
#include "trainer/eval/chrf.h"
#include "trainer/eval/sacre_text.h"

namespace rnnsearch {
namespace {

// One line as sacreBLEU keeps it; `where` is "FILE:LINE" for messages.
std::string Checked(std::string_view line, const std::string& where) {
  const std::size_t bad = FindInvalidUtf8(line);
  if (bad != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(line[bad]));
    throw UserError("rnnsearch score: " + where + ": expected UTF-8 text, found the byte " + byte +
                    " at column " + std::to_string(bad + 1));
  }
  return sacre::EncodeUtf8(sacre::RStrip(sacre::DecodeUtf8(line)));
}

std::vector<std::string> ReadLines(const std::string& path, const std::string& option) {
  std::vector<std::string> lines;
  const std::string name = path == "-" ? std::string("<stdin>") : path;
  auto add = [&](std::string_view line) {
    lines.push_back(Checked(line, name + ":" + std::to_string(lines.size() + 1)));
  };
  if (path == "-") {
    std::string line;
    while (std::getline(std::cin, line)) add(line);
    return lines;
  }
  try {
    LineReader reader(path);
    std::string_view line;
    while (reader.Next(&line)) add(line);
  } catch (const UserError& e) {
    const std::string what = e.what();
    if (what.rfind("rnnsearch score:", 0) == 0) throw;
    throw UserError("rnnsearch score: " + option + ": " + what);
  }
  return lines;
}

std::vector<std::string> ParseMetrics(const std::string& list) {
  std::vector<std::string> metrics;
  std::stringstream in(list);
  for (std::string m; std::getline(in, m, ',');) {
    if (m != "bleu" && m != "chrf") {
      throw UsageError("rnnsearch score: --metrics: unknown metric '" + m +
                       "' (expected a comma-separated list of bleu and chrf)");
    }
    metrics.push_back(m);
  }
  if (metrics.empty()) throw UsageError("rnnsearch score: --metrics: no metric given");
  return metrics;
}

}  // namespace

int RunScore(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  options.add_options()("hyp", po::value<std::string>()->required(),
                        "hypotheses, one detokenized sentence per line ('-': stdin)")(
      "ref", po::value<std::vector<std::string>>()->required()->composing(),
      "references, line by line as the hypotheses (repeat for several references)")(
      "lowercase", po::bool_switch()->default_value(false), "lowercase hypotheses and references")(
      "tokenize", po::value<std::string>()->default_value("13a"),
      "BLEU's tokenizer: 13a (mteval-v13a, sacreBLEU's default) or none")(
      "metrics", po::value<std::string>()->default_value("bleu,chrf"),
      "comma-separated metrics to print: bleu, chrf")("width", po::value<int>()->default_value(2),
                                                      "decimals of the scores");
  po::variables_map vm;
  if (!ParseCommandArgs("score",
                        "--hyp FILE --ref FILE [--ref FILE ...] [--lowercase] "
                        "[--tokenize 13a|none] [--metrics bleu,chrf]",
                        options, args, vm, env)) {
    return 0;
  }
  const std::string tokenize = vm["tokenize"].as<std::string>();
  if (tokenize != "13a" && tokenize != "none") {
    throw UsageError("rnnsearch score: --tokenize: expected 13a or none, found '" + tokenize + "'");
  }
  const int width = vm["width"].as<int>();
  if (width < 0 || width > 10) {
    throw UsageError("rnnsearch score: --width: expected 0 to 10, found " + std::to_string(width));
  }
  const std::vector<std::string> metrics = ParseMetrics(vm["metrics"].as<std::string>());
  const bool lowercase = vm["lowercase"].as<bool>();
  std::string text;
  RunCollectively(env.comm, [&] {
    if (env.comm.rank() != 0) return;
    const std::string hyp_path = vm["hyp"].as<std::string>();
    const std::vector<std::string> hyps = ReadLines(hyp_path, "--hyp");
    if (hyps.empty()) throw UserError("rnnsearch score: --hyp " + hyp_path + " has no lines");
    std::vector<std::vector<std::string>> refs;
    for (const std::string& path : vm["ref"].as<std::vector<std::string>>()) {
      refs.push_back(ReadLines(path, "--ref"));
      if (refs.back().size() != hyps.size()) {
        throw UserError("rnnsearch score: different line counts: --hyp " + hyp_path + " has " +
                        std::to_string(hyps.size()) + " lines, --ref " + path + " has " +
                        std::to_string(refs.back().size()) +
                        "; every hypothesis needs one line in each reference file");
      }
    }
    // An empty line is an absent reference; a line needs at least one.
    const std::vector<std::string>& ref_paths = vm["ref"].as<std::vector<std::string>>();
    for (std::size_t i = 0; i < hyps.size(); ++i) {
      bool any = false;
      for (const std::vector<std::string>& stream : refs) any = any || !stream[i].empty();
      if (!any) {
        throw UserError(
            "rnnsearch score: " + ref_paths[0] + ":" + std::to_string(i + 1) +
            (refs.size() > 1 ? ": empty in every reference file" : ": empty reference line") +
            "; sacreBLEU 2.x refuses it too (\"Empty or `None` reference sentence "
            "found\"): remove the line from every file or give it a reference");
      }
    }
    const int nrefs = ReferenceCount(refs);
    for (const std::string& metric : metrics) {
      if (metric == "bleu") {
        BleuOptions o;
        o.lowercase = lowercase;
        o.tokenize = tokenize;
        text += FormatBleu(CorpusBleu(hyps, refs, o), BleuSignature(o, nrefs), width) + "\n";
      } else {
        ChrfOptions o;
        o.lowercase = lowercase;
        text += FormatChrf(CorpusChrf(hyps, refs, o), o, ChrfSignature(o, nrefs), width) + "\n";
      }
    }
  });
  PrintOnRoot(env, text);
  return 0;
}

}  // namespace rnnsearch
