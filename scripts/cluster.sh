#!/usr/bin/env bash
# A cluster in a box: N "nodes" on this Linux machine, made from network
# namespaces, with real TCP between them, for multi-node tests and
# benchmarks. Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN).
#
#   scripts/cluster.sh up N          make nodes box1..boxN (replaces a box already up)
#   scripts/cluster.sh down          remove everything `up` made
#   scripts/cluster.sh status        the nodes, their addresses, links and processes
#   scripts/cluster.sh shape RATE    limit every node's link to RATE both ways
#                                    (tc's units: 1gbit, 10gbit, 500mbit); `shape off` removes it
#   scripts/cluster.sh cut NODE      pull NODE's cable (its link goes down; no TCP reset reaches anyone)
#   scripts/cluster.sh heal NODE     plug it back
#   scripts/cluster.sh freeze NODE   SIGSTOP every process of NODE (a hung machine)
#   scripts/cluster.sh thaw NODE     SIGCONT them
#   scripts/cluster.sh exec NODE CMD...   run CMD on NODE (its network, its hostname)
#   scripts/cluster.sh mpirun-args   the mpirun options that launch on the box's nodes
#
# Each node is a network namespace rnsbox-NODE with a veth pair into the
# bridge rnsbox0, which has the address .1 of a private /24
# (RNNSEARCH_BOX_SUBNET, default 10.213.57); node k is .(10+k). Nothing
# else is on that subnet and nothing is routed out of it. Processes of a
# node run in its namespace under `unshare --uts` with the node's name as
# hostname, so Open MPI sees separate hosts; the filesystem is shared, as
# on a cluster with NFS. mpirun runs in the root namespace and reaches the
# nodes through an rsh agent script (`mpirun-args` prints the options:
# --mca plm_rsh_agent, the hostfile, TCP on the box's subnet only).
# The box's files (hostfile, agent) live in RNNSEARCH_BOX_DIR (default
# /run/rnnsearch-box).
set -euo pipefail

prefix=rnsbox
bridge=${prefix}0
subnet=${RNNSEARCH_BOX_SUBNET:-10.213.57}
dir=${RNNSEARCH_BOX_DIR:-/run/rnnsearch-box}

die() { echo "cluster.sh: $*" >&2; exit 1; }
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, veth, a bridge and tc); run it as root"
  command -v ip >/dev/null && command -v tc >/dev/null && command -v unshare >/dev/null ||
    die "needs ip, tc (Debian: iproute2) and unshare (util-linux)"
  if ! ip netns add ${prefix}-probe 2>/tmp/rnsbox-probe.err; then
    die "cannot make a network namespace here: $(cat /tmp/rnsbox-probe.err)"
  fi
  ip netns del ${prefix}-probe
  rm -f /tmp/rnsbox-probe.err
}

nodes() { [ -f "$dir/hostfile" ] && awk '{print $1}' "$dir/hostfile" || true; }
node_index() { echo "${1#box}"; }
check_node() {
  nodes | grep -qx "$1" || die "no node '$1' in the box (nodes: $(nodes | tr '\n' ' '))"
}
host_dev() { echo "${prefix}-$1"; }  # the root namespace's end of NODE's veth

down() {
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${prefix}-" || true); do
    # Processes still in the node: thaw and kill them, or the namespace lingers.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -CONT "$pid" 2>/dev/null || true; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
               grep "^${prefix}-" || true); do
    ip link del "$dev" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$dir"
}

up() {
  local n=$1
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 200 ] ||
    die "up: expected a number of nodes in [1, 200], found '$n'"
  down
  mkdir -p "$dir"
  ip link add "$bridge" type bridge
  ip addr add "$subnet.1/24" dev "$bridge"
  ip link set "$bridge" up
  : >"$dir/hostfile"
  for k in $(seq 1 "$n"); do
    local node=box$k ns=${prefix}-box$k dev
    dev=$(host_dev "$node")
    ip netns add "$ns"
    ip link add "$dev" type veth peer name eth0 netns "$ns"
    ip link set "$dev" master "$bridge" up
    ip -n "$ns" addr add "$subnet.$((10 + k))/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    echo "$node slots=64" >>"$dir/hostfile"
  done
  # mpirun's rsh agent: "agent [options] NODE COMMAND..." runs COMMAND on
  # NODE through a shell, as ssh does (its options are ignored).
  cat >"$dir/agent" <<EOF
#!/bin/sh
while [ \$# -gt 0 ]; do case "\$1" in -*) shift ;; *) break ;; esac; done
node=\$1; shift
exec ip netns exec ${prefix}-\$node unshare --uts sh -c "hostname \$node; \$*"
EOF
  chmod +x "$dir/agent"
  echo "cluster.sh: $n node(s) up: $(nodes | tr '\n' ' ')on $subnet.0/24 (bridge $bridge at $subnet.1)"
}

shape() {
  local rate=$1
  for node in $(nodes); do
    local dev
    dev=$(host_dev "$node")
    tc qdisc del dev "$dev" root 2>/dev/null || true
    ip netns exec "${prefix}-$node" tc qdisc del dev eth0 root 2>/dev/null || true
    if [ "$rate" != off ]; then
      # A token bucket on both ends of the veth: RATE leaving the node and
      # RATE entering it (netem is not in every kernel; tbf is).
      tc qdisc add dev "$dev" root tbf rate "$rate" burst 256kb latency 50ms ||
        die "shape: tc refused the rate '$rate' (examples: 1gbit, 10gbit, 500mbit)"
      ip netns exec "${prefix}-$node" tc qdisc add dev eth0 root tbf rate "$rate" burst 256kb \
        latency 50ms
    fi
  done
  if [ "$rate" = off ]; then
    echo "cluster.sh: links of $(nodes | tr '\n' ' ')unshaped"
  else
    echo "cluster.sh: links of $(nodes | tr '\n' ' ')shaped to $rate"
  fi
}

status() {
  [ -f "$dir/hostfile" ] || { echo "cluster.sh: no box is up"; return 0; }
  for node in $(nodes); do
    local dev state qdisc pids
    dev=$(host_dev "$node")
    state=$(cat "/sys/class/net/$dev/operstate" 2>/dev/null || echo missing)
    qdisc=$(tc qdisc show dev "$dev" 2>/dev/null | awk '/tbf/ {print "rate " $8}' | head -1)
    pids=$(ip netns pids "${prefix}-$node" 2>/dev/null | wc -l)
    echo "$node $subnet.$((10 + $(node_index "$node"))) link $state ${qdisc:-unshaped} processes $pids"
  done
}

signal_node() {
  local sig=$1 node=$2
  local pids
  pids=$(ip netns pids "${prefix}-$node")
  [ -n "$pids" ] || { echo "cluster.sh: $node has no processes"; return 0; }
  # shellcheck disable=SC2086
  kill -"$sig" $pids
  echo "cluster.sh: SIG$sig to $(echo "$pids" | wc -l) process(es) of $node"
}

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
case "$cmd" in
  -h | --help) usage ;;
  up) [ $# -eq 1 ] || usage; need_root; up "$1" ;;
  down) need_root; down; echo "cluster.sh: box removed" ;;
  status) status ;;
  shape) [ $# -eq 1 ] || usage; need_root; shape "$1" ;;
  cut) [ $# -eq 1 ] || usage; check_node "$1"; ip link set "$(host_dev "$1")" down
       echo "cluster.sh: $1's cable pulled" ;;
  heal) [ $# -eq 1 ] || usage; check_node "$1"; ip link set "$(host_dev "$1")" up
        # Forget the addresses that failed to resolve while it was away.
        for node in $(nodes); do ip -n "${prefix}-$node" neigh flush all 2>/dev/null || true; done
        echo "cluster.sh: $1's cable back" ;;
  freeze) [ $# -eq 1 ] || usage; check_node "$1"; signal_node STOP "$1" ;;
  thaw) [ $# -eq 1 ] || usage; check_node "$1"; signal_node CONT "$1" ;;
  exec) [ $# -ge 2 ] || usage; check_node "$1"; node=$1; shift
        exec "$dir/agent" "$node" "$@" ;;
  mpirun-args)
    [ -f "$dir/hostfile" ] || die "no box is up (scripts/cluster.sh up N)"
    echo "--hostfile $dir/hostfile --mca plm_rsh_agent $dir/agent --mca btl tcp,self" \
         "--mca btl_tcp_if_include $subnet.0/24 --mca oob_tcp_if_include $subnet.0/24" ;;
  *) echo "cluster.sh: unknown command '$cmd'" >&2; usage ;;
esac
