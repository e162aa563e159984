// A vocabulary: text <-> token ids, either a SentencePiece model or a list
// of whitespace-separated words.
//
// Ids follow docs/model.md: <pad>=0, <unk>=1, <s>=2, </s>=3; real pieces follow.
// Encode never emits <pad>, <s> or </s> (callers append </s>); unknown
// text becomes <unk>. A Vocab is cheap to copy (shared, immutable) and safe
// to use from several threads.
//
// The serialized form (kind name + bytes) is what the corpus manifest and a
// checkpoint store: for "sentencepiece" the bytes of the .model file, for
// "words" one piece per line, the four specials first. hash() (FNV-1a 64 of
// kind and bytes) tells vocabularies apart.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rnnsearch {

class Vocab {
 public:
  enum class Kind { kSentencePiece, kWords };
  static constexpr std::int32_t kPad = 0, kUnk = 1, kBos = 2, kEos = 3;
  static constexpr int kNumSpecial = 4;

  // An empty vocabulary (size 0); only assignable.
  Vocab();

  // A SentencePiece model from the bytes of a .model file. Throws UserError
  // naming `origin` if the bytes are not a model or its special ids are not
  // pad 0, unk 1, bos 2, eos 3.
  static Vocab FromSentencePiece(std::string model_bytes, const std::string& origin);
  // Words get ids 4, 5, ... in the given order. Throws UserError naming
  // `origin` on an empty word, one containing whitespace, a duplicate, or
  // one of the special names.
  static Vocab FromWords(const std::vector<std::string>& words, const std::string& origin);
  // From kind_name() and bytes() of a saved vocabulary.
  static Vocab Deserialize(const std::string& kind_name, std::string bytes,
                           const std::string& origin);

  Kind kind() const;
  std::string kind_name() const;  // "sentencepiece" or "words"
  std::int32_t size() const;      // ids, the specials included
  const std::string& bytes() const;
  std::uint64_t hash() const;
  std::string hash_hex() const;  // 16 hex digits

  // The piece of `id` ("<unk>" for ids out of range).
  std::string Piece(std::int32_t id) const;

  // Appends the ids of `text` (no </s>) to *ids.
  void Encode(std::string_view text, std::vector<std::int32_t>* ids) const;
  std::vector<std::int32_t> Encode(std::string_view text) const;

  // Text of `ids` up to the first </s>; <pad> and <s> are skipped, ids out
  // of range read as <unk>.
  std::string Decode(std::span<const std::int32_t> ids) const;

  bool operator==(const Vocab& other) const;

 private:
  struct Impl;
  explicit Vocab(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace rnnsearch
