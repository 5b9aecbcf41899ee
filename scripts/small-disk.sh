#!/usr/bin/env bash
# Mounts a small tmpfs for the full-disk tests (idempotent) and prints its path. The
# tests fill it up on purpose; nothing else uses it.
#
#   JIEYUE_TEST_SMALL_DISK_DIR  mount point (default /var/tmp/jieyue-small-disk)
set -euo pipefail
dir="${JIEYUE_TEST_SMALL_DISK_DIR:-/var/tmp/jieyue-small-disk}"
mkdir -p "$dir"
if ! mountpoint -q "$dir"; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ mount -t tmpfs -o size=16m,mode=1777 jieyue-small-disk "$dir" >&2
fi
echo "$dir"
