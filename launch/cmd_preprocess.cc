// rnnsearch preprocess: aligned text files -> a corpus directory of HDF5
// shards and a manifest (io/preprocess.h, docs/io.md). Runs alone or under
// mpirun, each rank taking a part of the input.
#include "common/error.h"
#include "io/corpus_summary.h"
#include "io/preprocess.h"
#include "launch/cli.h"

namespace rnnsearch {

int RunPreprocess(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  options.add_options()("src", po::value<std::string>()->default_value(""),
                        "source text, one sentence per line "
                        "(plain or gzip)")("tgt", po::value<std::string>()->default_value(""),
                                           "target text, aligned by line")(
      "out", po::value<std::string>()->default_value(""), "corpus directory to create")(
      "vocab-from", po::value<std::string>()->default_value("", "none"),
      "reuse the vocabularies of this corpus directory (for validation and test sets)")(
      "spm-model", po::value<std::string>()->default_value("", "none"),
      "encode both sides with this SentencePiece .model instead of training one")(
      "src-spm-model", po::value<std::string>()->default_value("", "none"),
      "SentencePiece .model of the source side (with --tgt-spm-model)")(
      "tgt-spm-model", po::value<std::string>()->default_value("", "none"),
      "SentencePiece .model of the target side")("tokenizer", po::value<std::string>(),
                                                 "sets data.tokenizer: sentencepiece | whitespace")(
      "spm-type", po::value<std::string>(), "sets data.spm_type: unigram | bpe")(
      "vocab-size", po::value<std::string>(), "sets data.vocab_size")(
      "separate-vocab", po::bool_switch()->default_value(false),
      "one vocabulary per side (sets data.joint_vocab=false)")(
      "min-count", po::value<std::string>(), "sets data.min_count")(
      "max-words", po::value<std::string>(), "sets data.max_words")(
      "max-len", po::value<std::string>(), "sets data.max_len")(
      "max-ratio", po::value<std::string>(), "sets data.max_ratio")(
      "shard-sentences", po::value<std::string>(), "sets data.shard_sentences")(
      "skip-invalid-utf8", po::bool_switch()->default_value(false),
      "skip and count pairs with invalid UTF-8 instead of stopping with an error")(
      "overwrite", po::bool_switch()->default_value(false),
      "replace an existing corpus directory at --out");
  AddConfigOptions(options);
  po::variables_map vm;
  if (!ParseCommandArgs("preprocess", "--src FILE --tgt FILE --out DIR [OPTIONS]", options, args,
                        vm, env, nullptr, ConfigKeysHelp())) {
    return 0;
  }
  // Shorthand options become config overrides (after --set, so they win).
  auto overrides = vm["set"].as<std::vector<std::string>>();
  for (const char* flag : {"tokenizer", "spm-type", "vocab-size", "min-count", "max-words",
                           "max-len", "max-ratio", "shard-sentences"}) {
    if (vm.count(flag) == 0) continue;
    std::string key = flag;
    for (char& c : key) c = c == '-' ? '_' : c;
    overrides.push_back("data." + key + "=" + vm[flag].as<std::string>());
  }
  if (vm["separate-vocab"].as<bool>()) overrides.push_back("data.joint_vocab=false");
  vm.at("set").value() = overrides;
  const Config config = ConfigFromOptions(vm, env.comm);

  PreprocessOptions o;
  o.src = vm["src"].as<std::string>();
  o.tgt = vm["tgt"].as<std::string>();
  o.out = vm["out"].as<std::string>();
  if (o.src.empty() || o.tgt.empty() || o.out.empty()) {
    throw UsageError(
        "rnnsearch preprocess: --src, --tgt and --out are required\n\nUsage: "
        "rnnsearch preprocess --src FILE --tgt FILE --out DIR [OPTIONS]");
  }
  o.vocab_from = vm["vocab-from"].as<std::string>();
  o.spm_model = vm["spm-model"].as<std::string>();
  o.src_spm_model = vm["src-spm-model"].as<std::string>();
  o.tgt_spm_model = vm["tgt-spm-model"].as<std::string>();
  o.overwrite = vm["overwrite"].as<bool>();
  o.skip_invalid_utf8 = vm["skip-invalid-utf8"].as<bool>();
  o.data = config.data;
  const Manifest m = Preprocess(o, env.comm);
  PrintOnRoot(env, FormatCorpusSummary(m, o.out));
  return 0;
}

}  // namespace rnnsearch
