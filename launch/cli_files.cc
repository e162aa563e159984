// Text files of the commands (launch/cli_files.h).
#include "launch/cli_files.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "common/error.h"
#include "common/utf8.h"
#include "io/file_write.h"
#include "io/text_file.h"

namespace rnnsearch {

// Every line of the input ('-': stdin), checked to be UTF-8.
std::vector<std::string> ReadTextLines(const std::string& path, const std::string& who,
                                       const std::string& option) {
  std::vector<std::string> lines;
  const std::string name = path == "-" ? std::string("<stdin>") : path;
  auto add = [&](std::string_view line) {
    const std::size_t bad = FindInvalidUtf8(line);
    if (bad != std::string_view::npos) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(line[bad]));
      throw UserError(who + ": " + name + ":" + std::to_string(lines.size() + 1) +
                      ": expected UTF-8 text, found the byte " + byte + " at column " +
                      std::to_string(bad + 1));
    }
    lines.emplace_back(line);
  };
  if (path == "-") {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      add(line);
    }
    if (std::cin.bad()) throw UserError(who + ": cannot read the standard input");
    return lines;
  }
  try {
    LineReader reader(path);
    std::string_view line;
    while (reader.Next(&line)) add(line);
  } catch (const UserError& e) {
    const std::string what = e.what();
    if (what.rfind(who + ":", 0) == 0) throw;
    throw UserError(who + ": " + option + ": " + what);
  }
  return lines;
}

void CheckOutputPath(const std::string& path, const std::string& who, const std::string& option) {
  if (path == "-") return;
  const std::string head = who + ": " + option + ": cannot write '" + path + "': ";
  if (path.empty()) throw UserError(who + ": " + option + ": expected a file name, found ''");
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UserError(head + "it is a directory");
  const fs::path parent = fs::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status)) throw UserError(head + "the directory '" + dir + "' does not exist");
  if (!fs::is_directory(status)) throw UserError(head + "'" + dir + "' is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw UserError(head + "the directory '" + dir + "' is not writable: " + std::strerror(errno));
  }
}

// Writes `text` to `path` through PATH.tmp.<pid> and a rename ('-': stdout).
void WriteWholeOutput(const std::string& path, const std::string& text, const std::string& who,
                      const std::string& option) {
  if (path == "-") {
    std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
    std::cout.flush();
    if (!std::cout) throw UserError(who + ": cannot write to the standard output");
    return;
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  try {
    WriteFileDurably(tmp, text);
  } catch (const UserError& e) {
    throw UserError(who + ": " + option + ": " + e.what());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw UserError(who + ": " + option + ": cannot rename '" + tmp + "' to '" + path +
                    "': " + ec.message());
  }
}

}  // namespace rnnsearch
