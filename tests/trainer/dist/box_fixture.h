// The cluster in a box (scripts/cluster.sh: nodes made of network
// namespaces, real TCP between them) for the multi-node tests: whether it
// can be used here, and the mpirun that launches on its nodes.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/launch/run_process.h"

namespace rnnsearch::testing {

inline const std::string kCluster = std::string(RNNSEARCH_SOURCE_DIR) + "/scripts/cluster.sh";

// Why the box cannot be used here ("" when it can): not root, no network
// namespaces, or a box already up (someone's; the tests do not replace it).
inline std::string BoxUnavailable() {
  if (::geteuid() != 0) return "not root";
  if (std::filesystem::exists("/run/rnnsearch-box/hostfile")) {
    return "a box is up already (scripts/cluster.sh down removes it)";
  }
  const ProcessResult r = RunProcess("ip netns add rnsbox-probe && ip netns del rnsbox-probe");
  if (r.status != 0) return "no network namespaces here: " + r.err;
  return "";
}

// mpirun in this namespace (off the nodes, as a login node), `ranks` ranks
// with `per_node` on each of the box's nodes in hostfile order, TCP on
// the box's subnet only; followed by the program and its arguments.
inline std::string BoxMpirun(int ranks, int per_node) {
  return std::string(RNNSEARCH_MPIEXEC) + " -n " + std::to_string(ranks) +
         " --map-by ppr:" + std::to_string(per_node) +
         ":node --bind-to none --allow-run-as-root $(" + kCluster + " mpirun-args) ";
}

}  // namespace rnnsearch::testing
