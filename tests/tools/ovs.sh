#!/usr/bin/env bash
# Start Open vSwitch for the lab tests (installing the distribution's package when it is
# missing). Switches use the userspace datapath: these kernels have no openvswitch module.
# Idempotent. Usage: tests/tools/ovs.sh [start|stop]
set -euo pipefail

CTL=/usr/share/openvswitch/scripts/ovs-ctl
if [ ! -x "$CTL" ]; then
  echo "installing Open vSwitch from the distribution..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq openvswitch-switch >&2
fi
if [ "${1:-start}" = stop ]; then
  "$CTL" stop >&2 || true
  exit 0
fi
if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
  # ovs-ctl warns that it cannot raise the open-files limit here; that is harmless, so
  # success is judged by ovs-vsctl answering below.
  "$CTL" start >&2 || true
fi
ovs-vsctl --timeout=5 show >/dev/null
