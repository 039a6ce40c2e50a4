#!/bin/sh
# Installs gVisor on this node and registers it with containerd, then idles.
#
# Runs in the privileged installation DaemonSet with the host's root file system at $HOST_ROOT.
# Every step changes the node only when needed, so restarts of the pod change nothing and
# containerd is restarted only when its configuration changed.
set -eu

HOST_ROOT="${HOST_ROOT:-/var/host}"
CONTENT_DIR="${CONTENT_DIR:-/var/content}"
BIN_DIR=__BIN_DIR__
CONFIG="$HOST_ROOT/etc/containerd/config.toml"
RUNSC_CONFIG="$HOST_ROOT/etc/containerd/runsc.toml"
restart=false

# 1. Binaries: copied only when missing or different. The rename replaces the file atomically, so
#    running shims keep their old binary.
mkdir -p "$HOST_ROOT$BIN_DIR"
for binary in runsc containerd-shim-runsc-v1; do
  target="$HOST_ROOT$BIN_DIR/$binary"
  if [ ! -f "$target" ] || ! cmp -s "$CONTENT_DIR/$binary" "$target"; then
    cp "$CONTENT_DIR/$binary" "$target.new"
    chmod 0755 "$target.new"
    mv -f "$target.new" "$target"
    echo "Installed $binary into $BIN_DIR"
  fi
done

# 2. The runsc runtime in containerd's configuration, when it is not there yet. The CRI plugin's
#    table is named differently in each configuration version.
if [ ! -f "$CONFIG" ]; then
  echo "No containerd configuration at /etc/containerd/config.toml" >&2
  exit 1
fi
if ! grep -q 'containerd\.runtimes\.runsc' "$CONFIG"; then
  version=$(sed -n 's/^version[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$CONFIG" | head -n 1)
  case "$version" in
    3|4) table='plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc' ;;
    2) table='plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc' ;;
    *) table='plugins.cri.containerd.runtimes.runsc' ;;
  esac
  cat >> "$CONFIG" <<RUNTIME

[$table]
  runtime_type = "io.containerd.runsc.v1"

[$table.options]
  TypeUrl = "io.containerd.runsc.v1.options"
  ConfigPath = "/etc/containerd/runsc.toml"
RUNTIME
  echo "Registered the runsc runtime in containerd's configuration (version ${version:-1})"
  restart=true
fi

# 3. runsc's own configuration, from the ContainerRuntime's providerConfig.
desired="$RUNSC_CONFIG.new"
cat > "$desired" <<'RUNSC_TOML'
__RUNSC_TOML__
RUNSC_TOML
if cmp -s "$desired" "$RUNSC_CONFIG"; then
  rm -f "$desired"
else
  mv -f "$desired" "$RUNSC_CONFIG"
  echo "Wrote /etc/containerd/runsc.toml"
  restart=true
fi

# 4. containerd reads its configuration at start only.
if [ "$restart" = true ]; then
  chroot "$HOST_ROOT" systemctl restart containerd
  echo "Restarted containerd"
fi

# ONESHOT=true ends here (tests, manual runs); the DaemonSet keeps the pod alive.
if [ "${ONESHOT:-false}" = true ]; then
  exit 0
fi
while true; do
  sleep 3600
done
