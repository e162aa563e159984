// Error types shared by every layer.
//
// A UserError is bad input that the user can fix (a file, a config value, a
// command-line option); its what() is the whole message, already naming the
// file, line or key, what was expected and what was found. The entry point
// prints it without a stack of context and exits non-zero. Internal
// invariants are asserts, not exceptions.
#pragma once

#include <stdexcept>
#include <string>

namespace rnnsearch {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // Process exit status for this error (1 unless a subclass says otherwise).
  virtual int exit_code() const { return 1; }
};

// Bad command line: unknown subcommand or option, malformed argument.
// Exit status 2, and the entry point prints the usage after the message.
class UsageError : public UserError {
 public:
  using UserError::UserError;
  int exit_code() const override { return 2; }
};

// Bad configuration: malformed YAML, unknown key, wrong type, bad value.
class ConfigError : public UserError {
 public:
  using UserError::UserError;
};

// Thrown identically on every rank after a collective decision (for
// example a config that rank 0 rejected and broadcast), so the entry point
// can print it once, on rank 0, and let every rank exit cleanly instead of
// aborting the job.
class CollectiveError : public UserError {
 public:
  CollectiveError(const std::string& message, int code) : UserError(message), code_(code) {}
  int exit_code() const override { return code_; }

 private:
  int code_;
};

}  // namespace rnnsearch
