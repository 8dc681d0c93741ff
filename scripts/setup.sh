#!/bin/sh
# Installs what vouch's sandbox needs on Debian: bubblewrap (design §4-5), and fills the
# wheelhouse the PyPI tests build from. Idempotent: each step is a no-op when already done.
# Installing bubblewrap needs root.
set -eu

if command -v bwrap >/dev/null 2>&1; then
	echo "bwrap present: $(command -v bwrap)"
else
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: bwrap is missing and installing it needs root (apt-get install bubblewrap)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends bubblewrap
	command -v bwrap >/dev/null 2>&1 || { echo "setup.sh: bubblewrap installed but bwrap not on PATH" >&2; exit 1; }
	echo "bwrap installed: $(command -v bwrap)"
fi

# optional NAME PACKAGE PRESENT WITHOUT installs the Debian PACKAGE unless the shell test
# PRESENT holds; without root or apt-get, or when the install fails, it says WITHOUT (what
# vouch does without it) and carries on.
optional() {
	if eval "$3"; then
		echo "$1 present"
	elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		if apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1 ||
			{ apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1; }; then
			echo "$1 installed"
		else
			echo "setup.sh: could not install $2; $4" >&2
		fi
	else
		echo "setup.sh: $2 not installed (needs root); $4" >&2
	fi
}

# ISA-L inflates gzip about 3x faster than the pure-Go default (internal/archive, build tag
# isal); scripts/vouch and scripts/test use it when its header is present. Optional: without
# it everything works, only slower.
optional ISA-L libisal-dev '[ -e /usr/include/isa-l/igzip_lib.h ]' "gzip is inflated in pure Go"

# libfaketime starts npm build scripts' clock at the release commit's time in the bwrap
# sandbox (copyright years and dates stamped into bundles); without it builds see the real
# clock and the tests that need it are skipped.
optional libfaketime libfaketime '[ -n "$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 2>/dev/null)" ]' \
	"builds see the real clock"

# jq: publishing workflows write the published package.json with it (typestack's `jq
# 'del(.devDependencies) | del(.scripts)' package.json > build/package.json`), and the rebuild
# runs their commands.
optional jq jq 'command -v jq >/dev/null 2>&1' "workflow-published packages whose workflow uses it fail to build"

# make: packages released by a Makefile (react-modal, async 2) are built with its build target.
optional make make 'command -v make >/dev/null 2>&1' "Makefile-released packages fail to build"

# PyPI tests (internal/ecosystem/pypi) build real wheels with pip and build; `go test` must not
# reach the internet, so the build backends are downloaded here, once per machine, and the
# tests serve them from a fake index. VOUCH_TEST_WHEELHOUSE overrides the location.
wheelhouse="${VOUCH_TEST_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/vouch-test/wheelhouse}"
if command -v python3 >/dev/null 2>&1; then
	missing=""
	for w in build setuptools wheel flit_core hatchling poetry_core packaging pyproject_hooks; do
		ls "$wheelhouse"/"$w"-*.whl >/dev/null 2>&1 || missing="$missing $w"
	done
	if [ -n "$missing" ]; then
		mkdir -p "$wheelhouse"
		python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: -d "$wheelhouse" \
			build setuptools wheel flit_core hatchling poetry-core pdm-backend setuptools-scm
		echo "wheelhouse filled: $wheelhouse"
	else
		echo "wheelhouse present: $wheelhouse"
	fi
else
	echo "setup.sh: python3 not found; the PyPI end-to-end tests will be skipped" >&2
fi

# npm tests of Yarn ≥ 2 projects (internal/cli) put a real Yarn release into their fixture
# repositories, as such projects commit theirs (.yarnrc.yml yarnPath). Downloaded here once,
# integrity-checked by npm; VOUCH_TEST_YARN overrides the location.
yarn_release="${VOUCH_TEST_YARN:-${XDG_CACHE_HOME:-$HOME/.cache}/vouch-test/yarn/yarn-3.8.6.cjs}"
if [ -s "$yarn_release" ]; then
	echo "yarn release present: $yarn_release"
elif command -v npm >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	(cd "$tmp" && npm pack --silent @yarnpkg/cli-dist@3.8.6 >/dev/null && tar -xzf yarnpkg-cli-dist-3.8.6.tgz package/bin/yarn.js)
	mkdir -p "$(dirname "$yarn_release")"
	mv "$tmp/package/bin/yarn.js" "$yarn_release"
	rm -rf "$tmp"
	echo "yarn release downloaded: $yarn_release"
else
	echo "setup.sh: npm not found; the npm tests cannot run" >&2
fi
