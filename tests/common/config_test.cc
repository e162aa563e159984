// The typed config: precedence, every error case with its message, and the
// YAML round trip.
#include "common/config.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/error.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rnnsearch_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  // The message of the ConfigError that loading throws (fails if none).
  std::string LoadError(const std::string& file, const std::vector<std::string>& sets = {}) {
    try {
      LoadConfig(file, sets);
    } catch (const UserError& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected an error for " << file;
    return "";
  }

  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsAreValidAndDocumented) {
  const Config c = LoadConfig("", {});
  EXPECT_EQ(c.model.cell, "gru");
  EXPECT_EQ(c.model.emb_dim, 256);
  EXPECT_EQ(c.train.optimizer, "adam");
  EXPECT_EQ(c.dist.threads_per_rank, 0);
  for (const ConfigFieldInfo& f : ConfigFields()) {
    EXPECT_FALSE(f.description.empty()) << f.key;
    EXPECT_FALSE(f.type.empty()) << f.key;
  }
}

TEST_F(ConfigTest, PrecedenceDefaultThenFileThenSet) {
  const std::string file = Write("c.yaml",
                                 "model:\n  emb_dim: 64\n  enc_dim: 32\n"
                                 "train:\n  lr: 0.01\n  optimizer: sgd\n");
  const Config c = LoadConfig(file, {"model.enc_dim=48", "train.lr=0.5", "data.train=/x y"});
  EXPECT_EQ(c.model.emb_dim, 64);       // file over default
  EXPECT_EQ(c.model.enc_dim, 48);       // --set over file
  EXPECT_EQ(c.model.dec_dim, 512);      // default kept
  EXPECT_DOUBLE_EQ(c.train.lr, 0.5);    // --set over file
  EXPECT_EQ(c.train.optimizer, "sgd");  // file
  EXPECT_EQ(c.data.train, "/x y");      // --set over default
  // The last --set of a key wins.
  EXPECT_EQ(LoadConfig(file, {"model.enc_dim=48", "model.enc_dim=40"}).model.enc_dim, 40);
}

TEST_F(ConfigTest, UnknownKeySuggestsClosest) {
  const std::string file = Write("k.yaml", "model:\n  emb_dim: 64\n  emd_dim: 32\n");
  const std::string msg = LoadError(file);
  EXPECT_NE(msg.find(file + ":3:3: unknown key 'model.emd_dim'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'model.emb_dim'?"), std::string::npos) << msg;
}

TEST_F(ConfigTest, KeyInWrongSectionSuggestsTheRightOne) {
  const std::string file = Write("w.yaml", "model:\n  lr: 0.1\n");
  const std::string msg = LoadError(file);
  EXPECT_NE(msg.find("unknown key 'model.lr' (did you mean 'train.lr'?)"), std::string::npos)
      << msg;
}

TEST_F(ConfigTest, UnknownSectionSuggestsClosest) {
  const std::string file = Write("s.yaml", "modle:\n  emb_dim: 64\n");
  const std::string msg = LoadError(file);
  EXPECT_NE(msg.find(file + ":1:1: unknown section 'modle' (did you mean 'model'?)"),
            std::string::npos)
      << msg;
}

TEST_F(ConfigTest, WrongTypeNamesLineKeyExpectedAndFound) {
  const std::string file = Write("t.yaml", "train:\n  seed: 1\n  lr: fast\n");
  const std::string msg = LoadError(file);
  EXPECT_NE(msg.find(file + ":3:7: train.lr: expected a number, found 'fast'"), std::string::npos)
      << msg;
  const std::string file2 = Write("t2.yaml", "model:\n  emb_dim: [1, 2]\n");
  const std::string msg2 = LoadError(file2);
  EXPECT_NE(msg2.find(file2 + ":2:12: model.emb_dim: expected an integer, found a list"),
            std::string::npos)
      << msg2;
  const std::string file3 = Write("t3.yaml", "model:\n  tie_target_embeddings: maybe\n");
  EXPECT_NE(LoadError(file3).find("model.tie_target_embeddings: expected true or false, found "
                                  "'maybe'"),
            std::string::npos);
  EXPECT_NE(LoadError(Write("t4.yaml", "model:\n  emb_dim: 2.5\n"))
                .find("model.emb_dim: expected an integer, found '2.5'"),
            std::string::npos);
}

TEST_F(ConfigTest, OutOfRangeNamesKeyRangeAndValue) {
  const std::string file = Write("r.yaml", "model:\n  emb_dim: -5\n");
  const std::string msg = LoadError(file);
  EXPECT_NE(msg.find(file + ":2:12: model.emb_dim: expected an integer in [1, 65536], found -5"),
            std::string::npos)
      << msg;
  const std::string msg2 = LoadError("", {"train.dropout=1.5"});
  EXPECT_NE(msg2.find("--set train.dropout=1.5: train.dropout: expected a number in [0, 0.95], "
                      "found 1.5"),
            std::string::npos)
      << msg2;
  // Numbers no value of the type can hold are out of range too, not malformed.
  const std::string msg4 = LoadError("", {"model.emb_dim=99999999999999999999"});
  EXPECT_NE(msg4.find("--set model.emb_dim=99999999999999999999: model.emb_dim: expected an "
                      "integer in [1, 65536], found 99999999999999999999 (out of range)"),
            std::string::npos)
      << msg4;
  const std::string file5 = Write("r5.yaml", "train:\n  lr: 1e999\n");
  const std::string msg5 = LoadError(file5);
  EXPECT_NE(msg5.find(file5 + ":2:7: train.lr: expected a number in [1e-12, 1000], found 1e999 "
                              "(out of range)"),
            std::string::npos)
      << msg5;
  // A bound is printed as the shortest text that reads back as it, so the
  // message never shows the bound a value just missed as the value itself.
  const std::string msg6 = LoadError("", {"train.adam_beta2=1"});
  EXPECT_NE(msg6.find("train.adam_beta2: expected a number in [0, 0.999999999], found 1.0"),
            std::string::npos)
      << msg6;
  for (const ConfigFieldInfo& f : ConfigFields()) {
    if (f.key == "dist.bucket_mb") {
      EXPECT_EQ(f.type, "number 0..1048576");
    }
  }
  const std::string msg3 = LoadError("", {"model.cell=rnn"});
  EXPECT_NE(msg3.find("model.cell: expected one of gru, lstm, found 'rnn'"), std::string::npos)
      << msg3;
}

// dist.overlap was a boolean (default true) before it took auto (the
// default now): configs and checkpoints written then still load.
TEST_F(ConfigTest, OverlapTakesAutoAndTheFormerBooleans) {
  EXPECT_EQ(LoadConfig("", {}).dist.overlap, "auto");
  EXPECT_EQ(LoadConfig(Write("t.yaml", "dist:\n  overlap: true\n"), {}).dist.overlap, "true");
  EXPECT_EQ(ConfigFromYamlText("dist:\n  overlap: false\n", "old").dist.overlap, "false");
  EXPECT_NE(LoadError(Write("y.yaml", "dist:\n  overlap: yes\n"))
                .find("dist.overlap: expected one of auto, true, false, found 'yes'"),
            std::string::npos);
}

TEST_F(ConfigTest, RulesBetweenFields) {
  EXPECT_NE(LoadError("", {"model.attention=dot", "model.enc_dim=128"})
                .find("'dot' needs model.dec_dim = 2 * model.enc_dim, found dec_dim 512 and "
                      "enc_dim 128"),
            std::string::npos);
  EXPECT_NO_THROW(LoadConfig("", {"model.attention=dot", "model.enc_dim=256"}));
  EXPECT_NE(LoadError("", {"model.tie_target_embeddings=true"})
                .find("needs model.readout_dim = model.emb_dim, found readout_dim 512 and emb_dim "
                      "256"),
            std::string::npos);
  EXPECT_NE(LoadError("", {"data.batch_tokens=10"}).find("expected at least data.max_len + 1 = 51"),
            std::string::npos);
  EXPECT_NE(LoadError("", {"data.batch_tokens=0"}).find("found both 0"), std::string::npos);
}

TEST_F(ConfigTest, MalformedYamlNamesLine) {
  const std::string file = Write("m.yaml", "model:\n  emb_dim: 64\n\tenc_dim: 32\n");
  const std::string msg = LoadError(file);
  EXPECT_NE(msg.find(file + ":3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed YAML"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tab"), std::string::npos) << msg;
  const std::string file2 = Write("m2.yaml", "model: [emb_dim: 64\n");
  EXPECT_NE(LoadError(file2).find("malformed YAML"), std::string::npos);
  const std::string file3 = Write("m3.yaml", "- model\n- data\n");
  EXPECT_NE(LoadError(file3).find("expected a map of sections"), std::string::npos);
}

// Found by tests/fuzz/config_fuzz: a key that is a list or a map threw
// yaml-cpp's bad conversion instead of a ConfigError.
TEST_F(ConfigTest, KeyThatIsNotAScalarIsAnError) {
  const std::string file = Write("k.yaml", "model:\n  ? [emb_dim]\n  : 64\n");
  EXPECT_NE(LoadError(file).find(file + ":2:5: expected a key name, found a list as a key"),
            std::string::npos)
      << LoadError(file);
  const std::string file2 = Write("k2.yaml", "{model: 1}: {}\n");
  EXPECT_NE(LoadError(file2).find("expected a section name, found a map as a key"),
            std::string::npos)
      << LoadError(file2);
}

// Found by tests/fuzz/config_fuzz: a string that is not UTF-8 was
// accepted, but ConfigToYaml (a checkpoint's /config) wrote another one.
TEST_F(ConfigTest, StringThatIsNotUtf8IsAnError) {
  const std::string file = Write("u.yaml", "data:\n  train: data/\x8c\x8d\n");
  EXPECT_NE(LoadError(file).find(file + ":2:10: data.train: expected UTF-8 text, found the byte "
                                        "0x8c at offset 5"),
            std::string::npos)
      << LoadError(file);
  EXPECT_NE(LoadError("", {"data.valid=\xff"})
                .find("--set data.valid=\xff: data.valid: "
                      "expected UTF-8 text"),
            std::string::npos);
  EXPECT_EQ(LoadConfig("", {"data.train=d\xc3\xa9j\xc3\xa0"}).data.train, "d\xc3\xa9j\xc3\xa0");
}

TEST_F(ConfigTest, DuplicateKeyIsAnError) {
  const std::string file = Write("d.yaml", "model:\n  emb_dim: 64\n  emb_dim: 32\n");
  const std::string msg = LoadError(file);
  EXPECT_NE(msg.find(file + ":3:3: key 'model.emb_dim' appears twice"), std::string::npos) << msg;
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  const std::string msg = LoadError((dir_ / "nope.yaml").string());
  EXPECT_NE(msg.find("cannot read config file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nope.yaml"), std::string::npos) << msg;
}

// An ifstream opens a directory and reads nothing: that was a config of
// defaults only.
TEST_F(ConfigTest, DirectoryIsRefusedNamingIt) {
  EXPECT_EQ(LoadError(dir_.string()),
            "config file '" + dir_.string() + "' is a directory, not a file");
}

TEST_F(ConfigTest, BadSetSyntax) {
  try {
    LoadConfig("", {"emb_dim=3"});
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("expected section.key=value"), std::string::npos);
  }
  EXPECT_NE(LoadError("", {"model.nope=3"}).find("--set model.nope=3: unknown key 'model.nope'"),
            std::string::npos);
}

TEST_F(ConfigTest, YamlRoundTripIsExact) {
  const Config c = LoadConfig(
      "", {"model.cell=lstm", "train.lr=0.000123456789",
           "data.train=/data/with \"quotes\" and # hash", "model.tie_target_embeddings=true",
           "model.readout_dim=256", "train.seed=4294967295", "train.label_smoothing=0.1"});
  const std::string yaml = ConfigToYaml(c);
  const std::string file = Write("rt.yaml", yaml);
  const Config back = LoadConfig(file, {});
  EXPECT_TRUE(back == c);
  EXPECT_EQ(ConfigToYaml(back), yaml);
  EXPECT_EQ(back.data.train, "/data/with \"quotes\" and # hash");
  EXPECT_DOUBLE_EQ(back.train.lr, 0.000123456789);
}

TEST_F(ConfigTest, ExampleConfigLoads) {
  const Config c = LoadConfig(std::string(RNNSEARCH_SOURCE_DIR) + "/configs/example.yaml", {});
  EXPECT_EQ(ConfigToYaml(LoadConfig(Write("ex.yaml", ConfigToYaml(c)), {})), ConfigToYaml(c));
}

TEST_F(ConfigTest, EmptyFileAndEmptySectionKeepDefaults) {
  EXPECT_TRUE(LoadConfig(Write("e.yaml", ""), {}) == Config());
  EXPECT_TRUE(LoadConfig(Write("e2.yaml", "model:\n# nothing yet\n"), {}) == Config());
}

TEST(ConfigChoices, ChoicesTextIsEachFieldsList) {
  EXPECT_EQ(ChoicesText("model.cell"), "gru|lstm");
  EXPECT_EQ(ChoicesText("dist.overlap"), "auto|true|false");
  EXPECT_EQ(ChoicesText("dist.wire_dtype"), "f32|bf16");
  EXPECT_EQ(ChoicesText("model.emb_dim"), "");  // not a CHOICE field
  EXPECT_EQ(ChoicesText("train.cell"), "");
  EXPECT_EQ(ChoicesText("cell"), "");
  int choice_fields = 0;
  for (const ConfigFieldInfo& f : ConfigFields()) {
    const bool choice = f.type.find('|') != std::string::npos;
    EXPECT_EQ(ChoicesText(f.key), choice ? f.type : "") << f.key;
    choice_fields += choice ? 1 : 0;
  }
  EXPECT_EQ(choice_fields, 9);
}

TEST(ConfigChoices, IsChoiceAndListsChoices) {
  EXPECT_TRUE(IsChoice("a|bb|c", "a"));
  EXPECT_TRUE(IsChoice("a|bb|c", "bb"));
  EXPECT_TRUE(IsChoice("a|bb|c", "c"));
  EXPECT_FALSE(IsChoice("a|bb|c", "b"));
  EXPECT_FALSE(IsChoice("a|bb|c", ""));
  EXPECT_FALSE(IsChoice("a|bb|c", "a|bb"));
  using Names = std::array<std::string_view, 2>;
  EXPECT_TRUE(ListsChoices("a|b", Names{"a", "b"}));
  EXPECT_FALSE(ListsChoices("b|a", Names{"a", "b"}));    // another order
  EXPECT_FALSE(ListsChoices("a", Names{"a", "b"}));      // fewer choices
  EXPECT_FALSE(ListsChoices("a|b|c", Names{"a", "b"}));  // more choices
  EXPECT_FALSE(ListsChoices("a|bc", Names{"a", "b"}));
}

// Every name of E is found as the value of its position, and names it.
template <class E>
void ExpectNamesRoundTrip() {
  const auto& names = ChoiceNames<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(FindChoice<E>(names[i]), static_cast<E>(i)) << names[i];
    EXPECT_EQ(ChoiceName(static_cast<E>(i)), names[i]);
  }
}

TEST(ConfigChoices, EnumOfAChoiceField) {
  EXPECT_EQ(FindChoice<RecurrentCell>("gru"), RecurrentCell::kGru);
  EXPECT_EQ(FindChoice<RecurrentCell>("lstm"), RecurrentCell::kLstm);
  EXPECT_EQ(FindChoice<RecurrentCell>("LSTM"), std::nullopt);
  EXPECT_EQ(FindChoice<RecurrentCell>(""), std::nullopt);
  EXPECT_EQ(ChoiceName(RecurrentCell::kGru), "gru");
  EXPECT_EQ(ChoiceName(RecurrentCell::kLstm), "lstm");
  EXPECT_EQ(ChoiceValue<RecurrentCell>(Config{}.model.cell), RecurrentCell::kGru);
  EXPECT_EQ(ChoiceName(OverlapMode::kOn), "true");
  EXPECT_EQ(ChoiceValue<OverlapMode>(Config{}.dist.overlap), OverlapMode::kAuto);
  ExpectNamesRoundTrip<RecurrentCell>();
  ExpectNamesRoundTrip<AttentionScore>();
  ExpectNamesRoundTrip<Tokenizer>();
  ExpectNamesRoundTrip<OptimizerKind>();
  ExpectNamesRoundTrip<ScheduleKind>();
  ExpectNamesRoundTrip<EarlyStopMetric>();
  ExpectNamesRoundTrip<OverlapMode>();
  ExpectNamesRoundTrip<WireDtype>();
  try {
    ChoiceValue<RecurrentCell>("rnn");
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "model.cell: expected gru|lstm, found 'rnn'");
  }
}

}  // namespace
}  // namespace rnnsearch
