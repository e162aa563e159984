// Under 1, 2 and 3 ranks: every rank sees the same effective config, and a
// bad config is the same error on every rank.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "common/error.h"
#include "launch/cli.h"
#include "tests/mpi_test_env.h"

namespace rnnsearch {
namespace {

using testing::World;

po::variables_map ParseConfigArgs(const std::vector<std::string>& args) {
  po::options_description options;
  AddConfigOptions(options);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).run(), vm);
  po::notify(vm);
  return vm;
}

// Whether `text` is identical on every rank (compared by hash and length).
bool SameOnAllRanks(const std::string& text) {
  const auto h = static_cast<std::int64_t>(std::hash<std::string>{}(text) >> 1);
  std::int64_t v[4] = {h, -h, static_cast<std::int64_t>(text.size()),
                       -static_cast<std::int64_t>(text.size())};
  World().Allreduce(v, 4, ReduceOp::kMax);
  return v[0] == h && v[1] == -h && v[2] == static_cast<std::int64_t>(text.size()) &&
         v[3] == -static_cast<std::int64_t>(text.size());
}

TEST(ConfigMpi, AllRanksSeeTheSameEffectiveConfig) {
  // Only rank 0 has the file: the others must get the config from it.
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("rnnsearch_mpi_cfg_" + std::to_string(::getpid()) + ".yaml"))
                               .string();
  if (World().rank() == 0) std::ofstream(path) << "model:\n  emb_dim: 96\ntrain:\n  lr: 0.25\n";
  std::string path_on_root = path;
  World().BroadcastString(path_on_root, 0);
  const Config c = ConfigFromOptions(
      ParseConfigArgs({"--config", path_on_root, "--set", "train.seed=77"}), World());
  if (World().rank() == 0) std::filesystem::remove(path);
  EXPECT_EQ(c.model.emb_dim, 96);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.25);
  EXPECT_EQ(c.train.seed, 77);
  EXPECT_TRUE(SameOnAllRanks(ConfigToYaml(c)));
}

TEST(ConfigMpi, BadConfigIsTheSameErrorOnEveryRank) {
  std::string message;
  int code = 0;
  try {
    ConfigFromOptions(ParseConfigArgs({"--set", "model.emb_dim=-1"}), World());
    ADD_FAILURE() << "expected an error";
  } catch (const CollectiveError& e) {
    message = e.what();
    code = e.exit_code();
  }
  EXPECT_NE(message.find("model.emb_dim: expected an integer in [1, 65536], found -1"),
            std::string::npos)
      << message;
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(SameOnAllRanks(message));
}

TEST(ConfigMpi, CommunicatorBasics) {
  const int n = World().size();
  EXPECT_GE(n, 1);
  double sum = World().rank() + 1.0;
  World().Allreduce(&sum, 1, ReduceOp::kSum);
  EXPECT_DOUBLE_EQ(sum, n * (n + 1) / 2.0);
  float mx = static_cast<float>(World().rank());
  World().Allreduce(&mx, 1, ReduceOp::kMax);
  EXPECT_EQ(mx, static_cast<float>(n - 1));
  std::string s = World().rank() == 0 ? std::string(100000, 'x') : "";
  World().BroadcastString(s, 0);
  EXPECT_EQ(s, std::string(100000, 'x'));
}

}  // namespace
}  // namespace rnnsearch
