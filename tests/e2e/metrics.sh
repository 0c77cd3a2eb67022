#!/usr/bin/env bash
# metrics.sh: the web console's Prometheus /metrics (docs/WEB.md, Metrics): text format 0.0.4
# checked by promtool; the metrics token (open without one, 401 without it once made); a real
# Prometheus (Debian's, started here with a temporary configuration and data directory on
# loopback, stopped at the end) scrapes it every second, and a query answers the active-call count
# during a call from SIPp playing the carrier to a SIPp phone, then 0 and one answered call after
# it; a phone registered by SIPp shows in mikaka_registrations by peer and transport.
# Loopback 127.0.7.10-15; HTTP on 18782, Prometheus on 19782.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.7.10
SIPPORT=15782
PORT=18782
PROM=127.0.7.15:19782
U=http://$ADDR:$PORT

for t in curl promtool prometheus jq; do
	command -v $t >/dev/null || { notok "$t missing (scripts/deps.sh check)"; exit 1; }
done

CONF=$WORK/conf
web_pbx_conf "$CONF" $ADDR $SIPPORT 127.0.7.11 15783 127.0.7.12:15784
web_conf "$CONF" $ADDR:$PORT
daemon_start "$CONF"

# ---- the format ----
curl -s -D "$WORK/m.hdr" -o "$WORK/m.txt" $U/metrics
check "metrics-open-without-token" grep -q '^HTTP/1.1 200' "$WORK/m.hdr"
check "metrics-content-type" grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/m.hdr"
check "metrics-csp" grep -qi '^content-security-policy:' "$WORK/m.hdr"
check "promtool-check" promtool check metrics <"$WORK/m.txt"
promtool check metrics <"$WORK/m.txt" 2>&1 | head -5
check "metrics-calls-active-0" grep -qx 'mikaka_calls_active 0' "$WORK/m.txt"
check "metrics-rss" grep -q '^process_resident_memory_bytes [1-9][0-9]*$' "$WORK/m.txt"
check "metrics-post-405" test "$(code -X POST $U/metrics)" = 405

# ---- the token ----
MTOKEN=$(cli web metrics-token)
check "metrics-token-made" grep -qx '[0-9a-f]\{64\}' <<<"$MTOKEN"
check "metrics-401-without-token" test "$(code $U/metrics)" = 401
check "metrics-401-wrong-token" test "$(code -H "Authorization: Bearer x$MTOKEN" $U/metrics)" = 401
check "metrics-200-with-token" test "$(code -H "Authorization: Bearer $MTOKEN" $U/metrics)" = 200
check "metrics-token-not-api" test "$(code -H "Authorization: Bearer $MTOKEN" $U/api/session)" = 401

# ---- a registered phone ----
sipp_register 802 pw802 127.0.7.13 15785 $ADDR:$SIPPORT
curl -s -H "Authorization: Bearer $MTOKEN" $U/metrics >"$WORK/m2.txt"
check "metrics-registration-by-peer" grep -qx 'mikaka_registrations{peer="802",transport="UDP"} 1' "$WORK/m2.txt"
check "metrics-register-ok" grep -qx 'mikaka_register_requests_total{result="ok"} 1' "$WORK/m2.txt"
check "promtool-check-2" promtool check metrics <"$WORK/m2.txt"

# ---- a real Prometheus scrapes it ----
mkdir -p "$WORK/prom"
printf '%s' "$MTOKEN" >"$WORK/prom/token"
cat >"$WORK/prom/prometheus.yml" <<EOT
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mikaka
    authorization:
      credentials_file: $WORK/prom/token
    static_configs:
      - targets: ['$ADDR:$PORT']
EOT
timeout 120 prometheus --config.file="$WORK/prom/prometheus.yml" \
	--storage.tsdb.path="$WORK/prom/data" --web.listen-address=$PROM \
	--log.level=warn >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
query() { # query EXPR: the first result's value, or nothing
	curl -s --max-time 2 "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
up=
for _ in $(seq 60); do
	up=$(query 'up{job="mikaka"}')
	[ "$up" = 1 ] && break
	sleep 0.5
done
check "prometheus-scrapes-up" test "$up" = 1

# The carrier calls in, phone 801 answers, the carrier holds the call 8 s.
sipp_bg phone-answer call-phone-uas.xml 127.0.7.12 15784; phone=$BG
sleep 0.3
sipp_bg carrier-in web-carrier-in-long.xml 127.0.7.11 15783 $ADDR:$SIPPORT; carrier=$BG
active=
for _ in $(seq 24); do
	sleep 0.25
	active=$(query 'mikaka_calls_active')
	[ "$active" = 1 ] && break
done
check "prometheus-query-active-call" test "$active" = 1
echo "# mikaka_calls_active during the call, from Prometheus: ${active:-none}"
wait_ok carrier-in "$carrier"
wait_ok phone-answer "$phone"
for _ in $(seq 20); do
	sleep 0.25
	active=$(query 'mikaka_calls_active')
	answered=$(query 'mikaka_calls_total{disposition="answered"}')
	[ "$active" = 0 ] && [ "$answered" = 1 ] && break
done
check "prometheus-query-after-call" test "$active/$answered" = 0/1
check "prometheus-setup-histogram" test "$(query 'mikaka_call_setup_seconds_count')" = 1
# the families each module writes beside the call counters
curl -s -H "Authorization: Bearer $MTOKEN" $U/metrics >"$WORK/m3.txt"
check "promtool-check-3" promtool check metrics <"$WORK/m3.txt"
promtool check metrics <"$WORK/m3.txt" 2>&1 | head -5
check "metrics-setup-count" grep -qx 'mikaka_call_setup_seconds_count 1' "$WORK/m3.txt"
check "metrics-setup-inf" grep -qx 'mikaka_call_setup_seconds_bucket{le="+Inf"} 1' "$WORK/m3.txt"
check "metrics-setup-under-1s" grep -qx 'mikaka_call_setup_seconds_bucket{le="1"} 1' "$WORK/m3.txt"
check "metrics-store-commits" grep -q '^mikaka_store_commit_seconds_count [1-9]' "$WORK/m3.txt"
check "metrics-store-writes" grep -q '^mikaka_store_writes_total [1-9]' "$WORK/m3.txt"
check "metrics-rtp-families" bash -c "grep -q '^mikaka_rtp_packets_total{direction=\"rx\"} ' '$WORK/m3.txt' && grep -q '^mikaka_rtp_bytes_total{direction=\"tx\"} ' '$WORK/m3.txt' && grep -q '^mikaka_rtp_lost_packets_total ' '$WORK/m3.txt' && grep -q '^mikaka_rtp_jitter_seconds_count ' '$WORK/m3.txt'"
check "metrics-auth-failures" grep -qx 'mikaka_auth_failures_total{request="REGISTER"} 0' "$WORK/m3.txt"
check "metrics-line-change-family" grep -q '^# TYPE mikaka_line_registered_change_time_seconds gauge' "$WORK/m3.txt"
check "prometheus-registrations" test "$(query 'sum(mikaka_registrations)')" = 1
lag=$(query 'mikaka_loop_lag_max_seconds')
echo "# worst loop lag seen: ${lag:-?} s"
check "prometheus-loop-lag-known" test -n "$lag"
check "prometheus-log-clean" bash -c "! grep -qi 'level=error' '$WORK/prometheus.log'"

check "daemon-stops-clean" stop_daemon
finish
