#!/usr/bin/env bash
# deps.sh: the one list of Debian packages mikaka needs; installs whichever are missing.
# Usage: scripts/deps.sh run|check|bench|all   (list MODE: print that mode's packages, install nothing)
set -euo pipefail

# Building the daemon and the client.
# The web console: libwebsockets and libuv (dlopened when [web] is configured), libcrypt (yescrypt).
# Notifications: libcurl (its header at build time; libcurl.so.4 dlopened when [notify] exists).
# SRTP is ours on OpenSSL's libcrypto (libssl-dev's headers; dlopened on the first encrypted call).
BUILD_PKGS=(gcc make pkg-config libsqlite3-dev libmnl-dev nettle-dev libspandsp-dev libssl-dev
	libwebsockets-dev libuv1-dev libcrypt-dev libcurl4-openssl-dev)
# Running: the English prompts (8 kHz WAV in /usr/share/asterisk/sounds/en) and the music on hold
# of the `default` class (/usr/share/asterisk/moh) the dialplan's media applications play; the
# IANA time zones the dialplan's time conditions may name (/usr/share/zoneinfo).
SOUND_PKGS=(asterisk-core-sounds-en-wav asterisk-moh-opsound-wav tzdata)
# Tests: unit tests (cmocka), fuzzing (clang's libFuzzer), the SIP peer (SIPp), tools used by the
# end-to-end scripts. libsrtp2-dev: the reference SRTP that tests/unit/test_srtp.c checks ours against.
# Packaging and service tests (tests/e2e/install.sh, deb.sh): the .deb build and its checks,
# systemd-analyze, man pages rendered, the sd_notify listener. curl: the web console's tests;
# prometheus: promtool and a real scraper for /metrics; chromium, chromium-driver,
# python3-selenium: a real browser on the console's pages. msmtp: a real sendmail-style mail
# client as voicemail's mailcmd (tests/e2e/vmmail.sh). iptables: the home router's NAT in
# tests/e2e/nat.sh (externaddr=, localnet=).
CHECK_PKGS=(libcmocka-dev libsrtp2-dev clang libclang-rt-14-dev sip-tester xz-utils tar iproute2 procps psmisc dnsmasq-base sqlite3 kea-dhcp4-server jq baresip-core twinkle-console linphone-cli
	debhelper dpkg-dev fakeroot lintian systemd man-db groff-base python3 adduser openssl tcpdump
	curl prometheus chromium chromium-driver python3-selenium msmtp iptables)
# Benchmarks: Kamailio is the peer measured in the same run (its tls module for the TLS rows;
# openssl makes its certificate).
BENCH_PKGS=(kamailio kamailio-tls-modules sip-tester procps rtpengine-daemon openssl)

mode=${1:-run}
if [ "$mode" = list ]; then
	mode=${2:-run}
	list_only=1
fi
case "$mode" in
run) want=("${BUILD_PKGS[@]}" "${SOUND_PKGS[@]}") ;;
check) want=("${BUILD_PKGS[@]}" "${SOUND_PKGS[@]}" "${CHECK_PKGS[@]}") ;;
bench) want=("${BUILD_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
all) want=("${BUILD_PKGS[@]}" "${SOUND_PKGS[@]}" "${CHECK_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
*) echo "usage: $0 run|check|bench|all" >&2; exit 2 ;;
esac

if [ "${list_only:-0}" = 1 ]; then
	echo "${want[*]}"
	exit 0
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null; then SUDO=sudo; else
		echo "deps: missing packages and not root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
