// The typed configuration of a run: sections model, data, train,
// checkpoint and dist.
//
// Every field is declared once, below, with its type, default, allowed
// range or choices and a one-line description; the structs, the YAML
// reader and writer, --set and Validate are all generated from these
// lists, so a new field is one line here. Code below the entry point gets
// a `const Config&`, never strings.
//
// Precedence: defaults < --config FILE < --set section.key=value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rnnsearch {

// X-macro lists, one per section. Field kinds:
//   INT(name, default, min, max, "description")      -> std::int64_t
//   REAL(name, default, min, max, "description")     -> double (closed range)
//   BOOL(name, default, "description")               -> bool
//   STR(name, default, "description")                -> std::string
//   CHOICE(name, default, "a|b|c", "description")    -> std::string, one of the choices
// Keep names stable: scripts, configs and checkpoints rely on them.

#define RNNSEARCH_MODEL_FIELDS(INT, REAL, BOOL, STR, CHOICE)               \
  CHOICE(cell, "gru", "gru|lstm", "recurrent cell of encoder and decoder") \
  CHOICE(attention, "additive", "additive|general|dot",                    \
         "attention score (dot needs dec_dim = 2 * enc_dim)")              \
  INT(emb_dim, 256, 1, 65536, "embedding size E (source and target)")      \
  INT(enc_dim, 256, 1, 65536, "encoder hidden size He per direction")      \
  INT(dec_dim, 512, 1, 65536, "decoder hidden size Hd")                    \
  INT(att_dim, 512, 1, 65536, "attention size A")                          \
  INT(readout_dim, 512, 1, 65536, "readout size O")                        \
  INT(enc_layers, 1, 1, 16, "stacked bidirectional encoder layers")        \
  BOOL(tie_target_embeddings, false,                                       \
       "use the target embeddings as output weights (needs readout_dim = emb_dim)")

#define RNNSEARCH_DATA_FIELDS(INT, REAL, BOOL, STR, CHOICE)                                       \
  STR(train, "", "directory of training shards (from rnnsearch preprocess)")                      \
  STR(valid, "", "directory of validation shards (empty: no validation)")                         \
  INT(batch_tokens, 2000, 0, 100000000,                                                           \
      "target tokens per global batch, padding included (0: batch by sentences only)")            \
  INT(batch_sentences, 0, 0, 10000000, "sentences per global batch at most (0: no limit)")        \
  INT(max_len, 50, 1, 100000, "longest sentence kept, in subwords, source or target")             \
  INT(prefetch, 16, 1, 100000, "batches each rank reads ahead in a background thread")            \
  CHOICE(tokenizer, "sentencepiece", "sentencepiece|whitespace",                                  \
         "preprocess: SentencePiece subwords, or words split at whitespace (tokenized text)")     \
  CHOICE(spm_type, "unigram", "unigram|bpe",                                                      \
         "preprocess: type of a SentencePiece model it trains")                                   \
  BOOL(joint_vocab, true, "preprocess: one vocabulary for both sides (false: one per side)")      \
  INT(vocab_size, 8000, 8, 1000000,                                                               \
      "preprocess: ids per trained SentencePiece model, the 4 special ids included")              \
  INT(spm_sample, 2000000, 1, 1000000000, "preprocess: sentences sampled to train SentencePiece") \
  REAL(spm_character_coverage, 1.0, 0.98, 1.0,                                                    \
       "preprocess: share of the training characters a trained SentencePiece model covers; "      \
       "the rarest others become <unk> (1: every character seen)")                                \
  INT(min_count, 1, 1, 1000000000, "preprocess, whitespace: keep words seen at least this often") \
  INT(max_words, 0, 0, 100000000,                                                                 \
      "preprocess, whitespace: ids per vocabulary at most, specials included (0: no limit)")      \
  REAL(max_ratio, 9.0, 0.0, 1e9,                                                                  \
       "preprocess: drop pairs whose longer side has more than this times the subwords of the "   \
       "shorter (0: keep all)")                                                                   \
  INT(shard_sentences, 500000, 1, 1000000000, "preprocess: sentence pairs per shard at most")

#define RNNSEARCH_TRAIN_FIELDS(INT, REAL, BOOL, STR, CHOICE)                                      \
  CHOICE(optimizer, "adam", "adam|sgd", "optimizer")                                              \
  REAL(lr, 0.0005, 1e-12, 1000.0, "learning rate")                                                \
  REAL(adam_beta1, 0.9, 0.0, 0.999999, "Adam: decay rate of the mean of the gradients")           \
  REAL(adam_beta2, 0.999, 0.0, 0.999999999, "Adam: decay rate of the mean of squared gradients")  \
  CHOICE(lr_schedule, "constant", "constant|inverse_sqrt|plateau",                                \
         "constant; inverse_sqrt: lr * sqrt(warmup_steps / step) after the warm-up; plateau: "    \
         "lr times lr_decay after lr_patience validations without a new best, down to min_lr")    \
  INT(warmup_steps, 0, 0, 1000000000000,                                                          \
      "steps of linear warm-up from 0 to train.lr, any schedule (inverse_sqrt needs at least 1)") \
  REAL(lr_decay, 0.5, 1e-6, 1.0, "plateau: factor on the learning rate when validation stalls")   \
  INT(lr_patience, 3, 1, 1000000, "plateau: validations without improvement before a decay")      \
  REAL(min_lr, 1e-6, 0.0, 1000.0, "plateau: the learning rate is never decayed below this")       \
  INT(accumulate, 1, 1, 1000000,                                                                  \
      "batches whose summed gradients make one optimizer step (divided by their target tokens)")  \
  REAL(ema_decay, 0.0, 0.0, 0.999999999,                                                          \
       "decay of a moving average of the parameters, used for validation and saved (0: off)")     \
  INT(max_steps, 0, 0, 1000000000000, "stop after this many steps, skipped ones too (0: none)")   \
  INT(max_epochs, 10, 0, 1000000, "stop after this many epochs (0: no limit)")                    \
  INT(seed, 1234, 0, 4294967295, "seed of initialisation, shuffling and dropout")                 \
  REAL(clip_norm, 1.0, 0.0, 1e30, "clip the global gradient norm to this (0: no clipping)")       \
  REAL(label_smoothing, 0.0, 0.0, 0.999, "label smoothing eps of the cross-entropy")              \
  REAL(dropout, 0.2, 0.0, 0.95, "dropout probability on embeddings and readout")                  \
  INT(valid_every, 1000, 0, 1000000000000, "validate every N steps (0: never)")                   \
  CHOICE(early_stop_metric, "bleu", "bleu|perplexity|loss",                                       \
         "validation metric of early stopping, the plateau schedule and best.h5")                 \
  INT(patience, 10, 0, 1000000,                                                                   \
      "stop after this many validations in a row without a new best (0: never stop early)")       \
  REAL(max_time, 0.0, 0.0, 1e12, "stop after this many seconds of training (0: no limit)")        \
  INT(max_bad_steps, 10, 1, 1000000,                                                              \
      "stop with an error after this many steps in a row whose gradient norm is NaN or "          \
      "infinite (each such step is skipped)")                                                     \
  INT(log_every, 100, 1, 1000000000000, "progress line and metrics line every N steps")

#define RNNSEARCH_CHECKPOINT_FIELDS(INT, REAL, BOOL, STR, CHOICE)                             \
  INT(every, 1000, 0, 1000000000000, "write a checkpoint every N steps (0: only at the end)") \
  INT(keep, 3, 1, 1000000, "how many of the newest checkpoints to keep")

#define RNNSEARCH_DIST_FIELDS(INT, REAL, BOOL, STR, CHOICE)                                        \
  INT(threads_per_rank, 0, 0, 4096,                                                                \
      "compute threads per rank (0: the cores it is bound to, or this node's cores / its ranks)")  \
  CHOICE(overlap, "auto", "auto|true|false",                                                       \
         "true: all-reduce gradient buckets on a communication thread while the backward pass "    \
         "runs; false: one blocking allreduce after it; auto: true when the ranks span more "      \
         "than one node, false when they share one")                                               \
  BOOL(shared_memory, true,                                                                        \
       "blocking sync with every rank on one node: sum the gradients and keep the parameters "     \
       "and optimizer state in shared memory, a slice per rank (false: MPI_Allreduce)")            \
  REAL(bucket_mb, 25.0, 0.0, 1048576.0,                                                            \
       "overlap: size of a gradient bucket in MB (2^20 bytes; 0: one allreduce per tensor group)") \
  INT(comm_poll_us, 200, 0, 1000000,                                                               \
      "overlap: the communication thread tests its allreduce every N microseconds and sleeps "     \
      "in between (0: a blocking allreduce, which spins while it waits)")                          \
  CHOICE(                                                                                          \
      wire_dtype, "f32", "f32|bf16",                                                               \
      "gradients between ranks through MPI (not dist.shared_memory's sync): bf16 sends half the "  \
      "bytes, each summed element rounded to bf16's 8 significant bits (sums formed in f32; loss " \
      "and token totals stay exact); for slow links between nodes")                                \
  BOOL(sparse_embeddings, true,                                                                    \
       "MPI sync: all-reduce only the rows of src_embed and tgt_embed that the step's batches "    \
       "touch (the same sums as the whole tables; tgt_embed stays whole when tied to the output)") \
  INT(timeout, 30, 0, 86400,                                                                       \
      "end the job when a rank has not answered the heartbeats of the others (a thread with "      \
      "its own TCP sockets) for this many seconds: its node cut off or frozen (0: off)")

// All sections: X(section_name, FIELDS_MACRO, StructName).
#define RNNSEARCH_CONFIG_SECTIONS(X)                           \
  X(model, RNNSEARCH_MODEL_FIELDS, ModelConfig)                \
  X(data, RNNSEARCH_DATA_FIELDS, DataConfig)                   \
  X(train, RNNSEARCH_TRAIN_FIELDS, TrainConfig)                \
  X(checkpoint, RNNSEARCH_CHECKPOINT_FIELDS, CheckpointConfig) \
  X(dist, RNNSEARCH_DIST_FIELDS, DistConfig)

#define RNNSEARCH_DECL_INT(name, def, lo, hi, doc) std::int64_t name = def;
#define RNNSEARCH_DECL_REAL(name, def, lo, hi, doc) double name = def;
#define RNNSEARCH_DECL_BOOL(name, def, doc) bool name = def;
#define RNNSEARCH_DECL_STR(name, def, doc) std::string name = def;
#define RNNSEARCH_DECL_CHOICE(name, def, choices, doc) std::string name = def;
#define RNNSEARCH_DECL_SECTION(section, FIELDS, Struct)                                      \
  struct Struct {                                                                            \
    FIELDS(RNNSEARCH_DECL_INT, RNNSEARCH_DECL_REAL, RNNSEARCH_DECL_BOOL, RNNSEARCH_DECL_STR, \
           RNNSEARCH_DECL_CHOICE)                                                            \
    bool operator==(const Struct&) const = default;                                          \
  };
RNNSEARCH_CONFIG_SECTIONS(RNNSEARCH_DECL_SECTION)
#undef RNNSEARCH_DECL_SECTION
#undef RNNSEARCH_DECL_INT
#undef RNNSEARCH_DECL_REAL
#undef RNNSEARCH_DECL_BOOL
#undef RNNSEARCH_DECL_STR
#undef RNNSEARCH_DECL_CHOICE

struct Config {
  ModelConfig model;
  DataConfig data;
  TrainConfig train;
  CheckpointConfig checkpoint;
  DistConfig dist;
  bool operator==(const Config&) const = default;
};

// The CHOICE fields below the config. Config holds their values as the
// strings of the YAML; the code below it gets enums (declared after these
// helpers, one per CHOICE field that code acts on), each naming its values
// 0, 1, ... by a specialisation of ChoiceNames: the field's key and its
// choices in order (checked against the lists above when the program is
// compiled). The string becomes the enum where the Config is read into the
// options of that code (ChoiceValue). A copy of a choice read from a file
// (a checkpoint) is checked first (FindChoice, IsChoice), with an error
// naming the file.
template <class E>
struct ChoiceNames;

// The choices of CHOICE field `key` ("section.name") as the lists above
// write them ("gru|lstm"); "" when there is no such CHOICE field.
constexpr std::string_view ChoicesText(std::string_view key) {
  const std::size_t dot = key.find('.');
  if (dot == std::string_view::npos) return "";
  const std::string_view section = key.substr(0, dot), name = key.substr(dot + 1);
#define RNNSEARCH_NOT_CHOICE(...)
#define RNNSEARCH_CHOICE_TEXT(field, def, choices, doc) \
  if (name == #field) return choices;
#define RNNSEARCH_SECTION_CHOICES(sec, FIELDS, Struct)                                             \
  if (section == #sec) {                                                                           \
    FIELDS(RNNSEARCH_NOT_CHOICE, RNNSEARCH_NOT_CHOICE, RNNSEARCH_NOT_CHOICE, RNNSEARCH_NOT_CHOICE, \
           RNNSEARCH_CHOICE_TEXT)                                                                  \
  }
  RNNSEARCH_CONFIG_SECTIONS(RNNSEARCH_SECTION_CHOICES)
#undef RNNSEARCH_SECTION_CHOICES
#undef RNNSEARCH_CHOICE_TEXT
#undef RNNSEARCH_NOT_CHOICE
  return "";
}

// True if `value` is one of `choices` ("a|b|c").
constexpr bool IsChoice(std::string_view choices, std::string_view value) {
  for (;;) {
    const std::size_t bar = choices.find('|');
    if (choices.substr(0, bar) == value) return true;
    if (bar == std::string_view::npos) return false;
    choices.remove_prefix(bar + 1);
  }
}

// True if `choices` ("a|b|c") lists exactly `names`, in that order.
template <std::size_t N>
constexpr bool ListsChoices(std::string_view choices,
                            const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t bar = choices.find('|');
    if (choices.substr(0, bar) != names[i]) return false;
    if (bar == std::string_view::npos) return i + 1 == N;
    choices.remove_prefix(bar + 1);
  }
  return false;
}

// ChoiceNames<E>::names, checked against the field's choices.
template <class E>
constexpr const auto& CheckedChoiceNames() {
  static_assert(ListsChoices(ChoicesText(ChoiceNames<E>::key), ChoiceNames<E>::names),
                "ChoiceNames<E>::names must be the choices of its config field, in order");
  return ChoiceNames<E>::names;
}

// The value of E named `name`, or nullopt if no value has that name.
template <class E>
constexpr std::optional<E> FindChoice(std::string_view name) {
  const auto& names = CheckedChoiceNames<E>();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

// The name of `value`, as the YAML and the checkpoints spell it.
template <class E>
constexpr std::string_view ChoiceName(E value) {
  return CheckedChoiceNames<E>()[static_cast<std::size_t>(value)];
}

// Throws std::invalid_argument "KEY: expected a|b|c, found 'VALUE'".
[[noreturn]] void ThrowNotAChoice(std::string_view key, std::string_view value);

// The value of E named `name`, a value of a Config that passed Validate;
// any other name is a programming error (ThrowNotAChoice).
template <class E>
E ChoiceValue(std::string_view name) {
  if (const std::optional<E> value = FindChoice<E>(name)) return *value;
  ThrowNotAChoice(ChoiceNames<E>::key, name);
}

// The enums of the CHOICE fields, their values in the order of the
// field's choices, and their names (data.spm_type has none: SentencePiece
// takes it as text).
enum class RecurrentCell { kGru, kLstm };                       // model.cell
enum class AttentionScore { kAdditive, kGeneral, kDot };        // model.attention
enum class Tokenizer { kSentencePiece, kWhitespace };           // data.tokenizer
enum class OptimizerKind { kAdam, kSgd };                       // train.optimizer
enum class ScheduleKind { kConstant, kInverseSqrt, kPlateau };  // train.lr_schedule
enum class EarlyStopMetric { kBleu, kPerplexity, kLoss };       // train.early_stop_metric
enum class OverlapMode { kAuto, kOn, kOff };                    // dist.overlap
enum class WireDtype { kF32, kBf16 };                           // dist.wire_dtype

template <>
struct ChoiceNames<RecurrentCell> {
  static constexpr std::string_view key = "model.cell";
  static constexpr std::array<std::string_view, 2> names = {"gru", "lstm"};
};
template <>
struct ChoiceNames<AttentionScore> {
  static constexpr std::string_view key = "model.attention";
  static constexpr std::array<std::string_view, 3> names = {"additive", "general", "dot"};
};
template <>
struct ChoiceNames<Tokenizer> {
  static constexpr std::string_view key = "data.tokenizer";
  static constexpr std::array<std::string_view, 2> names = {"sentencepiece", "whitespace"};
};
template <>
struct ChoiceNames<OptimizerKind> {
  static constexpr std::string_view key = "train.optimizer";
  static constexpr std::array<std::string_view, 2> names = {"adam", "sgd"};
};
template <>
struct ChoiceNames<ScheduleKind> {
  static constexpr std::string_view key = "train.lr_schedule";
  static constexpr std::array<std::string_view, 3> names = {"constant", "inverse_sqrt", "plateau"};
};
template <>
struct ChoiceNames<EarlyStopMetric> {
  static constexpr std::string_view key = "train.early_stop_metric";
  static constexpr std::array<std::string_view, 3> names = {"bleu", "perplexity", "loss"};
};
template <>
struct ChoiceNames<OverlapMode> {
  static constexpr std::string_view key = "dist.overlap";
  static constexpr std::array<std::string_view, 3> names = {"auto", "true", "false"};
};
template <>
struct ChoiceNames<WireDtype> {
  static constexpr std::string_view key = "dist.wire_dtype";
  static constexpr std::array<std::string_view, 2> names = {"f32", "bf16"};
};

// Where each key's value came from ("FILE:LINE:COL", "--set"); keys left at
// their default are absent. Error messages use it to point at the source.
using ConfigOrigins = std::map<std::string, std::string>;

// Description of one field, for help texts and tools.
struct ConfigFieldInfo {
  std::string key;           // "section.name"
  std::string type;          // "integer", "number", "boolean", "string", or "a|b|c"
  std::string default_text;  // as written in YAML
  std::string description;
};
const std::vector<ConfigFieldInfo>& ConfigFields();

// Reads FILE into `config` (on top of what it holds), recording origins.
// Throws ConfigError naming the file, line and key: malformed YAML, a key
// that does not exist (with the closest known key), a value of the wrong
// type. Ranges are checked by Validate.
void MergeConfigFile(const std::string& path, Config& config, ConfigOrigins& origins);

// Applies one "section.key=value" override. Throws ConfigError (unknown
// key, wrong type) or UsageError (not of the form section.key=value).
void ApplyConfigOverride(const std::string& assignment, Config& config, ConfigOrigins& origins);

// Checks every value's range and the rules between fields; throws
// ConfigError naming the key, its origin, what was expected and found.
void Validate(const Config& config, const ConfigOrigins& origins = {});

// defaults < file (if not empty) < overrides, then Validate.
Config LoadConfig(const std::string& file, const std::vector<std::string>& overrides);

// Parses YAML text (as written by ConfigToYaml) on top of the defaults and
// validates it; `name` stands for the file in messages.
Config ConfigFromYamlText(const std::string& text, const std::string& name);

// The config as commented YAML that MergeConfigFile reads back unchanged.
std::string ConfigToYaml(const Config& config);

// Sections and keys known, for suggestions ("did you mean ...?").
std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace rnnsearch
