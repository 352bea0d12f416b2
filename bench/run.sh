#!/usr/bin/env bash
# Load benchmark: direct to a fast fake upstream vs nginx proxy_pass vs aiproxy, side by side.
# Builds nothing: expects the release build (make build) to hold bench/fast_upstream and
# apps/aiproxy/aiproxy. Starts every process it needs itself, as the current user, inside one temp
# dir, and stops exactly those processes (by PID) when it ends. Writes a markdown table to
# bench/results/<timestamp>.md and to stdout.
#
# Usage: bench/run.sh [options]
#   -d, --duration SECONDS    wrk run per cell (default $BENCH_DURATION or 10)
#   -w, --warmup SECONDS      wrk warm-up per target, not measured (default 2)
#   -r, --rounds N            interleaved rounds; the table shows each cell's median (default 1)
#   -b, --build DIR           build directory (default $BUILD or build/release)
#   -t, --targets LIST        any of "direct nginx aiproxy aiproxy-lb3" (default: the first three;
#                             aiproxy-lb3 = ai-proxy-advanced round-robin over three targets)
#   -s, --scenarios LIST      any of "chat stream" (default: both)
#   -c, --connections LIST    wrk connection counts (default "1 50")
#       --upstream PATH       fast_upstream binary (default DIR/bench/fast_upstream)
#       --aiproxy PATH        aiproxy binary (default DIR/apps/aiproxy/aiproxy)
#       --wrk-cpu N           core for wrk (default $BENCH_WRK_CPU or 0, see below)
#   -o, --out DIR             results directory (default bench/results)
#
# CPU placement on a 2-core machine: the proxy under test (nginx's one worker, or aiproxy with
# --workers 1) is pinned to core 0, fast_upstream to core 1, and wrk (one thread) by default to
# core 0 next to the proxy. Then a direct request and a proxied one cross between the cores the
# same number of times (client -> upstream core and back), so "added p50" is the proxy's own work
# rather than the price of extra cross-core wake-ups (about 0.1-0.2 ms each on this VM). The cost:
# at 50 connections the proxy shares core 0 with wrk, equally for nginx and aiproxy. --wrk-cpu 1
# puts wrk next to the upstream instead (the proxy gets a whole core; latencies then include two
# extra cross-core hops). CPU per request is per process either way. All targets run at once and
# are measured in interleaved order, cell by cell, so noise from other load hits them alike.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

duration="${BENCH_DURATION:-10}"
warmup=2
rounds="${BENCH_ROUNDS:-1}"
build="${BUILD:-build/release}"
targets="direct nginx aiproxy"
scenarios="chat stream"
connections="1 50"
upstream_bin=""
aiproxy_bin=""
wrk_cpu="${BENCH_WRK_CPU:-0}"
out_dir="$root/bench/results"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    -d|--duration) duration="$2"; shift 2 ;;
    -w|--warmup) warmup="$2"; shift 2 ;;
    -b|--build) build="$2"; shift 2 ;;
    -r|--rounds) rounds="$2"; shift 2 ;;
    -t|--targets) targets="$2"; shift 2 ;;
    -s|--scenarios) scenarios="$2"; shift 2 ;;
    -c|--connections) connections="$2"; shift 2 ;;
    --upstream) upstream_bin="$2"; shift 2 ;;
    --aiproxy) aiproxy_bin="$2"; shift 2 ;;
    --wrk-cpu) wrk_cpu="$2"; shift 2 ;;
    -o|--out) out_dir="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 >&2 ;;
  esac
done
[[ "$build" = /* ]] || build="$root/$build"
upstream_bin="${upstream_bin:-$build/bench/fast_upstream}"
aiproxy_bin="${aiproxy_bin:-$build/apps/aiproxy/aiproxy}"

for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-deps.sh bench)" >&2; exit 1; }
done
[[ -x "$upstream_bin" ]] || { echo "missing $upstream_bin: build it first (make build)" >&2; exit 1; }
nginx_bin="$(command -v nginx || true)"
[[ -n "$nginx_bin" ]] || { [[ -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx; }

proxy_cpu=0; upstream_cpu=1
if (($(nproc) < 2)); then upstream_cpu=0; wrk_cpu=0; fi
clk_tck="$(getconf CLK_TCK)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/aiproxy-bench.XXXXXX")"
started=()  # PIDs this script started; the only ones it stops
cleanup() {
  local pid
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[bench] $*" >&2; }

# Waits until FILE exists and is non-empty (a ready file written atomically), or fails.
wait_file() {
  local file="$1" pid="$2" what="$3" i
  for ((i = 0; i < 500; i++)); do
    [[ -s "$file" ]] && return 0
    kill -0 "$pid" 2>/dev/null || { log "$what exited before it was ready"; return 1; }
    sleep 0.02
  done
  log "$what did not become ready in 10 s"; return 1
}
wait_port() {
  local port="$1" pid="$2" what="$3" i
  for ((i = 0; i < 500; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { log "$what exited before it was ready"; return 1; }
    sleep 0.02
  done
  log "$what did not listen on $port in 10 s"; return 1
}
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
# utime+stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() {
  local s f
  s="$(<"/proc/$1/stat")"
  s="${s##*) }"
  read -r -a f <<<"$s"
  echo $((f[11] + f[12]))
}
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
jget() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }

# ---------------------------------------------------------------- upstream
log "starting fast_upstream on core $upstream_cpu"
taskset -c "$upstream_cpu" "$upstream_bin" --ready-file "$tmp/upstream.ready" >"$tmp/upstream.log" 2>&1 &
upstream_pid=$!
started+=("$upstream_pid")
wait_file "$tmp/upstream.ready" "$upstream_pid" fast_upstream
upstream_addr="$(head -n1 "$tmp/upstream.ready")"
log "fast_upstream at $upstream_addr"

# ---------------------------------------------------------------- proxies
start_nginx() {
  [[ -n "$nginx_bin" ]] || { log "nginx not installed"; return 1; }
  local port conf master i
  port="$(free_port)"
  mkdir -p "$tmp/nginx"
  conf="$tmp/nginx/nginx.conf"
  sed -e "s|@TMP@|$tmp/nginx|g" -e "s|@LISTEN@|127.0.0.1:$port|g" \
      -e "s|@UPSTREAM@|$upstream_addr|g" "$here/nginx.conf.in" >"$conf"
  taskset -c "$proxy_cpu" "$nginx_bin" -p "$tmp/nginx" -e "$tmp/nginx/nginx-error.log" -c "$conf" \
    -g 'daemon off;' >"$tmp/nginx/stdout.log" 2>&1 &
  master=$!
  started+=("$master")
  wait_port "$port" "$master" nginx || { cat "$tmp/nginx/nginx-error.log" >&2; return 1; }
  target_pid=""
  for ((i = 0; i < 100; i++)); do
    target_pid="$(pgrep -P "$master" | head -n1 || true)"
    [[ -n "$target_pid" ]] && break
    sleep 0.02
  done
  [[ -n "$target_pid" ]] || { log "nginx worker not found"; return 1; }
  target_addr="127.0.0.1:$port"
  target_version="$("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //')"
}

start_aiproxy() {  # [lb3]: ai-proxy-advanced balancing three targets instead of ai-proxy
  [[ -x "$aiproxy_bin" ]] || { log "aiproxy binary missing at $aiproxy_bin"; return 1; }
  local variant="${1:-}" conf="$tmp/aiproxy${1:+-$1}.yaml" pid
  if [[ "$variant" == lb3 ]]; then
    {
      printf '%s\n' '_format_version: "3.0"' 'routes:' '  - name: chat' \
        '    paths: ["/v1/chat/completions"]' '    plugins:' '      - name: ai-proxy-advanced' \
        '        config:' '          balancer: { algorithm: round-robin }' '          targets:'
      for i in 1 2 3; do
        printf '%s\n' '            - route_type: llm/v1/chat' "              description: target-$i" \
          '              auth: { header_name: Authorization, header_value: "Bearer sk-bench" }' \
          '              logging: { log_statistics: true, log_payloads: false }' \
          '              model:' '                provider: openai' '                name: gpt-4o' \
          "                options: { upstream_url: \"http://$upstream_addr\" }"
      done
    } >"$conf"
  else
  cat >"$conf" <<EOF
_format_version: "3.0"
routes:
  - name: chat
    paths: ["/v1/chat/completions"]
    plugins:
      - name: ai-proxy
        config:
          route_type: llm/v1/chat
          auth: { header_name: Authorization, header_value: "Bearer sk-bench" }
          logging: { log_statistics: true, log_payloads: false }
          model:
            provider: openai
            name: gpt-4o
            options: { upstream_url: "http://$upstream_addr" }
EOF
  fi
  local ready="$tmp/aiproxy${variant:+-$variant}.ready" log_file="$tmp/aiproxy${variant:+-$variant}.log"
  taskset -c "$proxy_cpu" "$aiproxy_bin" run -c "$conf" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --status-listen 127.0.0.1:0 --workers 1 \
    --access-log off --ready-file "$ready" >"$log_file" 2>&1 &
  pid=$!
  started+=("$pid")
  wait_file "$ready" "$pid" aiproxy || { tail -n 20 "$log_file" >&2; return 1; }
  target_pid="$pid"
  target_addr="$(sed -n 's/.*"proxy" *: *"\([^"]*\)".*/\1/p' "$ready")"
  target_version="$("$aiproxy_bin" version 2>/dev/null | head -n1 || echo "?")"
  local cache
  cache="$(cd "$(dirname "$aiproxy_bin")/../.." && pwd)/CMakeCache.txt"
  [[ -f "$cache" ]] && target_version+=" ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$cache") build)"
}

# ---------------------------------------------------------------- measuring
rows=()   # target|scenario|conns|requests|rps|p50_us|p99_us|cpu_us_per_req|rss_kb|errors
notes=()

check_target() {  # addr: one request of each workload must succeed before we measure
  local url="http://$1/v1/chat/completions" body scenario
  for scenario in $scenarios; do
    if [[ "$scenario" == chat ]]; then
      body="$(curl -sS -m 5 -X POST "$url" -H 'Content-Type: application/json' -w '\n%{http_code}' \
        -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}')" || return 1
      [[ "${body##*$'\n'}" == 200 ]] || { log "chat check got: $body"; return 1; }
    else
      body="$(curl -sS -m 5 -N -X POST "$url" -H 'Content-Type: application/json' \
        -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}')" || return 1
      grep -q 'data: \[DONE\]' <<<"$body" || { log "stream check did not end with [DONE]"; return 1; }
    fi
  done
}

run_wrk() {  # addr scenario conns seconds -> WRK_RESULT line
  local script="$here/wrk/chat.lua"
  [[ "$2" == stream ]] && script="$here/wrk/chat_stream.lua"
  taskset -c "$wrk_cpu" wrk -t1 -c"$3" -d"$4"s --timeout 5s --latency -s "$script" \
    "http://$1/v1/chat/completions" | grep '^WRK_RESULT' || true
}

declare -A addr=() pid=() dead=()
live=()  # targets that started and answered the sanity requests, in order

prepare_target() {  # name: start it, check it, warm it up
  local name="$1" scenario
  target_pid=""; target_addr=""; target_version=""
  case "$name" in
    direct) target_addr="$upstream_addr"; target_version="fast_upstream" ;;
    nginx) start_nginx || { notes+=("nginx: could not start, rows missing"); return 0; } ;;
    aiproxy) start_aiproxy || { notes+=("aiproxy: rows missing (binary missing or failed to start: $aiproxy_bin)"); return 0; } ;;
    aiproxy-lb3) start_aiproxy lb3 || { notes+=("aiproxy-lb3: rows missing (failed to start)"); return 0; } ;;
    *) log "unknown target $name"; return 1 ;;
  esac
  log "$name at $target_addr (pid ${target_pid:-none}, $target_version)"
  [[ "$name" == direct ]] || versions+=("$name $target_version")
  if ! check_target "$target_addr"; then
    notes+=("$name: sanity request failed, rows missing")
    return 0
  fi
  if ((warmup > 0)); then
    for scenario in $scenarios; do run_wrk "$target_addr" "$scenario" 50 "$warmup" >/dev/null; done
  fi
  addr[$name]="$target_addr"
  pid[$name]="$target_pid"
  live+=("$name")
}

measure_cell() {  # name scenario conns
  local name="$1" scenario="$2" conns="$3" p="${pid[$1]}" before="" after="" res requests dur
  local rps errs cpu="-" rss="-"
  [[ -n "${dead[$name]:-}" ]] && return 0
  [[ -n "$p" ]] && before="$(cpu_ticks "$p")"
  res="$(run_wrk "${addr[$name]}" "$scenario" "$conns" "$duration")"
  if [[ -n "$p" ]] && ! after="$(cpu_ticks "$p" 2>/dev/null)"; then
    dead[$name]=1
    notes+=("$name died during $scenario c=$conns; later cells missing. Its last output: $(tail -n 3 "$tmp/$name.log" 2>/dev/null | tr '\n' ' ' | cut -c1-300)")
    log "$name died"
    return 0
  fi
  if [[ -z "$res" ]]; then
    notes+=("$name $scenario c=$conns: wrk gave no result")
    return 0
  fi
  requests="$(jget requests "$res")"
  dur="$(jget duration_us "$res")"
  rps="$(awk -v r="$requests" -v d="$dur" 'BEGIN {printf "%.0f", r / (d / 1e6)}')"
  errs=$(($(jget status "$res") + $(jget connect "$res") + $(jget read "$res") + \
          $(jget write "$res") + $(jget timeout "$res")))
  if [[ -n "$p" ]]; then
    cpu="$(awk -v t=$((after - before)) -v hz="$clk_tck" -v r="$requests" \
      'BEGIN {if (r > 0) printf "%.1f", t / hz / r * 1e6; else print "-"}')"
    rss="$(peak_rss_kb "$p")"
  fi
  rows+=("$name|$scenario|$conns|$requests|$rps|$(jget p50_us "$res")|$(jget p99_us "$res")|$cpu|$rss|$errs")
  log "$name $scenario c=$conns: $rps req/s, p50 $(jget p50_us "$res") us," \
      "p99 $(jget p99_us "$res") us, cpu/req $cpu us, errors $errs"
}

versions=("$( (wrk -v 2>&1 || true) | head -n1 | awk '{print "wrk", $2}')")
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for t in $targets; do prepare_target "$t"; done
# Interleaved: every target runs each cell back to back, so a burst of load from elsewhere on the
# machine hits all of them alike; with --rounds N the table shows each cell's median-req/s round.
for ((round = 1; round <= rounds; round++)); do
  for scenario in $scenarios; do
    for conns in $connections; do
      for t in "${live[@]}"; do measure_cell "$t" "$scenario" "$conns"; done
    done
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
cell_row() {  # target scenario conns -> the row of the round with the median req/s
  local r t s c n rps matches=()
  for r in "${rows[@]}"; do
    IFS='|' read -r t s c n rps _ <<<"$r"
    [[ "$t" == "$1" && "$s" == "$2" && "$c" == "$3" ]] && matches+=("$rps|$r")
  done
  ((${#matches[@]})) || return 0
  printf '%s\n' "${matches[@]}" | sort -t'|' -k1,1n | sed -n "$(((${#matches[@]} + 1) / 2))p" | cut -d'|' -f2-
}
direct_p50() {  # scenario conns
  local r
  r="$(cell_row direct "$1" "$2")"
  [[ -n "$r" ]] && cut -d'|' -f6 <<<"$r"
  return 0
}
ms() { awk -v u="$1" 'BEGIN {printf "%.3f", u / 1000}'; }

report() {
  local commit dirty
  commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  dirty="$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo " (dirty tree)" || true)"
  echo "# aiproxy load benchmark, $started_at"
  echo
  echo "- commit: $commit$dirty; build: ${build#$root/}"
  echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores," \
       "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
  echo "- load average (1/5/15 min) before: $load_before, after: $load_after"
  echo "- tools: ${versions[*]}"
  echo "- each cell: wrk -t1 for ${duration}s after a ${warmup}s warm-up, median of $rounds interleaved" \
       "round(s); cores: proxy $proxy_cpu," \
       "wrk $wrk_cpu, fast_upstream $upstream_cpu"
  echo "- upstream reply: 615-byte chat completion; stream: 24 SSE events + [DONE], 6.6 KiB"
  echo "- CPU/req: utime+stime of the proxy process (nginx: its one worker) over the run / requests"
  echo
  echo "| target | workload | conns | req/s | p50 ms | p99 ms | added p50 ms | CPU µs/req | peak RSS MiB | errors |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  local r t s c n rps p50 p99 cpu rss errs d added rss_mib target scenario conns
  for target in "${live[@]}"; do for scenario in $scenarios; do for conns in $connections; do
    r="$(cell_row "$target" "$scenario" "$conns")"
    [[ -n "$r" ]] || continue
    IFS='|' read -r t s c n rps p50 p99 cpu rss errs <<<"$r"
    d="$(direct_p50 "$s" "$c")"
    if [[ "$t" == direct || -z "$d" ]]; then added="-"; else added="$(ms $((p50 - d)))"; fi
    rss_mib="-"
    [[ "$rss" != "-" ]] && rss_mib="$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')"
    echo "| $t | $s | $c | $rps | $(ms "$p50") | $(ms "$p99") | $added | $cpu | $rss_mib | $errs |"
  done; done; done
  if ((${#notes[@]})); then
    echo
    for r in "${notes[@]}"; do echo "- $r"; done
  fi
}

mkdir -p "$out_dir"
out="$out_dir/$(date -u +%Y%m%dT%H%M%SZ).md"
report | tee "$out"
log "written to $out"
