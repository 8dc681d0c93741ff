#!/bin/sh
# Installs what vouch's sandbox needs on Debian: bubblewrap (design §4-5). Idempotent; a no-op
# when bwrap is already on PATH. Run as root.
set -eu

if command -v bwrap >/dev/null 2>&1; then
	echo "bwrap present: $(command -v bwrap)"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: bwrap is missing and installing it needs root (apt-get install bubblewrap)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends bubblewrap
command -v bwrap >/dev/null 2>&1 || { echo "setup.sh: bubblewrap installed but bwrap not on PATH" >&2; exit 1; }
echo "bwrap installed: $(command -v bwrap)"
