#!/bin/sh
# Rebuild the host's test guests: flat binaries loaded at PAGE_OFFSET + 1 MiB by test-launcher.ts.
set -e
cd "$(dirname "$0")"
for src in *.asm; do
  nasm -f bin -I ./ "$src" -o "${src%.asm}.bin"
done
