// rnnsearch train: the effective config from defaults, --config and --set.
#include "common/error.h"
#include "common/log.h"
#include "launch/cli.h"

namespace rnnsearch {

int RunTrain(const std::vector<std::string>& args, CommandEnv& env) {
  po::options_description options("Options");
  AddConfigOptions(options);
  options.add_options()("print-config",
                        po::bool_switch()->default_value(false),
                        "print the effective config as YAML (feed it back with --config) and exit");
  po::variables_map vm;
  if (!ParseCommandArgs("train", "[--config FILE] [--set section.key=value ...] [--print-config]",
                        options, args, vm, env, nullptr, ConfigKeysHelp())) {
    return 0;
  }
  const Config config = ConfigFromOptions(vm, env.comm);
  if (vm["print-config"].as<bool>()) {
    PrintOnRoot(env, ConfigToYaml(config));
    return 0;
  }
  throw CollectiveError(
      "rnnsearch train: the config is valid, but the training loop is not part of this build "
      "yet; use --print-config to see the effective config",
      1);
}

}  // namespace rnnsearch
