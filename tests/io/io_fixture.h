// Helpers for the io tests: temporary directories, generated aligned
// corpora (no dependency on ../shared), and reading a whole corpus back.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/comm.h"
#include "io/corpus.h"
#include "io/preprocess.h"

namespace rnnsearch::testing {

// A fresh directory under /tmp, removed with its contents at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("rnnsearch_io_" + tag + "_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline void WriteGzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
}

inline std::string JoinLines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// `n` aligned sentence pairs of lower-case ASCII words (single spaces, no
// empty lines), target lengths correlated with the source's, 1 to max_words
// words each. Deterministic in `seed`.
inline std::pair<std::vector<std::string>, std::vector<std::string>> MakePairs(int n,
                                                                               std::uint32_t seed,
                                                                               int max_words = 20) {
  static const char* const kSrc[] = {
      "a",   "man",    "woman", "dog",      "runs", "in",   "the",   "park", "red",   "blue",
      "car", "street", "two",   "children", "play", "with", "ball",  "near", "water", "sits",
      "on",  "bench",  "young", "girl",     "eats", "an",   "apple", "big",  "house"};
  static const char* const kTgt[] = {
      "ein",  "mann",    "frau", "hund",    "rennt",   "im",    "der",   "park", "rot",    "blau",
      "auto", "strasse", "zwei", "kinder",  "spielen", "mit",   "ball",  "nahe", "wasser", "sitzt",
      "auf",  "bank",    "jung", "mädchen", "isst",    "einen", "apfel", "groß", "haus",   "schön"};
  std::mt19937 rng(seed);
  auto word = [&](const char* const* list, std::size_t size) {
    return std::string(list[std::uniform_int_distribution<std::size_t>(0, size - 1)(rng)]);
  };
  std::vector<std::string> src, tgt;
  for (int i = 0; i < n; ++i) {
    const int ls = std::uniform_int_distribution<int>(1, max_words)(rng);
    const int lt =
        std::max(1, std::min(max_words, ls + std::uniform_int_distribution<int>(-2, 2)(rng)));
    std::string s, t;
    for (int k = 0; k < ls; ++k) {
      if (k > 0) s += ' ';
      s += word(kSrc, std::size(kSrc));
    }
    for (int k = 0; k < lt; ++k) {
      if (k > 0) t += ' ';
      t += word(kTgt, std::size(kTgt));
    }
    src.push_back(s);
    tgt.push_back(t);
  }
  return {src, tgt};
}

// Preprocess options for a whitespace-word corpus with generous filters.
inline PreprocessOptions WordOptions(const std::string& src, const std::string& tgt,
                                     const std::string& out) {
  PreprocessOptions o;
  o.src = src;
  o.tgt = tgt;
  o.out = out;
  o.data.tokenizer = "whitespace";
  o.data.max_len = 50;
  return o;
}

inline Manifest PreprocessAlone(const PreprocessOptions& o) {
  auto comm = MakeLocalComm();
  return Preprocess(o, *comm);
}

// Every stored pair by input line: (source ids, target ids), </s> included.
using CorpusContent =
    std::map<std::int64_t, std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>>>;

inline CorpusContent ReadContent(const Corpus& c) {
  CorpusContent content;
  for (int k = 0; k < c.num_shards(); ++k) {
    const ShardPairs p = c.Read(k, 0, c.shard(k).sentences());
    std::size_t s = 0, t = 0;
    for (std::size_t i = 0; i < p.line.size(); ++i) {
      const auto ls = static_cast<std::size_t>(p.src_len[i]);
      const auto lt = static_cast<std::size_t>(p.tgt_len[i]);
      content[p.line[i]] = {{p.src_ids.begin() + static_cast<std::ptrdiff_t>(s),
                             p.src_ids.begin() + static_cast<std::ptrdiff_t>(s + ls)},
                            {p.tgt_ids.begin() + static_cast<std::ptrdiff_t>(t),
                             p.tgt_ids.begin() + static_cast<std::ptrdiff_t>(t + lt)}};
      s += ls;
      t += lt;
    }
  }
  return content;
}

// Whether `text` contains `needle`, for readable assertions on messages.
inline bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace rnnsearch::testing
