#!/usr/bin/env bash
# Install the Debian packages the end-to-end tests need, if missing:
#   Go with gin and golang-jwt (the Go neighbour service, built offline in GOPATH mode),
#   Chromium and its driver (the headless browser test),
#   kubectl from kubernetes-client (the kustomize build of example_project/k8s).
# As root on Debian it runs apt-get. Elsewhere (not root, or no apt-get) it says what is missing
# and carries on, so `make test` still runs and those tests skip, each saying what to install;
# with CI=true a missing package fails here, since CI must run everything.
set -euo pipefail

packages=(
  golang-go
  golang-github-gin-gonic-gin-dev
  golang-github-golang-jwt-jwt-dev
  chromium
  chromium-driver
)
# Any kubectl on PATH does for `kubectl kustomize` (another one, e.g. the Google Cloud SDK's,
# owns /usr/bin/kubectl, which kubernetes-client would conflict with).
command -v kubectl >/dev/null || packages+=(kubernetes-client)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]} (or your system's equivalents)" >&2
  if [ "${CI:-}" = "true" ]; then
    exit 1
  fi
  echo "Carrying on: the tests that need them will be skipped." >&2
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
