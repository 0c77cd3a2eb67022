#!/usr/bin/env bash
# dialplan.sh: the post's sip.conf and extensions.conf load unchanged; `mikaka dialplan show`
# lists and matches their extensions; `mikaka sip show peers|peer|settings` show the peers; a
# changed file is applied by `mikaka reload`, a broken one is refused with file:line while the
# old dialplan keeps answering; `mikakad -t` on a broken tree exits 1 naming the line.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.0.15 PORT=5070
CONF=$WORK/conf
mkdir -p "$CONF"
cp "$ROOT/etc/post/sip.conf" "$ROOT/etc/post/extensions.conf" "$CONF/"
# Only the listening address differs from the post: loopback for the test. The register =>
# line is dropped so nothing is sent toward the (documentation) carrier address.
sed -i "s/^\[general\]/[general]\nudpbindaddr=$ADDR:$PORT/; /^register *=>/d" "$CONF/sip.conf"

check "post-files-check-ok" "$MIKAKAD" -C "$CONF" -t
daemon_start "$CONF"
M() { "$MIKAKA" -s "$CTL" "$@"; }

out=$(M dialplan show from_phone)
echo "$out" | sed 's/^/# /'
check "show-context-lists-_80Z" grep -q "'_80Z' =>" <<<"$out"
check "show-context-lists-_0." grep -q "'_0\.' =>" <<<"$out"
out=$(M dialplan show 0312345678@from_phone)
check "show-exten-matches-_0." grep -q "'_0\.' =>" <<<"$out"
check "show-exten-not-_80Z" bash -c "! grep -q \"'_80Z'\" <<<\"\$1\"" _ "$out"
M dialplan show nosuchcontext >/dev/null 2>&1
check "show-unknown-context-fails" test $? != 0

out=$(M sip show peers)
echo "$out" | sed 's/^/# /'
check "peers-lists-801" grep -q "^801" <<<"$out"
check "peers-lists-gateway" grep -q "^mikaka-gw" <<<"$out"
out=$(M sip show peer 801)
check "peer-801-secret-hidden" grep -q "Secret.*<Set>" <<<"$out"
check "peer-801-no-secret-in-clear" bash -c "! grep -q 's3cr3t\|801secret' <<<\"\$1\"" _ "$out"
M sip show peer nobody >/dev/null 2>&1
check "peer-unknown-fails" test $? != 0
check "settings-shows-realm" grep -qi "realm.*ntt-east.ne.jp" <<<"$(M sip show settings)"

# A new extension, applied by reload.
printf '\n[from_phone]\nexten => 555,1,Answer()\nsame => n,Hangup()\n' >>"$CONF/extensions.conf"
out=$(M reload); rc=$?
check "reload-good-config" test $rc = 0
check "reload-shows-new-extension" grep -q "'555' =>" <<<"$(M dialplan show from_phone)"

# A broken file: refused, with file:line, and the old dialplan stays.
cp "$CONF/extensions.conf" "$WORK/ext.good"
printf '\n[from_phone]\nexten => 556,1,NoSuchApplication(x)\n' >>"$CONF/extensions.conf"
line=$(wc -l <"$CONF/extensions.conf")
out=$(M reload 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "reload-broken-refused" test $rc != 0
check "reload-broken-names-file-line" grep -q "extensions.conf:$line" <<<"$out"
check "old-dialplan-still-answers" grep -q "'555' =>" <<<"$(M dialplan show from_phone)"
check "broken-extension-not-loaded" bash -c "! grep -q \"'556'\" <<<\"\$1\"" _ "$(M dialplan show from_phone)"

out=$("$MIKAKAD" -C "$CONF" -t 2>&1); rc=$?
check "check-broken-tree-exits-1" test $rc = 1
check "check-broken-tree-names-line" grep -q "extensions.conf:$line" <<<"$out"
printf '[general]\nudpbindaddr=%s:%s\n[nohost]\ntype=peer\ncontext=from_phone\n' "$ADDR" "$PORT" >"$WORK/bad-sip.conf"
mkdir -p "$WORK/bad" && cp "$WORK/bad-sip.conf" "$WORK/bad/sip.conf" && cp "$WORK/ext.good" "$WORK/bad/extensions.conf"
out=$("$MIKAKAD" -C "$WORK/bad" -t 2>&1); rc=$?
check "check-peer-without-host-fails" test $rc = 1 -a -n "$(grep 'sip.conf:3' <<<"$out")"

cp "$WORK/ext.good" "$CONF/extensions.conf"
check "reload-after-fix" M reload

# The native form: mikaka.conf [phones] alone stands for a sip.conf and an extensions.conf.
mkdir -p "$WORK/native"
printf '[phones]\n801 = secret-one\n802 = secret-two\n' >"$WORK/native/mikaka.conf"
out=$("$MIKAKAD" -C "$WORK/native" -t 2>&1)
check "native-form-check-ok" grep -q "configuration OK (0 errors" <<<"$out"
printf 'x = y\n' >"$WORK/native/sip.conf"
"$MIKAKAD" -C "$WORK/native" -t >/dev/null 2>&1
check "native-form-and-sip-conf-refused" test $? = 1
# The control socket survives garbage, cut-off commands, endless lines and silent clients.
check "ctl-abuse-handled" "$TOOLS/ctlabuse" "$CTL"
check "ctl-still-answers" M core show version
check "alive" daemon_alive
check "clean-exit" stop_daemon
finish
