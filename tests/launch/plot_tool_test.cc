// scripts/plot.py on small handwritten files: attention heatmaps (one PNG
// per chosen line, sized by the sentence), learning curves (all panels, or
// only the loss without validation), and clear errors naming the file and
// line for malformed input. Skipped when no python3 with Debian's
// python3-matplotlib and python3-numpy is installed.
#include "tests/launch/plot_tool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "tests/io/io_fixture.h"
#include "tests/launch/run_process.h"

namespace rnnsearch {
namespace {

using testing::PlotCommand;
using testing::PngSize;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

const char kAlignments[] =
    R"({"line": 0, "source": ["▁Das", "▁Haus", "\"q\"", "</s>"], "target": ["▁The", "▁house", "</s>"], "score": -1.2, "normalized": -0.4, "finished": true, "attention": [[0.9, 0.05, 0.03, 0.02], [0.02, 0.95, 0.01, 0.02], [0.01, 0.09, 0.1, 0.8]]}
{"line": 1, "source": [], "target": [], "score": 0, "normalized": 0, "finished": true, "attention": []}
{"line": 2, "source": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "</s>"], "target": ["x", "y"], "score": -9.5, "normalized": -4.75, "finished": false, "attention": [[0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.25, 0.75]]}
)";

const char kMetrics[] =
    R"({"kind":"train","step":100,"loss":5.1,"ppl":164.0}
{"kind":"train","step":200,"loss":4.2,"ppl":66.7}
{"kind":"valid","step":200,"loss":4.5,"ppl":90.0,"bleu":3.2,"best":true}
{"kind":"train","step":300,"loss":3.9,"ppl":49.4,"time_left_s":null}
{"kind":"valid","step":300,"loss":4.1,"ppl":60.3,"bleu":5.0,"best":true}
)";

class PlotTool : public ::testing::Test {
 protected:
  void SetUp() override {
    plot_ = PlotCommand();
    if (plot_.empty()) GTEST_SKIP() << "no python3 with matplotlib and numpy";
  }
  ProcessResult Plot(const std::string& args) { return RunProcess(plot_ + " " + args); }
  std::string Write(const std::string& name, const std::string& text) {
    testing::WriteText(dir_ / name, text);
    return dir_ / name;
  }

  TempDir dir_{"plot"};
  std::string plot_;
};

TEST_F(PlotTool, AttentionHeatmaps) {
  const std::string in = Write("a.jsonl", kAlignments), out = dir_ / "pictures";
  const ProcessResult r = Plot("attention " + in + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, out + "/attention-0.png\n" + out + "/attention-2.png\n");
  const auto small = PngSize(out + "/attention-0.png");
  const auto wide = PngSize(out + "/attention-2.png");
  EXPECT_GT(small.first, 100);
  EXPECT_GT(small.second, 100);
  EXPECT_GT(wide.first, small.first);                               // 12 source subwords against 4
  EXPECT_FALSE(std::filesystem::exists(out + "/attention-1.png"));  // an empty line
  const ProcessResult one = Plot("attention " + in + " --out " + out + "_2 --sentences 2");
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_EQ(one.out, out + "_2/attention-2.png\n");
  EXPECT_GT(PngSize(out + "_2/attention-2.png").first, 0);
}

TEST_F(PlotTool, LearningCurves) {
  const std::string all = dir_ / "all.png", train = dir_ / "train.png";
  const ProcessResult r = Plot("curves " + Write("m.jsonl", kMetrics) + " --out " + all);
  ASSERT_EQ(r.status, 0) << r.err;
  // Without validation lines only the loss panel: a shorter picture. (And
  // a live run's unfinished last line is skipped with a warning.)
  const std::string metrics = kMetrics;
  const std::string kTrain = metrics.substr(0, metrics.find("{\"kind\":\"valid\""));
  const ProcessResult t =
      Plot("curves " + Write("t.jsonl", kTrain + "{\"kind\":\"tr") + " --out " + train);
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.err.find("t.jsonl:3: skipping an unfinished last line"), std::string::npos) << t.err;
  const auto a = PngSize(all), b = PngSize(train);
  EXPECT_GT(b.second, 100);
  EXPECT_GT(a.second, 2 * b.second);  // three panels against one
}

TEST_F(PlotTool, ClearErrors) {
  auto expect_error = [&](const std::string& args, const std::string& text) {
    const ProcessResult r = Plot(args);
    EXPECT_EQ(r.status, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << args << "\n" << r.err;
  };
  const std::string out = " --out " + (dir_ / "x");
  const std::string bad_json = Write("bad.jsonl", std::string(kMetrics) + "not json\n{}\n");
  expect_error("curves " + bad_json + out + ".png", "bad.jsonl:6: expected a JSON object");
  expect_error("curves " + Write("none.jsonl", "{\"kind\":\"train\"}\n") + out + ".png",
               "no line has a loss, perplexity or BLEU");
  expect_error("curves " + (dir_ / "missing.jsonl") + out + ".png", "missing.jsonl");
  const std::string short_row = Write(
      "short.jsonl",
      R"({"line": 0, "source": ["a", "</s>"], "target": ["b", "</s>"], "attention": [[1.0, 0.0], [1.0]]})"
      "\n");
  expect_error("attention " + short_row + out,
               "short.jsonl:1: attention row 1 must have one weight");
  expect_error("attention " + Write("nokey.jsonl", "{\"line\": 0}\n") + out,
               "nokey.jsonl:1: missing key 'source'");
  expect_error("attention " + Write("a.jsonl", kAlignments) + out + " --sentences 9",
               "line 9 is not in");
  expect_error("attention " + (dir_ / "a.jsonl") + out + " --sentences x", "--sentences");
}

}  // namespace
}  // namespace rnnsearch
