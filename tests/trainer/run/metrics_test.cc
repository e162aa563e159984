// Progress lines and the JSON-lines metrics file: exact formatting, the
// time-left estimate, appending, and the cut of stale lines on resume.
#include "trainer/run/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace rnnsearch {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(JsonLine, FieldsInOrderWithShortestNumbersAndEscapes) {
  JsonLine j;
  j.AddString("kind", "valid")
      .AddInt("step", 1200)
      .AddReal("lr", 0.0005)
      .AddReal("tiny", 1e-6)
      .AddReal("third", 1.0 / 3)
      .AddReal("whole", 2.0)
      .AddReal("nan", std::nan(""))
      .AddReal("inf", INFINITY)
      .AddBool("best", true)
      .AddString("text", "a \"q\" \\ b\nc\x01 \xc3\xa4");
  EXPECT_EQ(j.str(),
            "{\"kind\":\"valid\",\"step\":1200,\"lr\":0.0005,\"tiny\":1e-06,"
            "\"third\":0.3333333333333333,\"whole\":2,\"nan\":null,\"inf\":null,"
            "\"best\":true,\"text\":\"a \\\"q\\\" \\\\ b\\nc\\u0001 \xc3\xa4\"}");
  EXPECT_EQ(JsonLine().str(), "{}");
}

TEST(JsonLine, RoundTripsThroughAParser) {
  // Quotes, a backslash, control characters, non-ASCII UTF-8 and a byte
  // that is no UTF-8 (written as U+FFFD).
  const std::string text =
      "say \"hi\" \\ to\n\tr\x01\x1f\x7f \xc3\xa4 \xe6\x97\xa5 \xf0\x9f\x98\x80";
  JsonLine j;
  j.AddString("kind", "valid")
      .AddInt("step", 1200)
      .AddReal("loss", std::nan(""))
      .AddReal("ppl", -INFINITY)
      .AddReal("bleu", 27.125)
      .AddReal("whole", 3.0)
      .AddReal("neg_zero", -0.0)
      .AddReal("big", 1e300)
      .AddInt("min", INT64_MIN)
      .AddBool("best", false)
      .AddString("metric", text)
      .AddString("bad", "a\xff b");
  const std::string line = j.str();
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  const nlohmann::ordered_json v = nlohmann::ordered_json::parse(line);
  std::vector<std::string> keys;
  for (const auto& [key, value] : v.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"kind", "step", "loss", "ppl", "bleu", "whole",
                                            "neg_zero", "big", "min", "best", "metric", "bad"}));
  EXPECT_EQ(v.at("kind"), "valid");
  EXPECT_TRUE(v.at("step").is_number_integer());
  EXPECT_EQ(v.at("step").get<std::int64_t>(), 1200);
  EXPECT_TRUE(v.at("loss").is_null());
  EXPECT_TRUE(v.at("ppl").is_null());
  EXPECT_EQ(v.at("bleu").get<double>(), 27.125);
  EXPECT_TRUE(v.at("whole").is_number_integer()) << line;
  EXPECT_EQ(v.at("whole").get<double>(), 3.0);
  EXPECT_TRUE(v.at("neg_zero").is_number_float()) << line;
  EXPECT_TRUE(std::signbit(v.at("neg_zero").get<double>()));
  EXPECT_EQ(v.at("big").get<double>(), 1e300);
  EXPECT_EQ(v.at("min").get<std::int64_t>(), INT64_MIN);
  EXPECT_EQ(v.at("best"), false);
  EXPECT_EQ(v.at("metric").get<std::string>(), text);
  EXPECT_EQ(v.at("bad").get<std::string>(), "a\xef\xbf\xbd b");
  EXPECT_NE(line.find("\\u0001\\u001f"), std::string::npos) << line;
}

TEST(Progress, DurationsAndRates) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(59.9), "59s");
  EXPECT_EQ(FormatDuration(723), "12m03s");
  EXPECT_EQ(FormatDuration(3600 * 3 + 5 * 60 + 59), "3h05m");
  EXPECT_EQ(FormatDuration(86400 * 2 + 3600 * 4 + 1), "2d04h");
  EXPECT_EQ(FormatDuration(-1), "?");
  EXPECT_EQ(FormatDuration(NAN), "?");
  EXPECT_EQ(FormatRate(950.4), "950");
  EXPECT_EQ(FormatRate(999.6), "1.00k");
  EXPECT_EQ(FormatRate(5123), "5.12k");
  EXPECT_EQ(FormatRate(12345), "12.3k");
  EXPECT_EQ(FormatRate(123456), "123k");
  EXPECT_EQ(FormatRate(1254000), "1.25M");
  EXPECT_EQ(FormatRate(-3), "?");
}

ProgressFigures Figures() {
  ProgressFigures f;
  f.step = 1200;
  f.max_steps = 50000;
  f.epoch = 1.3456;
  f.loss = std::log(67.5);
  f.lr = 0.0005;
  f.grad_norm = 1.23456;
  f.src_tokens_per_s = 5123;
  f.tgt_tokens_per_s = 5321;
  f.elapsed_s = 723;
  f.time_left_s = 3 * 3600 + 600;
  return f;
}

TEST(Progress, LineHasEveryFigure) {
  EXPECT_EQ(FormatProgress(Figures()),
            "step 1200/50000 | epoch 1.35 | loss 4.2121 | ppl 67.50 | lr 5.00e-04 | "
            "gnorm 1.235 | src 5.12k tok/s | tgt 5.32k tok/s | elapsed 12m03s | left 3h10m");
  ProgressFigures f = Figures();
  f.max_steps = 0;
  f.time_left_s = -1;
  const std::string line = FormatProgress(f);
  EXPECT_EQ(line.rfind("step 1200 | epoch", 0), 0u) << line;
  EXPECT_NE(line.find("| left ?"), std::string::npos) << line;
  f.data_share = 0.0123;
  EXPECT_NE(FormatProgress(f).find("tgt 5.32k tok/s | data 1.2% | elapsed"), std::string::npos)
      << FormatProgress(f);
  f.sync_share = 0.0456;
  EXPECT_NE(FormatProgress(f).find("| data 1.2% | sync 4.6% | elapsed"), std::string::npos)
      << FormatProgress(f);
  f.skipped_steps = 3;
  EXPECT_NE(FormatProgress(f).find("| left ? | skipped 3"), std::string::npos) << FormatProgress(f);
}

TEST(Progress, JsonHasTheSameFigures) {
  ProgressFigures f = Figures();
  f.loss = 2.0;
  f.epoch = 1.5;
  f.grad_norm = 0.75;
  EXPECT_EQ(ProgressJson(f).str(),
            "{\"kind\":\"train\",\"step\":1200,\"epoch\":1.5,\"loss\":2,"
            "\"ppl\":7.38905609893065,\"lr\":0.0005,\"grad_norm\":0.75,\"src_tok_s\":5123,"
            "\"tgt_tok_s\":5321,\"data_share\":null,\"sync_share\":null,\"elapsed_s\":723,"
            "\"time_left_s\":11400,\"skipped_steps\":0}");
  f.time_left_s = -1;
  EXPECT_NE(ProgressJson(f).str().find("\"time_left_s\":null"), std::string::npos);
  f.data_share = 0.25;
  f.sync_share = 0.5;
  EXPECT_NE(ProgressJson(f).str().find("\"data_share\":0.25,\"sync_share\":0.5,"),
            std::string::npos)
      << ProgressJson(f).str();
  // Every step since the last report skipped: no loss or norm to show.
  f.loss = f.grad_norm = NAN;
  f.skipped_steps = 7;
  EXPECT_NE(
      ProgressJson(f).str().find("\"loss\":null,\"ppl\":null,\"lr\":0.0005,\"grad_norm\":null"),
      std::string::npos)
      << ProgressJson(f).str();
  EXPECT_NE(ProgressJson(f).str().find(",\"skipped_steps\":7}"), std::string::npos);
}

TEST(Progress, TimeLeftIsTheNearestLimit) {
  TrainLimits steps;
  steps.max_steps = 1000;
  // A run resumed at step 100 after 40 s: 100 more steps took 50 s.
  EXPECT_DOUBLE_EQ(EstimateTimeLeft(steps, 200, 0.2, 90, 100, 0.1, 40), 400.0);
  EXPECT_EQ(EstimateTimeLeft(steps, 100, 0.1, 45, 100, 0.1, 40), -1);  // no rate yet
  TrainLimits epochs;
  epochs.max_epochs = 2;
  EXPECT_DOUBLE_EQ(EstimateTimeLeft(epochs, 200, 0.5, 100, 0, 0, 0), 300.0);
  TrainLimits time;
  time.max_seconds = 600;
  EXPECT_DOUBLE_EQ(EstimateTimeLeft(time, 1, 0, 100, 0, 0, 0), 500.0);
  EXPECT_DOUBLE_EQ(EstimateTimeLeft(time, 1, 0, 700, 0, 0, 0), 0.0);
  TrainLimits all;
  all.max_steps = 1000;
  all.max_epochs = 2;
  all.max_seconds = 10000;
  EXPECT_DOUBLE_EQ(EstimateTimeLeft(all, 200, 0.5, 100, 0, 0, 0), 300.0);  // epochs first
  EXPECT_EQ(EstimateTimeLeft(TrainLimits{}, 200, 0.5, 100, 0, 0, 0), -1);
}

class MetricsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rnnsearch_metrics_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static JsonLine Step(std::int64_t step, double loss) {
    JsonLine j;
    j.AddString("kind", "train").AddInt("step", step).AddReal("loss", loss);
    return j;
  }
  std::filesystem::path dir_;
};

TEST_F(MetricsFile, AppendsWholeLinesAcrossOpenings) {
  const std::string path = (dir_ / "metrics.jsonl").string();
  {
    MetricsWriter w(path);
    w.Write(Step(1, 3.5));
    // Flushed at once: another reader sees the line while the writer is open.
    EXPECT_EQ(ReadFile(path), "{\"kind\":\"train\",\"step\":1,\"loss\":3.5}\n");
  }
  {
    MetricsWriter w(path);
    w.Write(Step(2, 3.25));
  }
  EXPECT_EQ(ReadFile(path),
            "{\"kind\":\"train\",\"step\":1,\"loss\":3.5}\n"
            "{\"kind\":\"train\",\"step\":2,\"loss\":3.25}\n");
}

TEST_F(MetricsFile, ResumeDropsLinesAfterTheCheckpointAndATornLine) {
  const std::string path = (dir_ / "metrics.jsonl").string();
  {
    MetricsWriter w(path);
    for (std::int64_t s : {100, 200, 300}) w.Write(Step(s, 1.0));
  }
  std::ofstream(path, std::ios::app) << "{\"kind\":\"train\",\"st";  // a crash mid-line
  {
    MetricsWriter w(path, 200);  // resumed from the checkpoint of step 200
    w.Write(Step(300, 0.5));
  }
  EXPECT_EQ(ReadFile(path),
            "{\"kind\":\"train\",\"step\":100,\"loss\":1}\n"
            "{\"kind\":\"train\",\"step\":200,\"loss\":1}\n"
            "{\"kind\":\"train\",\"step\":300,\"loss\":0.5}\n");
  // Resuming where the file ends keeps everything; a new file is created.
  { MetricsWriter w(path, 300); }
  const std::string kept = ReadFile(path);
  EXPECT_EQ(std::count(kept.begin(), kept.end(), '\n'), 3);
  { MetricsWriter w((dir_ / "new.jsonl").string(), 5); }
  EXPECT_TRUE(std::filesystem::exists(dir_ / "new.jsonl"));
}

TEST_F(MetricsFile, ResumeReadsTheStepOfEachLineAsJson) {
  const std::string path = (dir_ / "metrics.jsonl").string();
  const std::string kept =
      "{\"kind\":\"train\",\"step\":100,\"loss\":1}\n"
      "{\"kind\":\"note\",\"sub\":{\"step\":900}}\n"  // no "step" of its own
      "not JSON \"step\":900\n"                       // unreadable: kept
      "{\"step\": 200, \"kind\": \"train\"}\n";       // spaces, "step" first
  std::ofstream(path, std::ios::binary) << kept
                                        << "{\"kind\": \"train\", \"step\": 250}\n"
                                           "{\"kind\":\"train\",\"step\":300}\n";
  { MetricsWriter w(path, 200); }
  EXPECT_EQ(ReadFile(path), kept);
}

TEST_F(MetricsFile, UnwritablePathIsAUserErrorNamingIt) {
  const std::string path = (dir_ / "missing" / "metrics.jsonl").string();
  try {
    MetricsWriter w(path);
    FAIL() << "opened " << path;
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics file " + path + ": cannot open it"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace rnnsearch
