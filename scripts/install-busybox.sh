#!/usr/bin/env bash
# BusyBox for tests/policies/test_shell.py, which checks the shell-wrapper analysis against real
# shells (dash and bash ship with Debian; BusyBox is what Alpine images run as /bin/sh). Without
# it those cases are skipped, so a failed install does not fail the build.
set -uo pipefail
command -v busybox >/dev/null && exit 0
command -v apt-get >/dev/null || exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq busybox >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq busybox >/dev/null 2>&1; } || true
fi
exit 0
