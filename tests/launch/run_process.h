// Runs a shell command for tests and captures its exit status, stdout and
// stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace rnnsearch::testing {

struct ProcessResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

inline std::string ReadWhole(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline ProcessResult RunProcess(const std::string& command) {
  static int counter = 0;
  const auto base =
      std::filesystem::temp_directory_path() /
      ("rnnsearch_run_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const std::string out = base.string() + ".out", err = base.string() + ".err";
  const std::string full = "(" + command + ") >" + out + " 2>" + err + " </dev/null";
  const int raw = std::system(full.c_str());
  ProcessResult r;
  if (WIFEXITED(raw)) {
    r.status = WEXITSTATUS(raw);
  } else if (WIFSIGNALED(raw)) {
    r.status = 128 + WTERMSIG(raw);
  }
  r.out = ReadWhole(out);
  r.err = ReadWhole(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

// mpiexec with the flags the suite needs as root and with more ranks than cores.
inline std::string Mpiexec(int ranks) {
  return std::string(RNNSEARCH_MPIEXEC) + " -n " + std::to_string(ranks) +
         " --oversubscribe --allow-run-as-root --bind-to none ";
}

}  // namespace rnnsearch::testing
