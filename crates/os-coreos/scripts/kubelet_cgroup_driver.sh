#!/bin/bash
# Runs before the kubelet starts: on cgroup v2 nodes the kubelet must use the systemd cgroup
# driver, like containerd. Changes the kubelet configuration only when it still says cgroupfs.
set -euo pipefail

KUBELET_CONFIG=/var/lib/kubelet/config/kubelet

if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  echo "cgroup v2 is not in use; the kubelet keeps its cgroup driver"
  exit 0
fi
echo "cgroup v2 is in use"
if [ -f "$KUBELET_CONFIG" ] && grep -q 'cgroupDriver: cgroupfs' "$KUBELET_CONFIG"; then
  sed -i 's/cgroupDriver: cgroupfs/cgroupDriver: systemd/' "$KUBELET_CONFIG"
  echo "Switched the kubelet to the systemd cgroup driver"
fi
