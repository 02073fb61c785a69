#!/usr/bin/env bash
# Installs the real servers the end-to-end tests and the demo start: Debian's
# Prosody with prosody-modules (mod_privilege) and, unless called with
# "prosody", ejabberd, RabbitMQ (the MongooseIM route's broker) and
# Debian's Chromium, which the dashboard test drives with playwright-core (a
# browser download needs the internet; apt does not).
# Uses sudo when not root. Tests and the demo run their own instances; a
# service the package starts (where policy-rc.d allows it) is stopped again,
# because Debian's RabbitMQ and its epmd listen on every interface.
set -euo pipefail
need=()
command -v prosodyctl >/dev/null 2>&1 || need+=(prosody)
[ -f /usr/lib/prosody/modules/mod_privilege/mod_privilege.lua ] || need+=(prosody-modules)
if [ "${1:-all}" != "prosody" ]; then
  command -v ejabberdctl >/dev/null 2>&1 || [ -x /usr/sbin/ejabberdctl ] || need+=(ejabberd)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
for pkg in "${need[@]}"; do
  if [ "$pkg" = rabbitmq-server ]; then
    $sudo service rabbitmq-server stop >/dev/null 2>&1 || true
    # The system epmd (0.0.0.0:4369) it may have started; refuses if nodes still use it.
    $sudo epmd -kill >/dev/null 2>&1 || true
  fi
done
