#!/bin/sh
# Unit-tests the pure parts of the demo guest natively (lib, async ring,
# demofs) and checks that a mkfs.ts image mounts in the guest's fs code.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/demo-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

RENAME="-Dmemset=demo_memset -Dmemcpy=demo_memcpy -Dmemmove=demo_memmove -Dmemcmp=demo_memcmp \
 -Dstrlen=demo_strlen -Dstrcmp=demo_strcmp -Dstrncmp=demo_strncmp -Dstrlcpy=demo_strlcpy \
 -Dvsnprintf=demo_vsnprintf -Dsnprintf=demo_snprintf"
CFLAGS="-m32 -O1 -g -Wall -Wextra -Werror -fno-builtin -fsanitize=undefined -fno-sanitize-recover"
# shellcheck disable=SC2086
gcc $CFLAGS $RENAME -o "$TMP/native_test" "$HERE/tests/native_test.c" "$HERE/kernel/lib.c" \
	"$HERE/kernel/hcring.c" "$HERE/kernel/fs.c" 2>"$TMP/cc.log" || {
	# UBSan may be unavailable for -m32: retry without it.
	CFLAGS="-m32 -O1 -g -Wall -Wextra -Werror -fno-builtin"
	# shellcheck disable=SC2086
	gcc $CFLAGS $RENAME -o "$TMP/native_test" "$HERE/tests/native_test.c" "$HERE/kernel/lib.c" \
		"$HERE/kernel/hcring.c" "$HERE/kernel/fs.c"
}

if command -v npx >/dev/null 2>&1 && [ -d "$ROOT/node_modules/tsx" ]; then
	(cd "$ROOT" && npx --no-install tsx "$HERE/mkfs.ts" "$TMP/disk.img" --sectors 256 \
		"note.txt:from mkfs.ts" >/dev/null)
	"$TMP/native_test" "$TMP/disk.img" note.txt "from mkfs.ts
"
else
	echo "test-native.sh: tsx not installed; skipping the mkfs.ts image check" >&2
	"$TMP/native_test"
fi
