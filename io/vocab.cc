#include "io/vocab.h"

#include <sentencepiece_processor.h>

#include <functional>
#include <unordered_map>

#include "common/error.h"
#include "io/checksum.h"

namespace rnnsearch {
namespace {

const char* const kSpecialNames[Vocab::kNumSpecial] = {"<pad>", "<unk>", "<s>", "</s>"};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct Vocab::Impl {
  Kind kind = Kind::kWords;
  std::string bytes;
  std::uint64_t hash = 0;
  // kSentencePiece
  sentencepiece::SentencePieceProcessor spm;
  // kWords
  std::vector<std::string> words;  // by id, specials first
  std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>> ids;
};

Vocab::Vocab() : impl_(std::make_shared<Impl>()) {}
Vocab::Vocab(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Vocab Vocab::FromSentencePiece(std::string model_bytes, const std::string& origin) {
  auto impl = std::make_shared<Impl>();
  impl->kind = Kind::kSentencePiece;
  const auto status = impl->spm.LoadFromSerializedProto(model_bytes);
  if (!status.ok()) {
    throw UserError(origin + ": expected a SentencePiece model, found bytes it cannot load (" +
                    status.ToString() + ")");
  }
  const auto& sp = impl->spm;
  if (sp.pad_id() != kPad || sp.unk_id() != kUnk || sp.bos_id() != kBos || sp.eos_id() != kEos) {
    throw UserError(origin + ": expected the SentencePiece special ids pad 0, unk 1, bos 2, " +
                    "eos 3, found pad " + std::to_string(sp.pad_id()) + ", unk " +
                    std::to_string(sp.unk_id()) + ", bos " + std::to_string(sp.bos_id()) +
                    ", eos " + std::to_string(sp.eos_id()) +
                    " (train it with --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3, or let "
                    "rnnsearch preprocess train it)");
  }
  impl->bytes = std::move(model_bytes);
  impl->hash = Fnv1a64("sentencepiece\n" + impl->bytes);
  return Vocab(std::move(impl));
}

Vocab Vocab::FromWords(const std::vector<std::string>& words, const std::string& origin) {
  auto impl = std::make_shared<Impl>();
  impl->kind = Kind::kWords;
  impl->words.assign(kSpecialNames, kSpecialNames + kNumSpecial);
  impl->words.insert(impl->words.end(), words.begin(), words.end());
  for (std::size_t id = 0; id < impl->words.size(); ++id) {
    const std::string& w = impl->words[id];
    const std::string where = origin + ": word " + std::to_string(id);
    if (w.empty()) throw UserError(where + ": expected a word, found an empty string");
    for (char c : w) {
      if (IsSpace(c)) throw UserError(where + ": expected no whitespace, found '" + w + "'");
    }
    if (!impl->ids.emplace(w, static_cast<std::int32_t>(id)).second) {
      throw UserError(
          where + ": '" + w + "' appears twice" +
          (id >= kNumSpecial && impl->ids.at(w) < kNumSpecial ? " (it is a special name)" : ""));
    }
    impl->bytes += w;
    impl->bytes += '\n';
  }
  impl->hash = Fnv1a64("words\n" + impl->bytes);
  return Vocab(std::move(impl));
}

Vocab Vocab::Deserialize(const std::string& kind_name, std::string bytes,
                         const std::string& origin) {
  if (kind_name == "sentencepiece") return FromSentencePiece(std::move(bytes), origin);
  if (kind_name != "words") {
    throw UserError(origin + ": expected vocabulary kind 'sentencepiece' or 'words', found '" +
                    kind_name + "'");
  }
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < bytes.size()) {
    const std::size_t nl = bytes.find('\n', start);
    const std::size_t end = nl == std::string::npos ? bytes.size() : nl;
    words.emplace_back(bytes, start, end - start);
    start = end + 1;
  }
  for (int k = 0; k < kNumSpecial; ++k) {
    if (static_cast<int>(words.size()) <= k ||
        words[static_cast<std::size_t>(k)] != kSpecialNames[k]) {
      throw UserError(origin + ": expected word " + std::to_string(k) + " to be " +
                      kSpecialNames[k] + ", found " +
                      (static_cast<int>(words.size()) <= k
                           ? std::string("the end")
                           : "'" + words[static_cast<std::size_t>(k)] + "'"));
    }
  }
  words.erase(words.begin(), words.begin() + kNumSpecial);
  return FromWords(words, origin);
}

Vocab::Kind Vocab::kind() const { return impl_->kind; }
std::string Vocab::kind_name() const {
  return impl_->kind == Kind::kSentencePiece ? "sentencepiece" : "words";
}
std::int32_t Vocab::size() const {
  return impl_->kind == Kind::kSentencePiece ? impl_->spm.GetPieceSize()
                                             : static_cast<std::int32_t>(impl_->words.size());
}
const std::string& Vocab::bytes() const { return impl_->bytes; }
std::uint64_t Vocab::hash() const { return impl_->hash; }
std::string Vocab::hash_hex() const { return Hex64(impl_->hash); }

std::string Vocab::Piece(std::int32_t id) const {
  if (id < 0 || id >= size()) return kSpecialNames[kUnk];
  if (impl_->kind == Kind::kSentencePiece) return impl_->spm.IdToPiece(id);
  return impl_->words[static_cast<std::size_t>(id)];
}

void Vocab::Encode(std::string_view text, std::vector<std::int32_t>* ids) const {
  if (impl_->kind == Kind::kSentencePiece) {
    std::vector<int> out;
    const auto status = impl_->spm.Encode(text, &out);
    if (!status.ok()) throw UserError("SentencePiece cannot encode: " + status.ToString());
    ids->insert(ids->end(), out.begin(), out.end());
    return;
  }
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    while (i < n && IsSpace(text[i])) ++i;
    const std::size_t start = i;
    while (i < n && !IsSpace(text[i])) ++i;
    if (i == start) break;
    const auto it = impl_->ids.find(text.substr(start, i - start));
    ids->push_back(it == impl_->ids.end() || it->second == kPad || it->second == kBos ||
                           it->second == kEos
                       ? kUnk
                       : it->second);
  }
}

std::vector<std::int32_t> Vocab::Encode(std::string_view text) const {
  std::vector<std::int32_t> ids;
  Encode(text, &ids);
  return ids;
}

std::string Vocab::Decode(std::span<const std::int32_t> ids) const {
  const std::int32_t n = size();
  std::vector<int> kept;
  for (std::int32_t id : ids) {
    if (id == kEos) break;
    if (id == kPad || id == kBos) continue;
    kept.push_back(id < 0 || id >= n ? kUnk : id);
  }
  if (impl_->kind == Kind::kSentencePiece) {
    std::string text;
    const auto status = impl_->spm.Decode(kept, &text);
    if (!status.ok()) throw UserError("SentencePiece cannot decode: " + status.ToString());
    return text;
  }
  std::string text;
  for (std::size_t k = 0; k < kept.size(); ++k) {
    if (k > 0) text += ' ';
    text += impl_->words[static_cast<std::size_t>(kept[k])];
  }
  return text;
}

bool Vocab::operator==(const Vocab& other) const {
  return impl_->kind == other.impl_->kind && impl_->bytes == other.impl_->bytes;
}

}  // namespace rnnsearch
