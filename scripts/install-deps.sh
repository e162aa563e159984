#!/usr/bin/env bash
# Installs the Debian 12 packages that rnnsearch's build, tests and demo
# need. Idempotent: when everything is installed it only checks (well under
# a second) and changes nothing. Needs root, or sudo.
#
# When it installs it prints two lines (the packages and where apt-get's
# output goes, then "done"); apt-get's own output goes to a log file,
# ${TMPDIR:-/tmp}/rnnsearch-install-deps.log, whose last lines it prints
# if apt-get fails (exit status 1).
set -euo pipefail

packages=(
  cmake g++ make pkg-config git      # build tools (git: the revision in --version)
  libopenmpi-dev openmpi-bin         # MPI (mpirun/mpiexec)
  libdnnl-dev ocl-icd-opencl-dev     # oneDNN; Debian's CMake package needs OpenCL headers
  libhdf5-dev hdf5-tools             # HDF5 shards and checkpoints; h5dump
  libyaml-cpp-dev                    # YAML configs
  libboost-program-options-dev       # command line
  nlohmann-json3-dev                 # JSON lines: metrics.jsonl, alignments, bench figures
  libsentencepiece-dev sentencepiece # subwords; spm_encode for the io benchmark
  zlib1g-dev                         # .gz corpora
  libgtest-dev                       # tests
  clang libclang-rt-14-dev           # scripts/fuzz.sh: libFuzzer and the sanitizers' runtimes
  clang-format                       # scripts/check-format.sh: the code style
  procps                             # ps: launch/rnnsearch-mpirun watches for a stuck mpirun
  python3 python3-matplotlib python3-numpy  # scripts/gen_dates.py, scripts/plot.py: the demo's data and pictures
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root (or install sudo) to install them" >&2
    exit 1
  fi
fi
log="${TMPDIR:-/tmp}/rnnsearch-install-deps.log"
if ! : >"$log" 2>/dev/null; then log="$(mktemp "${TMPDIR:-/tmp}/rnnsearch-install-deps.XXXXXX")"; fi
echo "install-deps: installing ${missing[*]} (apt-get's output: $log)"
export DEBIAN_FRONTEND=noninteractive
# Another apt-get or dpkg holding the lock is waited for, up to 5 minutes.
apt=($sudo apt-get -o DPkg::Lock::Timeout=300)
if ! { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1 </dev/null; then
  echo "install-deps: apt-get failed; the last lines of $log:" >&2
  tail -n 25 "$log" | sed 's/^/  /' >&2
  exit 1
fi
echo "install-deps: done"
