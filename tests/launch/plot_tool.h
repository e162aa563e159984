// For tests that run scripts/plot.py: the command (a python3 that has
// Debian's python3-matplotlib and python3-numpy, "" if there is none) and
// the pixel size of a PNG file it wrote.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

namespace rnnsearch::testing {

// "PYTHON SOURCE_DIR/scripts/plot.py", or "" without matplotlib.
inline std::string PlotCommand() {
  static const std::string command = [] {
    for (const char* python : {"/usr/bin/python3", "python3"}) {
      const std::string probe =
          std::string(python) + " -c 'import matplotlib, numpy' >/dev/null 2>&1";
      if (std::system(probe.c_str()) == 0) {
        return std::string(python) + " " + RNNSEARCH_SOURCE_DIR + "/scripts/plot.py";
      }
    }
    return std::string();
  }();
  return command;
}

// (width, height) from a PNG's header; (-1, -1) if the file is not a PNG.
inline std::pair<int, int> PngSize(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[24] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (!in || !std::equal(magic, magic + 8, h) || std::string(h + 12, h + 16) != "IHDR") {
    return {-1, -1};
  }
  auto be32 = [&](int at) {
    return static_cast<int>((std::uint32_t{h[at]} << 24) | (std::uint32_t{h[at + 1]} << 16) |
                            (std::uint32_t{h[at + 2]} << 8) | std::uint32_t{h[at + 3]});
  };
  return {be32(16), be32(20)};
}

}  // namespace rnnsearch::testing
