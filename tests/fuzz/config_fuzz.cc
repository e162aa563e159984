// Fuzz target of the config reader (common/config.*): the input is a
// config file's text, optionally followed by --set assignments, each after
// a NUL byte. LoadConfig must accept it or throw a UserError; an accepted
// config must read back unchanged from ConfigToYaml's text (the text a
// checkpoint stores in /config).
//
// Seeds: the default config as ConfigToYaml writes it (with and without
// overrides) and the project's configs (configs/, recipes/multi30k/).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace rnnsearch::fuzz {
namespace {

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds = {ConfigToYaml(Config{})};
  seeds.push_back(seeds[0] + std::string("\0train.lr=0.01\0data.train=\"a b\"", 31));
  seeds.push_back(
      std::string("model:\n  dec_dim: 64\n\0model.enc_dim=32\0model.attention=dot", 57));
  for (const char* dir : {"configs", "recipes/multi30k"}) {
    for (const auto& e :
         std::filesystem::directory_iterator(std::string(RNNSEARCH_SOURCE_DIR) + "/" + dir)) {
      if (e.path().extension() == ".yaml") seeds.push_back(ReadFileBytes(e.path().string()));
    }
  }
  return seeds;
}

void FuzzOne(const std::string& input) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t nul = input.find('\0', start);
    parts.push_back(input.substr(start, nul == std::string::npos ? nul : nul - start));
    if (nul == std::string::npos) break;
    start = nul + 1;
  }
  const std::string path = ScratchDir() + "/config.yaml";
  WriteFileBytes(path, parts[0]);
  const std::vector<std::string> overrides(parts.begin() + 1, parts.end());
  Config config;
  bool loaded = false;
  ExpectCleanRejection([&] {
    config = LoadConfig(path, overrides);
    loaded = true;
  });
  if (!loaded) return;
  const std::string yaml = ConfigToYaml(config);
  Config again;
  ExpectCleanRejection([&] {
    again = ConfigFromYamlText(yaml, "the written config");
    if (!(again == config)) Fail("the written config reads back different:\n" + yaml);
    loaded = false;
  });
  if (loaded) Fail("the written config is refused:\n" + yaml);
}

}  // namespace
}  // namespace rnnsearch::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  rnnsearch::fuzz::WriteSeeds(*argc, *argv, rnnsearch::fuzz::Seeds());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rnnsearch::fuzz::FuzzOne(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
