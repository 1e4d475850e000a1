#!/usr/bin/env bash
# System packages the test suite needs, from Debian's archive: chromium (the dashboard's browser
# test drives it with Playwright; Playwright's own browser download is not used) and a font with
# Chinese glyphs (fan charts with Chinese cluster names). Installs what is missing when run as
# root with apt-get; otherwise says what to install and exits 0 (the tests then skip or fall back).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "cjk" || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system_deps: apt-get install ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "system_deps: not installed: ${missing[*]} (as root: apt-get install -y ${missing[*]})" >&2
fi
