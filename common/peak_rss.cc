#include "common/peak_rss.h"

#include <fstream>
#include <string>

namespace rnnsearch {

double PeakRssMb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    // "VmHWM:    123456 kB"
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

}  // namespace rnnsearch
