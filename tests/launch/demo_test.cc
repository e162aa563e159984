// The demo's pipeline at a reduced size: scripts/demo.sh --quick with the
// built program (generate, preprocess, train with mpiexec -n 2, stop and
// resume, translate, score, draw). Checks every stage's output on disk: the
// shards, the resumed run (its log line and checkpoints on both sides of
// the stop), the translations (recounted here against the references, far
// above the trivial baselines), and the PNG pictures. Skipped when
// /usr/bin/python3 lacks matplotlib and numpy (the demo draws with them).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/io/io_fixture.h"
#include "tests/launch/plot_tool.h"
#include "tests/launch/run_process.h"

namespace rnnsearch {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::ReadWhole;
using testing::RunProcess;
using testing::TempDir;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "key value" lines of summary.txt.
std::map<std::string, std::string> Summary(const std::string& path) {
  std::map<std::string, std::string> m;
  for (const std::string& line : Lines(path)) {
    std::istringstream s(line);
    std::string key, value;
    s >> key >> value;
    m[key] = value;
  }
  return m;
}

TEST(Demo, QuickPipelineRunsEveryStage) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib, numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 has no matplotlib and numpy (scripts/install-deps.sh)";
  }
  TempDir dir("demo");
  const std::string out = dir / "demo";
  const ProcessResult r =
      RunProcess(std::string(RNNSEARCH_SOURCE_DIR) + "/scripts/demo.sh --quick --bin " +
                 RNNSEARCH_BINARY + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.out << r.err;

  // Preprocessing: shards and manifests of both splits.
  for (const char* split : {"train", "valid"}) {
    const fs::path corpus = fs::path(out) / "data" / split;
    EXPECT_TRUE(fs::exists(corpus / "manifest.yaml")) << corpus;
    EXPECT_TRUE(fs::exists(corpus / "shard-00000-00000.h5")) << corpus;
  }

  // Training stopped at step 60 and a second process resumed from there.
  EXPECT_NE(ReadWhole(out + "/logs/train-1.log").find("training ends at step 60"),
            std::string::npos);
  const std::string resumed = ReadWhole(out + "/logs/train-2.log");
  EXPECT_NE(resumed.find("resume from 'run/ckpt-60.h5': step 60,"), std::string::npos) << resumed;
  EXPECT_NE(resumed.find("training ends at step 120"), std::string::npos) << resumed;
  EXPECT_TRUE(fs::exists(out + "/run/ckpt-120.h5"));
  EXPECT_TRUE(fs::exists(out + "/run/best.h5"));
  EXPECT_NE(r.out.find("resumed from step 60 (run/ckpt-60.h5)"), std::string::npos) << r.out;

  // Translations: one per held-out sentence; recount the exact matches.
  const std::vector<std::string> hyp = Lines(out + "/test.hyp");
  const std::vector<std::string> ref = Lines(out + "/data/text/test.tgt");
  ASSERT_EQ(ref.size(), 300u);
  ASSERT_EQ(hyp.size(), ref.size());
  int correct = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) correct += hyp[i] == ref[i] ? 1 : 0;
  const auto summary = Summary(out + "/summary.txt");
  EXPECT_EQ(summary.at("exact_match_correct"), std::to_string(correct));
  EXPECT_EQ(summary.at("exact_match_total"), "300");
  EXPECT_EQ(summary.at("resumed_from_step"), "60");
  // The trivial baseline, the most frequent training target for every
  // line, gets (almost) none right (the test dates are not training
  // dates); the reduced demo's model gets most of them.
  std::map<std::string, int> counts;
  for (const std::string& t : Lines(out + "/data/text/train.tgt")) ++counts[t];
  std::string most_frequent;
  for (const auto& [t, n] : counts) {
    if (most_frequent.empty() || n > counts[most_frequent]) most_frequent = t;
  }
  int baseline = 0;
  for (const std::string& t : ref) baseline += t == most_frequent ? 1 : 0;
  EXPECT_LE(baseline, 3);
  EXPECT_GE(correct, 150) << "exact matches of 300, the trivial baseline has " << baseline;

  // Pictures: the learning curve and attention heatmaps, as PNG files.
  EXPECT_GT(testing::PngSize(out + "/pictures/learning-curve.png").first, 0);
  int heatmaps = 0;
  for (const auto& e : fs::directory_iterator(out + "/pictures")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("attention-", 0) == 0) {
      EXPECT_GT(testing::PngSize(e.path().string()).first, 0) << name;
      ++heatmaps;
    }
  }
  EXPECT_GE(heatmaps, 3);
  // The closing lines say where the model, the pictures and the logs are.
  for (const char* what : {"model:", "pictures:", "logs:", "accuracy:"}) {
    EXPECT_NE(r.out.find(what), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace rnnsearch
