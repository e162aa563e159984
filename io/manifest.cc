#include "io/manifest.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/file_read.h"
#include "io/checksum.h"
#include "io/file_write.h"

namespace rnnsearch {
namespace {

void EmitVocab(YAML::Emitter& out, const Vocab& v) {
  out << YAML::BeginMap;
  out << YAML::Key << "kind" << YAML::Value << v.kind_name();
  out << YAML::Key << "size" << YAML::Value << v.size();
  out << YAML::Key << "hash" << YAML::Value << YAML::DoubleQuoted << v.hash_hex();
  out << YAML::Key << "bytes" << YAML::Value << static_cast<std::int64_t>(v.bytes().size());
  out << YAML::Key << "base64" << YAML::Value << YAML::Literal << Base64Encode(v.bytes(), true);
  out << YAML::EndMap;
}

std::vector<std::int64_t> Trimmed(std::vector<std::int64_t> h) {
  while (!h.empty() && h.back() == 0) h.pop_back();
  return h;
}

// Typed access that names the file and key on failure.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}
  YAML::Node At(const YAML::Node& node, const std::string& key, const std::string& full) const {
    if (!node.IsMap() || !node[key]) {
      throw UserError("'" + path_ + "': missing key '" + full + "'");
    }
    return node[key];
  }
  template <typename T>
  T Get(const YAML::Node& node, const std::string& key, const std::string& full) const {
    const YAML::Node v = At(node, key, full);
    try {
      return v.as<T>();
    } catch (const YAML::Exception&) {
      throw UserError("'" + path_ + "': key '" + full + "': expected a " + TypeName<T>() +
                      ", found '" + (v.IsScalar() ? v.Scalar() : std::string("(not a scalar)")) +
                      "'");
    }
  }
  Vocab GetVocab(const YAML::Node& node, const std::string& full) const {
    const std::string where = "'" + path_ + "': " + full;
    Vocab v = Vocab::Deserialize(
        Get<std::string>(node, "kind", full + ".kind"),
        Base64Decode(Get<std::string>(node, "base64", full + ".base64"), where + ".base64"), where);
    const std::string hash = Get<std::string>(node, "hash", full + ".hash");
    if (v.hash_hex() != hash) {
      throw UserError(where + ": the vocabulary's hash is " + v.hash_hex() +
                      ", the manifest records " + hash + " (the manifest is damaged)");
    }
    return v;
  }

 private:
  template <typename T>
  static const char* TypeName() {
    if constexpr (std::is_same_v<T, std::string>) return "string";
    if constexpr (std::is_same_v<T, bool>) return "boolean";
    if constexpr (std::is_floating_point_v<T>) return "number";
    return "integer";
  }
  std::string path_;
};

}  // namespace

std::string ManifestToYaml(const Manifest& m) {
  YAML::Emitter out;
  out << YAML::Comment(
      "rnnsearch corpus manifest (docs/io.md). Written last: the corpus is "
      "complete.");
  out << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << "rnnsearch-corpus";
  out << YAML::Key << "format_version" << YAML::Value << m.format_version;
  out << YAML::Key << "created_by" << YAML::Value << m.created_by;
  out << YAML::Key << "input" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "src" << YAML::Value << m.src_input;
  out << YAML::Key << "tgt" << YAML::Value << m.tgt_input;
  out << YAML::Key << "ranks" << YAML::Value << m.ranks;
  out << YAML::EndMap;
  out << YAML::Key << "tokenizer" << YAML::Value << m.tokenizer;
  out << YAML::Key << "vocab_origin" << YAML::Value << m.vocab_origin;
  out << YAML::Key << "filters" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_len" << YAML::Value << m.max_len;
  out << YAML::Key << "max_ratio" << YAML::Value << m.max_ratio;
  out << YAML::Key << "lines" << YAML::Value << m.filters.lines;
  out << YAML::Key << "kept" << YAML::Value << m.filters.kept;
  out << YAML::Key << "empty" << YAML::Value << m.filters.empty;
  out << YAML::Key << "too_long" << YAML::Value << m.filters.too_long;
  out << YAML::Key << "ratio" << YAML::Value << m.filters.ratio;
  out << YAML::Key << "invalid_utf8" << YAML::Value << m.filters.invalid_utf8;
  out << YAML::EndMap;
  out << YAML::Key << "counts" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "sentences" << YAML::Value << m.sentences;
  out << YAML::Key << "src_tokens" << YAML::Value << m.src_tokens;
  out << YAML::Key << "tgt_tokens" << YAML::Value << m.tgt_tokens;
  out << YAML::EndMap;
  out << YAML::Key << "length_histogram" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "src" << YAML::Value << YAML::Flow << Trimmed(m.src_length_hist);
  out << YAML::Key << "tgt" << YAML::Value << YAML::Flow << Trimmed(m.tgt_length_hist);
  out << YAML::EndMap;
  out << YAML::Key << "shards" << YAML::Value << YAML::BeginSeq;
  for (const ShardSummary& s : m.shards) {
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", s.crc32);
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "file" << YAML::Value << s.file;
    out << YAML::Key << "sentences" << YAML::Value << s.sentences;
    out << YAML::Key << "src_tokens" << YAML::Value << s.src_tokens;
    out << YAML::Key << "tgt_tokens" << YAML::Value << s.tgt_tokens;
    out << YAML::Key << "bytes" << YAML::Value << s.bytes;
    out << YAML::Key << "crc32" << YAML::Value << YAML::DoubleQuoted << crc;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "vocab" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "joint" << YAML::Value << m.joint_vocab;
  out << YAML::Key << "src" << YAML::Value;
  EmitVocab(out, m.src_vocab);
  if (!m.joint_vocab) {
    out << YAML::Key << "tgt" << YAML::Value;
    EmitVocab(out, m.tgt_vocab);
  }
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Manifest ManifestFromYaml(const std::string& text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw UserError("'" + path + "': malformed YAML at line " + std::to_string(e.mark.line + 1) +
                    ": " + e.msg);
  }
  const Reader r(path);
  Manifest m;
  const std::string format = r.Get<std::string>(root, "format", "format");
  if (format != "rnnsearch-corpus") {
    throw UserError("'" + path + "': expected format 'rnnsearch-corpus', found '" + format + "'");
  }
  m.format_version = r.Get<std::int64_t>(root, "format_version", "format_version");
  if (m.format_version != kCorpusFormatVersion) {
    throw UserError("'" + path + "': expected corpus format version " +
                    std::to_string(kCorpusFormatVersion) + ", found " +
                    std::to_string(m.format_version) +
                    " (preprocess the corpus again with this build)");
  }
  m.created_by = r.Get<std::string>(root, "created_by", "created_by");
  const YAML::Node input = r.At(root, "input", "input");
  m.src_input = r.Get<std::string>(input, "src", "input.src");
  m.tgt_input = r.Get<std::string>(input, "tgt", "input.tgt");
  m.ranks = r.Get<std::int64_t>(input, "ranks", "input.ranks");
  m.tokenizer = r.Get<std::string>(root, "tokenizer", "tokenizer");
  m.vocab_origin = r.Get<std::string>(root, "vocab_origin", "vocab_origin");
  const YAML::Node f = r.At(root, "filters", "filters");
  m.max_len = r.Get<std::int64_t>(f, "max_len", "filters.max_len");
  m.max_ratio = r.Get<double>(f, "max_ratio", "filters.max_ratio");
  m.filters.lines = r.Get<std::int64_t>(f, "lines", "filters.lines");
  m.filters.kept = r.Get<std::int64_t>(f, "kept", "filters.kept");
  m.filters.empty = r.Get<std::int64_t>(f, "empty", "filters.empty");
  m.filters.too_long = r.Get<std::int64_t>(f, "too_long", "filters.too_long");
  m.filters.ratio = r.Get<std::int64_t>(f, "ratio", "filters.ratio");
  m.filters.invalid_utf8 = r.Get<std::int64_t>(f, "invalid_utf8", "filters.invalid_utf8");
  const YAML::Node c = r.At(root, "counts", "counts");
  m.sentences = r.Get<std::int64_t>(c, "sentences", "counts.sentences");
  m.src_tokens = r.Get<std::int64_t>(c, "src_tokens", "counts.src_tokens");
  m.tgt_tokens = r.Get<std::int64_t>(c, "tgt_tokens", "counts.tgt_tokens");
  const YAML::Node h = r.At(root, "length_histogram", "length_histogram");
  m.src_length_hist = r.Get<std::vector<std::int64_t>>(h, "src", "length_histogram.src");
  m.tgt_length_hist = r.Get<std::vector<std::int64_t>>(h, "tgt", "length_histogram.tgt");
  const YAML::Node shards = r.At(root, "shards", "shards");
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const std::string key = "shards[" + std::to_string(i) + "]";
    ShardSummary s;
    s.file = r.Get<std::string>(shards[i], "file", key + ".file");
    s.sentences = r.Get<std::int64_t>(shards[i], "sentences", key + ".sentences");
    s.src_tokens = r.Get<std::int64_t>(shards[i], "src_tokens", key + ".src_tokens");
    s.tgt_tokens = r.Get<std::int64_t>(shards[i], "tgt_tokens", key + ".tgt_tokens");
    s.bytes = r.Get<std::int64_t>(shards[i], "bytes", key + ".bytes");
    const std::string crc = r.Get<std::string>(shards[i], "crc32", key + ".crc32");
    if (crc.empty() || crc.size() > 8 ||
        crc.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      throw UserError("'" + path + "': " + key + ".crc32: expected up to 8 hex digits, found '" +
                      crc + "'");
    }
    s.crc32 = static_cast<std::uint32_t>(std::stoul(crc, nullptr, 16));
    if (s.file.empty() || s.file.find('/') != std::string::npos) {
      throw UserError("'" + path + "': " + key + ".file: expected a file name, found '" + s.file +
                      "'");
    }
    m.shards.push_back(s);
  }
  const YAML::Node v = r.At(root, "vocab", "vocab");
  m.joint_vocab = r.Get<bool>(v, "joint", "vocab.joint");
  m.src_vocab = r.GetVocab(r.At(v, "src", "vocab.src"), "vocab.src");
  m.tgt_vocab = m.joint_vocab ? m.src_vocab : r.GetVocab(r.At(v, "tgt", "vocab.tgt"), "vocab.tgt");
  return m;
}

void WriteManifest(const std::string& dir, const Manifest& m) {
  const std::string path = dir + "/" + kManifestName;
  const std::string tmp = path + ".tmp";
  std::filesystem::remove(tmp);
  WriteFileDurably(tmp, ManifestToYaml(m));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw UserError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
}

Manifest ReadManifest(const std::string& dir) {
  const std::string path = dir + "/" + kManifestName;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    const auto status = std::filesystem::status(dir, ec);
    std::string why = "it has no " + std::string(kManifestName) + " (made by rnnsearch preprocess)";
    if (!std::filesystem::exists(status)) {
      why = "it does not exist";
    } else if (!std::filesystem::is_directory(status)) {
      why = "it is a file, not a corpus directory";
    }
    throw UserError("'" + dir + "' is not a preprocessed corpus: " + why);
  }
  return ManifestFromYaml(ReadWholeFile(path, "the manifest"), path);
}

}  // namespace rnnsearch
