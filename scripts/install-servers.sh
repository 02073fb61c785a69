#!/usr/bin/env bash
# Installs the real servers the end-to-end tests and the demo start: Debian's
# Prosody with prosody-modules (mod_privilege) and, unless called with
# "prosody", ejabberd. Uses sudo when not root. Installing does not start
# them: tests and the demo run their own instances.
set -euo pipefail
need=()
command -v prosodyctl >/dev/null 2>&1 || need+=(prosody)
[ -f /usr/lib/prosody/modules/mod_privilege/mod_privilege.lua ] || need+=(prosody-modules)
if [ "${1:-all}" != "prosody" ]; then
  command -v ejabberdctl >/dev/null 2>&1 || [ -x /usr/sbin/ejabberdctl ] || need+=(ejabberd)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
