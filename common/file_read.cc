#include "common/file_read.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace rnnsearch {

void RefuseDirectory(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw UserError((what.empty() ? "" : what + " ") + "'" + path + "' is a directory, not a file");
  }
}

std::string ReadWholeFile(const std::string& path, const std::string& what) {
  RefuseDirectory(path, what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot read " + what + " '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw UserError("cannot read " + what + " '" + path + "': " + std::strerror(errno));
  return text.str();
}

}  // namespace rnnsearch
