#!/usr/bin/env bash
# System packages the browser tests need (Debian's chromium; Playwright's own
# browser download does not work on these machines).  Idempotent.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium missing: run as root or sudo apt-get install -y chromium (the browser test fails without it)" >&2
  fi
fi
