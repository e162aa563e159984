// The command-line entry: `rnnsearch COMMAND [OPTIONS]`.
//
// Each subcommand is one entry of the table in commands.cc and one file
// cmd_NAME.cc; it parses its own options with Boost.Program_options through
// ParseCommandArgs, which adds --help, prints every option with its
// default, and turns unknown or malformed options into a UsageError
// (exit status 2, usage printed). Exit status: 0 success, 1 error,
// 2 command-line usage error.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "common/comm.h"
#include "common/config.h"

namespace rnnsearch {

namespace po = boost::program_options;

struct CommandEnv {
  Comm& comm;
};

struct Command {
  const char* name;
  const char* summary;  // one line for `rnnsearch --help`
  int (*run)(const std::vector<std::string>& args, CommandEnv& env);
};

// Every subcommand, in the order `rnnsearch --help` lists them.
const std::vector<Command>& AllCommands();

// The whole program: dispatches argv[1] to one of `commands` and maps
// errors to exit statuses: a CollectiveError or UsageError (the same on
// every rank) is printed once and every rank exits with its status; any
// other error is printed with the rank and, under MPI, ends the whole job
// with MPI_Abort so that no rank waits forever for the failed one.
int RunMain(int argc, char** argv, Comm& comm,
            const std::vector<Command>& commands = AllCommands());

// Parses `args` against `options` (plus -h/--help). Returns false after
// printing the help (on rank 0) when --help was given; throws UsageError,
// with the usage in the message, on an unknown option or a bad value.
bool ParseCommandArgs(const std::string& command, const std::string& synopsis,
                      po::options_description& options, const std::vector<std::string>& args,
                      po::variables_map& vm, CommandEnv& env,
                      const po::positional_options_description* positional = nullptr,
                      const std::string& help_epilog = "");

// Writes `text` to stdout on rank 0 only.
void PrintOnRoot(const CommandEnv& env, const std::string& text);

// --config FILE and --set section.key=value (repeatable).
void AddConfigOptions(po::options_description& options);

// The effective config from --config and --set: rank 0 reads and validates
// it and broadcasts the result, so every rank runs with the same config
// even if the file exists on one node only. A bad config throws the same
// CollectiveError on every rank (printed once, by rank 0).
Config ConfigFromOptions(const po::variables_map& vm, Comm& comm);

// The table of config keys with their defaults, for --help texts.
std::string ConfigKeysHelp();

}  // namespace rnnsearch
