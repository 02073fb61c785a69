#!/usr/bin/env bash
# Installs the real servers the end-to-end tests and the demo start: Debian's
# Prosody with prosody-modules (mod_privilege) and, unless called with
# "prosody", ejabberd and Debian's Chromium, which the dashboard test drives
# with playwright-core (a browser download needs the internet; apt does not).
# Uses sudo when not root. Installing does not start them: tests and the demo
# run their own instances.
set -euo pipefail
need=()
command -v prosodyctl >/dev/null 2>&1 || need+=(prosody)
[ -f /usr/lib/prosody/modules/mod_privilege/mod_privilege.lua ] || need+=(prosody-modules)
if [ "${1:-all}" != "prosody" ]; then
  command -v ejabberdctl >/dev/null 2>&1 || [ -x /usr/sbin/ejabberdctl ] || need+=(ejabberd)
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
