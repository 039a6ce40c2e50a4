#!/usr/bin/env bash
# End to end on a kind cluster (GitHub Actions' e2e job; needs docker, kind, kubectl, helm, cargo):
# builds each extension's image and loads it into the cluster, installs each chart, applies
# example/, and waits until every extension object reports Succeeded. gardener-resource-manager
# is not there: `local-seed --resource-manager-for` reports the ManagedResources healthy instead.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster="${KIND_CLUSTER:-kind}"
tag=e2e
namespace=shoot--foo--bar
extensions=(mwe os-coreos runtime-gvisor shoot-flux)
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"

dump() {
  set +e
  for ext in "${extensions[@]}"; do
    echo "::group::logs of gardener-extension-${ext}"
    kubectl -n "extension-${ext}" logs "deployment/gardener-extension-${ext}" --all-containers --tail=200
    echo "::endgroup::"
  done
  kubectl -n "$namespace" get extensions.extensions.gardener.cloud,operatingsystemconfigs,containerruntimes,managedresources -o yaml
}
trap 'dump' ERR

for ext in "${extensions[@]}"; do
  image="gardener-extension-${ext}:${tag}"
  docker build --build-arg GIT_COMMIT="$commit" --target "gardener-extension-${ext}" --tag "$image" .
  docker run --rm "$image" --version
  kind load docker-image --name "$cluster" "$image"
done

kubectl apply -f example/seed-crds
kubectl wait --for condition=established --timeout=60s crd --all
kubectl apply -f - <<'YAML'
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: gardener-system-900
value: 999998900
description: Gardener's priority class for extension controllers (as in a seed).
YAML

for ext in "${extensions[@]}"; do
  pull=(--set image.pullPolicy=Never)
  [ "$ext" = shoot-flux ] && pull=(--set imagePullPolicy=Never)
  helm upgrade --install "gardener-extension-${ext}" "charts/gardener-extension-${ext}" \
    --namespace "extension-${ext}" --create-namespace \
    --set "image.repository=gardener-extension-${ext}" --set "image.tag=${tag}" "${pull[@]}" \
    --wait --timeout 3m
done

cargo build --locked --release -p local-seed
target/release/local-seed --resource-manager-for "${KUBECONFIG:-$HOME/.kube/config}" &
stand_in=$!
trap 'kill "$stand_in" 2>/dev/null; dump' ERR
trap 'kill "$stand_in" 2>/dev/null' EXIT

kubectl apply -f example/seed
for resource in extensions.extensions.gardener.cloud operatingsystemconfigs.extensions.gardener.cloud containerruntimes.extensions.gardener.cloud; do
  kubectl -n "$namespace" wait "$resource" --all \
    --for=jsonpath='{.status.lastOperation.state}'=Succeeded --timeout=5m
done
kubectl -n "$namespace" get extensions.extensions.gardener.cloud,operatingsystemconfigs,containerruntimes
echo "every example object reports Succeeded"
