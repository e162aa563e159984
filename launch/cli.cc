#include "launch/cli.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include "common/error.h"
#include "common/log.h"
#include "common/version.h"

namespace rnnsearch {
namespace {

std::string TopLevelUsage(const std::vector<Command>& commands) {
  std::ostringstream out;
  out << "Usage: rnnsearch COMMAND [OPTIONS]\n"
      << "       rnnsearch COMMAND --help\n"
      << "       rnnsearch --version\n\n"
      << "Attention-based RNN encoder-decoders (RNNsearch) trained on CPUs, alone or\n"
      << "under mpirun.\n\nCommands:\n";
  for (const Command& c : commands) {
    std::string name = c.name;
    name.resize(12, ' ');
    out << "  " << name << c.summary << "\n";
  }
  out << "\nOptions:\n"
      << "  -h [ --help ]     print this help\n"
      << "  --version         print the version and git revision\n"
      << "\nExit status: 0 success, 1 error, 2 command-line usage error.\n";
  return out.str();
}

std::string CommandUsage(const std::string& command, const std::string& synopsis,
                         const po::options_description& options, const std::string& epilog) {
  std::ostringstream out;
  out << "Usage: rnnsearch " << command << " " << synopsis << "\n\n" << options;
  if (!epilog.empty()) out << "\n" << epilog;
  return out.str();
}

}  // namespace

void PrintOnRoot(const CommandEnv& env, const std::string& text) {
  if (env.comm.rank() != 0) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

bool ParseCommandArgs(const std::string& command, const std::string& synopsis,
                      po::options_description& options, const std::vector<std::string>& args,
                      po::variables_map& vm, CommandEnv& env,
                      const po::positional_options_description* positional,
                      const std::string& help_epilog) {
  options.add_options()("help,h", "print this help");
  try {
    po::command_line_parser parser(args);
    parser.options(options);
    if (positional != nullptr) {
      parser.positional(*positional);
    } else {
      parser.positional(po::positional_options_description());  // none allowed
    }
    po::store(parser.run(), vm);
    if (vm.count("help") != 0) {
      PrintOnRoot(env, CommandUsage(command, synopsis, options, help_epilog));
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError("rnnsearch " + command + ": " + e.what() + "\n\n" +
                     CommandUsage(command, synopsis, options, ""));
  }
  return true;
}

void AddConfigOptions(po::options_description& options) {
  options.add_options()("config", po::value<std::string>()->default_value("", "none"),
                        "YAML config file (keys: see below); defaults apply to keys it omits")(
      "set", po::value<std::vector<std::string>>()->composing()->default_value({}, "none"),
      "override one config key: --set section.key=value (repeatable; wins over --config)");
}

Config ConfigFromOptions(const po::variables_map& vm, Comm& comm) {
  const std::string file = vm["config"].as<std::string>();
  const auto overrides = vm["set"].as<std::vector<std::string>>();
  // Rank 0 decides; the others receive "ok\n<yaml>" or "<exit code>\n<message>".
  std::string packet;
  if (comm.rank() == 0) {
    try {
      packet = "ok\n" + ConfigToYaml(LoadConfig(file, overrides));
    } catch (const UserError& e) {
      packet = std::to_string(e.exit_code()) + "\n" + e.what();
    }
  }
  comm.BroadcastString(packet, 0);
  const auto newline = packet.find('\n');
  const std::string status = packet.substr(0, newline);
  const std::string body = packet.substr(newline + 1);
  if (status != "ok") throw CollectiveError(body, std::stoi(status));
  return ConfigFromYamlText(body, file.empty() ? "(defaults)" : file);
}

std::string ConfigKeysHelp() {
  std::ostringstream out;
  out << "Config keys (YAML sections, or --set section.key=value), with defaults:\n";
  for (const ConfigFieldInfo& f : ConfigFields()) {
    std::string head = "  " + f.key + " = " + f.default_text;
    if (head.size() < 44) head.resize(44, ' ');
    out << head << " " << f.description << " [" << f.type << "]\n";
  }
  return out.str();
}

int RunMain(int argc, char** argv, Comm& comm, const std::vector<Command>& commands) {
  CommandEnv env{comm};
  const std::vector<std::string> all(argv + 1, argv + argc);
  try {
    if (all.empty()) throw UsageError("rnnsearch: no command given\n\n" + TopLevelUsage(commands));
    const std::string& first = all[0];
    if (first == "--help" || first == "-h" || first == "help") {
      PrintOnRoot(env, TopLevelUsage(commands));
      return 0;
    }
    if (first == "--version") {
      PrintOnRoot(env, std::string("rnnsearch ") + Version() + " (git " + GitRevision() + ")\n");
      return 0;
    }
    for (const Command& c : commands) {
      if (first == c.name) {
        return c.run(std::vector<std::string>(all.begin() + 1, all.end()), env);
      }
    }
    std::vector<std::string> names;
    for (const Command& c : commands) names.push_back(c.name);
    std::string msg = "rnnsearch: unknown command '" + first + "'";
    const std::string guess = ClosestMatch(first, names);
    if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
    throw UsageError(msg + "\n\n" + TopLevelUsage(commands));
  } catch (const CollectiveError& e) {
    // Every rank holds the same error: rank 0 reports it, all exit cleanly.
    if (comm.rank() == 0) RNN_LOG(kError) << e.what();
    return e.exit_code();
  } catch (const UsageError& e) {
    // The command line is the same on every rank: report once.
    if (comm.rank() == 0) std::fprintf(stderr, "%s\n", e.what());
    return e.exit_code();
  } catch (const UserError& e) {
    RNN_LOG(kError) << e.what();
    if (comm.size() > 1) comm.Abort(e.exit_code());
    return e.exit_code();
  } catch (const std::exception& e) {
    RNN_LOG(kError) << "internal error: " << e.what();
    if (comm.size() > 1) comm.Abort(1);
    return 1;
  }
}

}  // namespace rnnsearch
