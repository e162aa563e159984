// Helpers shared by the libFuzzer targets of tests/fuzz: what counts as a
// clean rejection, a guard against HDF5 printing its error stack, a scratch
// directory, file I/O, a reader of the fuzz input, and the seed inputs each
// target writes into its corpus directory on start.
#pragma once

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "common/error.h"

namespace rnnsearch::fuzz {

[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "FUZZ FAILURE: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// An HDF5 auto-print handler that aborts: a reader reached an HDF5 call
// that failed without silencing the error stack first (SilenceHdf5Errors),
// so a user would see HDF5's error stack dumped on stderr.
inline herr_t AbortOnHdf5Print(hid_t stack, void*) {
  H5Eprint2(stack, stderr);
  Fail("HDF5 printed its error stack (the reader did not call SilenceHdf5Errors first)");
}

// Runs `read` on one fuzz input: returning or throwing a UserError (with a
// message) is a clean rejection; any other exception aborts, and so do
// HDF5's error printer (re-armed before every input) and sanitizer reports.
template <typename F>
void ExpectCleanRejection(F&& read) {
  H5Eset_auto2(H5E_DEFAULT, AbortOnHdf5Print, nullptr);
  try {
    read();
  } catch (const UserError& e) {
    if (std::strlen(e.what()) == 0) Fail("a UserError without a message");
  } catch (const std::exception& e) {
    Fail(std::string("not a UserError: ") + typeid(e).name() + ": " + e.what());
  }
}

// A directory of this process's scratch files under $TMPDIR (or /tmp),
// removed at exit (not after a crash).
inline const std::string& ScratchDir() {
  // Never destroyed: the exit handler below still needs it.
  static const std::string& dir = *new std::string([] {
    const std::string d =
        (std::filesystem::temp_directory_path() / ("rnnsearch_fuzz_" + std::to_string(::getpid())))
            .string();
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(ScratchDir(), ec);
    });
    return d;
  }());
  return dir;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) Fail("cannot write the scratch file " + path);
}

// Consumes the fuzz input from the front; past its end every read gives 0.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  std::uint8_t Byte() { return at_ < size_ ? data_[at_++] : 0; }
  // An integer: one of the values that break readers (0, -1, 2^31, 2^40,
  // the int64 limits, ...) or a plain small or raw 8-byte one.
  std::int64_t Int() {
    static const std::int64_t kValues[] = {0,
                                           1,
                                           -1,
                                           2,
                                           3,
                                           255,
                                           256,
                                           65535,
                                           65536,
                                           1LL << 31,
                                           (1LL << 31) - 1,
                                           1LL << 32,
                                           1LL << 40,
                                           1LL << 62,
                                           INT64_MAX,
                                           INT64_MIN};
    const std::uint8_t b = Byte();
    if (b < 128) return kValues[b % std::size(kValues)];
    if (b < 192) return static_cast<std::int64_t>(b - 160);  // -32 .. 31
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | Byte();
    return static_cast<std::int64_t>(v);
  }
  // The rest of the input.
  std::string Rest() {
    std::string s(reinterpret_cast<const char*>(data_) + std::min(at_, size_),
                  size_ - std::min(at_, size_));
    at_ = size_;
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_, at_ = 0;
};

// Writes each seed into the first corpus directory on the command line
// (the first argument not starting with '-'), as seed_<i>, so that a run
// starts from valid inputs.
inline void WriteSeeds(int argc, char** argv, const std::vector<std::string>& seeds) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    if (!std::filesystem::is_directory(argv[i])) return;
    for (std::size_t k = 0; k < seeds.size(); ++k) {
      WriteFileBytes(std::string(argv[i]) + "/seed_" + std::to_string(k), seeds[k]);
    }
    return;
  }
}

}  // namespace rnnsearch::fuzz
