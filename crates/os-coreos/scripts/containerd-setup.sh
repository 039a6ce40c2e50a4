#!/bin/bash
# Prepares containerd's configuration on first boot. Every step checks before it changes
# anything, so running it again (on every boot) changes nothing.
set -euo pipefail

CONFIG=/etc/containerd/config.toml

# A node without a configuration gets containerd's defaults.
if [ ! -s "$CONFIG" ]; then
  mkdir -p "$(dirname "$CONFIG")"
  /usr/bin/containerd config default > "$CONFIG"
  chmod 0644 "$CONFIG"
  echo "Wrote containerd's default configuration"
fi

# With cgroup v2, containerd must use the systemd cgroup driver, as the kubelet does.
if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -q 'SystemdCgroup = false' "$CONFIG"; then
  sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' "$CONFIG"
  echo "Switched containerd to the systemd cgroup driver (cgroup v2)"
fi

# Newer Flatcar releases ship logrotate in /usr/bin; point containerd's logrotate unit there.
UNIT=/etc/systemd/system/containerd-logrotate.service
if [ -x /usr/bin/logrotate ] && [ -f "$UNIT" ] && grep -q '/usr/sbin/logrotate' "$UNIT"; then
  sed -i 's|/usr/sbin/logrotate|/usr/bin/logrotate|' "$UNIT"
  systemctl daemon-reload
  echo "Pointed containerd-logrotate.service at /usr/bin/logrotate"
fi
