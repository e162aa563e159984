#include "io/preprocess.h"

#include <filesystem>
#include <random>

#include "common/error.h"
#include "common/log.h"
#include "common/version.h"
#include "io/collective.h"
#include "io/input_split.h"
#include "io/preprocess_steps.h"
#include "io/text_file.h"

namespace rnnsearch {
namespace fs = std::filesystem;
using preprocess_internal::RankOutput;
using preprocess_internal::Vocabularies;

namespace {

// The output path without trailing separators ("out/" -> "out").
std::string CleanOut(const std::string& out) {
  std::string s = fs::path(out).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// Rank 0: options that contradict each other, and an output that exists.
void CheckOptions(const PreprocessOptions& o, const std::string& out) {
  if (o.src.empty() || o.tgt.empty() || out.empty()) {
    throw UsageError("rnnsearch preprocess: --src, --tgt and --out are required");
  }
  if (!o.spm_model.empty() && (!o.src_spm_model.empty() || !o.tgt_spm_model.empty())) {
    throw UsageError(
        "rnnsearch preprocess: give --spm-model (both sides) or --src-spm-model "
        "and --tgt-spm-model, not both");
  }
  if (o.src_spm_model.empty() != o.tgt_spm_model.empty()) {
    throw UsageError("rnnsearch preprocess: --src-spm-model and --tgt-spm-model go together");
  }
  const bool models = !o.spm_model.empty() || !o.src_spm_model.empty();
  if (!o.vocab_from.empty() && models) {
    throw UsageError(
        "rnnsearch preprocess: --vocab-from already gives the vocabularies; do "
        "not add SentencePiece models");
  }
  if (models && o.tokenizer() != Tokenizer::kSentencePiece) {
    throw UsageError(
        "rnnsearch preprocess: a SentencePiece model needs data.tokenizer "
        "sentencepiece, found '" +
        o.data.tokenizer + "'");
  }
  if (o.data.max_words > 0 && o.data.max_words <= 4) {
    throw ConfigError(
        "data.max_words: expected 0 (no limit) or more than the 4 special ids, "
        "found " +
        std::to_string(o.data.max_words));
  }
  for (const std::string* f : {&o.src, &o.tgt}) IsGzipFile(*f);  // throws if unreadable
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!o.overwrite) {
      throw UserError("the output '" + out + "' already exists; pass --overwrite to replace it");
    }
    const bool corpus = fs::is_directory(out, ec) &&
                        (fs::exists(out + "/" + kManifestName, ec) || fs::is_empty(out, ec));
    if (!corpus) {
      throw UserError("the output '" + out + "' exists and is not a preprocessed corpus (no " +
                      kManifestName + "); refusing to replace it even with --overwrite");
    }
  }
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

std::string RandomSuffix() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

// Rank 0: the finished temporary directory becomes `out`.
void Publish(const std::string& tmp, const std::string& out) {
  std::error_code ec;
  std::string old;
  if (fs::exists(out, ec)) {
    old = out + ".old-" + RandomSuffix();
    fs::rename(out, old, ec);
    if (ec) throw UserError("cannot move the old '" + out + "' aside: " + ec.message());
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    std::error_code ignored;
    if (!old.empty()) fs::rename(old, out, ignored);
    throw UserError("cannot rename '" + tmp + "' to '" + out + "': " + ec.message());
  }
  if (!old.empty()) fs::remove_all(old, ec);
}

std::string SerializeShards(const std::vector<ShardSummary>& shards) {
  std::string s;
  for (const ShardSummary& x : shards) {
    s += x.file + "\t" + std::to_string(x.sentences) + "\t" + std::to_string(x.src_tokens) + "\t" +
         std::to_string(x.tgt_tokens) + "\t" + std::to_string(x.bytes) + "\t" +
         std::to_string(x.crc32) + "\n";
  }
  return s;
}

void ParseShards(const std::string& text, std::vector<ShardSummary>* out) {
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    std::vector<std::string> f;
    std::size_t a = start;
    for (std::size_t t; (t = text.find('\t', a)) < nl; a = t + 1)
      f.push_back(text.substr(a, t - a));
    f.push_back(text.substr(a, nl - a));
    ShardSummary s;
    s.file = f.at(0);
    s.sentences = std::stoll(f.at(1));
    s.src_tokens = std::stoll(f.at(2));
    s.tgt_tokens = std::stoll(f.at(3));
    s.bytes = std::stoll(f.at(4));
    s.crc32 = static_cast<std::uint32_t>(std::stoul(f.at(5)));
    out->push_back(s);
    start = nl + 1;
  }
}

}  // namespace

Manifest Preprocess(const PreprocessOptions& options, Comm& comm) {
  const std::string out = CleanOut(options.out);
  RunCollectively(comm, [&] {
    if (comm.rank() == 0) CheckOptions(options, out);
  });
  const InputPart part = SplitInput(options.src, options.tgt, comm);
  RNN_LOG(kInfo) << "preprocessing " << part.total_lines << " line pairs on " << comm.size()
                 << (comm.size() == 1 ? " rank" : " ranks");
  const Vocabularies v = preprocess_internal::MakeVocabularies(options, part, comm);
  RNN_LOG(kInfo) << "vocabularies: " << v.origin << "; source " << v.src.size() << " ids, target "
                 << v.tgt.size() << " ids";

  // A temporary sibling of `out`, created by rank 0 and seen by all.
  std::string tmp;
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    const fs::path parent = fs::path(out).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    tmp = out + ".tmp-" + RandomSuffix();
    if (!fs::create_directory(tmp, ec)) {
      throw UserError("cannot create the directory '" + tmp +
                      "': " + (ec ? ec.message() : std::string("it exists")));
    }
  });
  comm.BroadcastString(tmp, 0);
  try {
    RunCollectively(comm, [&] {
      if (!fs::is_directory(tmp)) {
        throw UserError("the directory '" + tmp + "' made by rank 0 is not visible here: the " +
                        "output must be on a filesystem shared by all ranks");
      }
    });
    RankOutput mine;
    RunCollectively(comm, [&] {
      mine = preprocess_internal::EncodeAndWrite(options, part, v, tmp, comm.rank());
    });

    Manifest m;
    m.created_by = std::string("rnnsearch ") + Version() + " (git " + GitRevision() + ")";
    // Absolute, so that validation finds its references from any directory.
    m.src_input = AbsolutePath(options.src);
    m.tgt_input = AbsolutePath(options.tgt);
    m.tokenizer = v.tokenizer;
    m.vocab_origin = v.origin;
    m.joint_vocab = v.joint;
    m.max_len = options.data.max_len;
    m.max_ratio = options.data.max_ratio;
    m.ranks = comm.size();
    m.src_vocab = v.src;
    m.tgt_vocab = v.tgt;
    std::int64_t f[6] = {mine.filters.lines,    mine.filters.kept,  mine.filters.empty,
                         mine.filters.too_long, mine.filters.ratio, mine.filters.invalid_utf8};
    comm.Allreduce(f, 6, ReduceOp::kSum);
    m.filters = {f[0], f[1], f[2], f[3], f[4], f[5]};
    comm.Allreduce(mine.src_hist.data(), mine.src_hist.size(), ReduceOp::kSum);
    comm.Allreduce(mine.tgt_hist.data(), mine.tgt_hist.size(), ReduceOp::kSum);
    m.src_length_hist = mine.src_hist;
    m.tgt_length_hist = mine.tgt_hist;
    for (const std::string& s : AllGatherStrings(comm, SerializeShards(mine.shards))) {
      ParseShards(s, &m.shards);
    }
    for (const ShardSummary& s : m.shards) {
      m.sentences += s.sentences;
      m.src_tokens += s.src_tokens;
      m.tgt_tokens += s.tgt_tokens;
    }
    RunCollectively(comm, [&] {
      if (m.sentences == 0) {
        throw UserError("no sentence pairs are left after filtering the " +
                        std::to_string(m.filters.lines) + " lines of '" + options.src + "' and '" +
                        options.tgt + "' (empty " + std::to_string(m.filters.empty) +
                        ", too long " + std::to_string(m.filters.too_long) + ", ratio " +
                        std::to_string(m.filters.ratio) + ", invalid UTF-8 " +
                        std::to_string(m.filters.invalid_utf8) + "); nothing was written");
      }
      if (comm.rank() != 0) return;
      WriteManifest(tmp, m);
      Publish(tmp, out);
    });
    return m;
  } catch (...) {
    if (comm.rank() == 0) {
      std::error_code ec;
      fs::remove_all(tmp, ec);
    }
    throw;
  }
}

}  // namespace rnnsearch
