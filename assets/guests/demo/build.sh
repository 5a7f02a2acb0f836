#!/bin/sh
# Builds the lguest demo guest: assets/guests/demo/demo.elf (or $1), and user-symbols/ beside it.
# Deterministic: fixed flags, no timestamps, no build-path dependence.
# Needs: gcc with -m32 support (gcc-multilib), nasm, binutils.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-"$HERE/demo.elf"}
BUILD=$(mktemp -d "${TMPDIR:-/tmp}/demo-guest.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT INT TERM

CC=${CC:-gcc}
LD=${LD:-ld}
OBJCOPY=${OBJCOPY:-objcopy}
NASM=${NASM:-nasm}
NM=${NM:-nm}

export LC_ALL=C
cd "$HERE"

for tool in "$CC" "$LD" "$OBJCOPY" "$NASM" "$NM"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build.sh: $tool not found (Debian: apt-get install -y gcc-multilib nasm binutils)" >&2
		exit 1
	fi
done
if ! echo 'int x;' | $CC -m32 -x c -c -o "$BUILD/probe.o" - 2>/dev/null; then
	echo "build.sh: $CC cannot build 32-bit code (Debian: apt-get install -y gcc-multilib)" >&2
	exit 1
fi

COMMON="-m32 -march=i686 -O2 -std=gnu11 -ffreestanding -fno-builtin -fno-pic -fno-pie \
 -fno-stack-protector -mno-sse -mno-sse2 -mno-mmx -mno-3dnow -fno-common \
 -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-tree-loop-distribute-patterns \
 -fno-strict-aliasing -fno-ident -g0 -ffile-prefix-map=$HERE=. -Wall -Wextra -Werror"
# The kernel never touches the FPU itself (lazy FPU switching relies on it).
KCFLAGS="$COMMON -mgeneral-regs-only"
UCFLAGS="$COMMON -mfpmath=387"
LIBGCC=$($CC -m32 -print-libgcc-file-name)
LDFLAGS="-m elf_i386 -nostdlib --build-id=none -z noexecstack -z norelro"
ULDFLAGS="$LDFLAGS --no-warn-rwx-segments"

# --- user programs: flat binaries linked at 0x08048000 -------------------
# Each also gets a symbol map, user-symbols/NAME.map beside the kernel, for the profiler: a
# "# signature ADDRESS HEX" line (the program's first bytes as loaded, which tell the programs
# apart in a running guest), then its code and data symbols in System.map form.
$NASM -f elf32 -o "$BUILD/crt0.o" user/crt0.asm
$CC $UCFLAGS -c -o "$BUILD/ulib.o" user/ulib.c
$CC $UCFLAGS -c -o "$BUILD/ulib-lib.o" kernel/lib.c
mkdir "$BUILD/user-symbols"
for prog in hello bench fault spin rev fpfmt; do
	$CC $UCFLAGS -c -o "$BUILD/$prog.o" "user/$prog.c"
	$LD $ULDFLAGS -T user/user.ld -o "$BUILD/$prog.elf" "$BUILD/crt0.o" "$BUILD/$prog.o" \
		"$BUILD/ulib.o" "$BUILD/ulib-lib.o" "$LIBGCC"
	$OBJCOPY -O binary "$BUILD/$prog.elf" "$BUILD/$prog.bin"
	{
		echo "# user program $prog of the demo guest (written by build.sh)"
		echo "# signature 08048000 $(od -An -tx1 -v -N64 "$BUILD/$prog.bin" | tr -d ' \n')"
		$NM -n "$BUILD/$prog.elf" | grep -E '^[0-9a-f]{8} [tTdDbBrR] '
	} >"$BUILD/user-symbols/$prog.map"
done

# --- kernel ------------------------------------------------------------------
KOBJS=""
for src in main lguest hcring mm trap sched console blk net fs shell lib; do
	$CC $KCFLAGS -c -o "$BUILD/k-$src.o" "kernel/$src.c"
	KOBJS="$KOBJS $BUILD/k-$src.o"
done
$NASM -f elf32 -o "$BUILD/entry.o" kernel/entry.asm
(cd "$BUILD" && $NASM -f elf32 -o blobs.o "$HERE/kernel/blobs.asm")
# entry.o first: the "GenuineLguest" marker and entry code open .text.
# shellcheck disable=SC2086
$LD $LDFLAGS -T kernel/kernel.ld -o "$BUILD/demo.elf" "$BUILD/entry.o" $KOBJS "$BUILD/blobs.o" "$LIBGCC"
$OBJCOPY --strip-debug --remove-section=.comment "$BUILD/demo.elf"

# --- sanity: the Launcher needs exactly one marker ---------------------------
n=$(grep -oa GenuineLguest "$BUILD/demo.elf" | wc -l)
if [ "$n" -ne 1 ]; then
	echo "build.sh: marker GenuineLguest found $n times (need exactly 1)" >&2
	exit 1
fi

MAPS="$(dirname "$OUT")/user-symbols"
rm -rf "$MAPS.tmp"
cp -R "$BUILD/user-symbols" "$MAPS.tmp"
rm -rf "$MAPS"
mv "$MAPS.tmp" "$MAPS"
cp "$BUILD/demo.elf" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "built $OUT ($(wc -c <"$OUT") bytes) and the user programs' symbol maps in $MAPS"
