// The README documents every config key (so the docs cannot silently fall
// behind common/config.h).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/config.h"

namespace rnnsearch {
namespace {

TEST(Readme, DocumentsEveryConfigKey) {
  std::ifstream in(std::string(RNNSEARCH_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in.good()) << "README.md not found";
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  for (const ConfigFieldInfo& f : ConfigFields()) {
    EXPECT_NE(readme.find("| `" + f.key + "` |"), std::string::npos)
        << "README.md's config table has no row for " << f.key;
  }
}

TEST(Readme, ExampleConfigMentionsEveryKey) {
  std::ifstream in(std::string(RNNSEARCH_SOURCE_DIR) + "/configs/example.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const std::string example = text.str();
  for (const ConfigFieldInfo& f : ConfigFields()) {
    const std::string name = f.key.substr(f.key.find('.') + 1);
    EXPECT_NE(example.find("  " + name + ":"), std::string::npos)
        << "configs/example.yaml does not show " << f.key;
  }
}

}  // namespace
}  // namespace rnnsearch
