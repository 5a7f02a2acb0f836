#!/bin/sh
# Rebuilds the demo guest into a temporary directory and fails if the result
# differs from the committed assets/guests/demo/demo.elf or user-symbols/.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/demo-check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

if [ ! -f "$HERE/demo.elf" ]; then
	echo "check.sh: $HERE/demo.elf is missing (run build.sh)" >&2
	exit 1
fi
# Debuggers (gdb, the Debugger tab) find functions and variables by name: the symbols must ship.
for sym in lguest_entry console_write jiffies; do
	if ! nm "$HERE/demo.elf" | grep -q " $sym\$"; then
		echo "check.sh: demo.elf has no symbol $sym (was it stripped?)" >&2
		exit 1
	fi
done
"$HERE/build.sh" "$TMP/demo.elf" >/dev/null
# The profiler names user code by the programs' symbol maps: they must match the programs built.
if ! diff -r "$HERE/user-symbols" "$TMP/user-symbols" >/dev/null 2>&1; then
	echo "check.sh: user-symbols/ is stale or missing (run assets/guests/demo/build.sh and commit it)" >&2
	exit 1
fi
if ! grep -q ' T main$' "$HERE/user-symbols/bench.map"; then
	echo "check.sh: user-symbols/bench.map has no symbol main" >&2
	exit 1
fi
want=$(sha256sum <"$HERE/demo.elf" | cut -d' ' -f1)
got=$(sha256sum <"$TMP/demo.elf" | cut -d' ' -f1)
if [ "$want" != "$got" ]; then
	echo "check.sh: demo.elf is stale: committed $want, rebuilt $got" >&2
	echo "check.sh: run assets/guests/demo/build.sh and commit demo.elf" >&2
	exit 1
fi
echo "check.sh: demo.elf and user-symbols/ are up to date ($got)"
