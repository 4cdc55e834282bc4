#!/usr/bin/env bash
# Sets up a fresh Debian machine for IOMMU Lab: Debian's Chromium (browser tests, PDF export), the npm
# packages (npm install, not npm ci: the registry here lacks some optional platform packages), and
# the build (out/main, out/preload, out/renderer, out/cli). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
command -v iasl >/dev/null 2>&1 || apt_packages+=(acpica-tools)
command -v pdftoppm >/dev/null 2>&1 || apt_packages+=(poppler-utils)
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  else
    echo "setup: please install the Debian packages: ${apt_packages[*]} (needed by the browser tests)" >&2
  fi
fi

npm install --no-audit --no-fund
npm run build
