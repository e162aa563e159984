// The documentation of the config keys cannot fall behind common/config.h:
// docs/config.md must be exactly what the code generates, the README must
// link it, and configs/example.yaml must show every key.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/config.h"
#include "common/config_markdown.h"

namespace rnnsearch {
namespace {

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(RNNSEARCH_SOURCE_DIR) + "/" + relative, std::ios::binary);
  if (!in.good()) return "";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Line `index` (from 0) of `text`, or "(end of file)".
std::string LineAt(const std::string& text, std::size_t index) {
  std::istringstream in(text);
  std::string line;
  for (std::size_t i = 0; std::getline(in, line); ++i) {
    if (i == index) return line;
  }
  return "(end of file)";
}

TEST(Readme, ConfigDocIsGenerated) {
  const std::string expected = ConfigKeysMarkdown();
  const std::string found = ReadSourceFile("docs/config.md");
  if (found == expected) return;
  // The first line that differs, counted from 1.
  std::size_t line = 0;
  for (std::size_t i = 0; i < expected.size() && i < found.size() && expected[i] == found[i]; ++i) {
    if (expected[i] == '\n') ++line;
  }
  ADD_FAILURE() << "docs/config.md differs from what common/config.h generates, first at line "
                << line + 1 << ":\n  generated: " << LineAt(expected, line)
                << "\n  in the file: " << LineAt(found, line)
                << "\nRegenerate it from the source directory with:\n"
                << "  build/launch/rnnsearch train --config-keys-markdown > docs/config.md";
}

TEST(Readme, LinksConfigDoc) {
  const std::string readme = ReadSourceFile("README.md");
  ASSERT_FALSE(readme.empty()) << "README.md not found";
  EXPECT_NE(readme.find("(docs/config.md)"), std::string::npos)
      << "README.md does not link docs/config.md, the table of config keys";
}

TEST(Readme, ExampleConfigMentionsEveryKey) {
  const std::string example = ReadSourceFile("configs/example.yaml");
  ASSERT_FALSE(example.empty()) << "configs/example.yaml not found";
  for (const ConfigFieldInfo& f : ConfigFields()) {
    const std::string name = f.key.substr(f.key.find('.') + 1);
    EXPECT_NE(example.find("  " + name + ":"), std::string::npos)
        << "configs/example.yaml does not show " << f.key;
  }
}

}  // namespace
}  // namespace rnnsearch
