#!/usr/bin/env bash
# Two echo servers measured at once: both pinned to the same core, each
# loaded by its own echoload on the other core, started together. Whatever
# slows the machine down in a pass slows both, so the ratio of their round
# trips (B / A) holds still where two passes one after the other do not.
#
# usage: tests/bench/co_run.sh [-c CONNS] [-s SIZE] [-d SECONDS] [-r ROUNDS]
#          [-m pingpong|stream|connect] 'SERVER A WITH {PORT}' 'SERVER B WITH {PORT}'
#
# Defaults: -c 50 -s 64 -d 3 -r 3 -m pingpong; connect mode spreads its
# clients over 127.0.0.1 to 127.0.0.8, as the harness's connect-rate load
# does. ECHOLOAD names the load generator (default
# ../shared/bench/build/echoload beside this repository; build it with
# ../shared/bench/build.sh). Needs taskset and two CPUs. Each round is 1 s of
# warm-up and SECONDS measured, on new connections. Prints one line per round
# and, last, every round's B / A: of the work done, and of the servers' CPU
# time per unit of work (from /proc, over the measured window), which does
# not count a server that waits and gives the core to the other.
#
# example: tests/bench/co_run.sh -c 200 -s 1024 \
#   'deno run -A server.ts --hostname 127.0.0.1 --port {PORT}' \
#   'deno run -A server.ts --hostname 127.0.0.1 --port {PORT} --no-quit'
set -euo pipefail

conns=50 size=64 duration=3 rounds=3 mode=pingpong
while getopts "c:s:d:r:m:" opt; do
  case $opt in
  c) conns=$OPTARG ;;
  s) size=$OPTARG ;;
  d) duration=$OPTARG ;;
  r) rounds=$OPTARG ;;
  m) mode=$OPTARG ;;
  *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -ne 2 ]; then
  sed -n '7,8p' "$0" | sed 's/^# //' >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
echoload=${ECHOLOAD:-$root/../shared/bench/build/echoload}
if [ ! -x "$echoload" ]; then
  echo "co_run: no load generator at $echoload; build it with ../shared/bench/build.sh or set ECHOLOAD" >&2
  exit 1
fi
field() { grep -o " $1=[0-9.]*" "$2" | cut -d= -f2; }
# CPU time of a process, all its threads, in clock ticks (utime + stime).
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
logs=$(mktemp -d)
pids=()
cleanup() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$logs"
}
trap cleanup EXIT

# Two loopback ports next to each other that nothing listens on, below the
# ephemeral range the load generators' own sockets take their ports from.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$low" -gt 12000 ] || low=32768
for _ in $(seq 20); do
  port=$((10000 + RANDOM % (low - 10002)))
  listening "$port" || listening $((port + 1)) || break
done
ports=("$port" $((port + 1)))
for i in 0 1; do
  cmd=${1//\{PORT\}/${ports[$i]}}
  [ "$i" -eq 0 ] || cmd=${2//\{PORT\}/${ports[$i]}}
  taskset -c 1 bash -c "exec $cmd" >"$logs/server$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1; do
  for _ in $(seq 100); do
    if listening "${ports[$i]}"; then continue 2; fi
    sleep 0.1
  done
  echo "co_run: server $i did not listen on ${ports[$i]} in 10 s:" >&2
  cat "$logs/server$i.log" >&2
  exit 1
done

names=(A B)
extra=()
[ "$mode" != connect ] || extra=(-S 8)
ratios=()
cpu_ratios=()
for round in $(seq "$rounds"); do
  load=()
  for i in 0 1; do
    taskset -c 0 "$echoload" -p "${ports[$i]}" -m "$mode" -c "$conns" \
      -s "$size" -d "$duration" -W 1 -b "${extra[@]}" >"$logs/load$i.txt" 2>&1 &
    load+=($!)
  done
  # The servers' CPU time over the measured window: from the end of the
  # warm-up to the end of the loads.
  sleep 1.1
  before=("$(ticks "${pids[0]}")" "$(ticks "${pids[1]}")")
  wait "${load[@]}" || true
  cpu=($(($(ticks "${pids[0]}") - before[0])) $(($(ticks "${pids[1]}") - before[1])))
  line="round $round:"
  for i in 0 1; do
    out="$logs/load$i.txt"
    if [ "$(field errors "$out")" != 0 ]; then
      echo "co_run: load $i failed:" >&2
      tail -3 "$out" >&2
      exit 1
    fi
    name=${names[$i]}
    if [ "$mode" = stream ]; then
      rate[i]=$(field mbps "$out")
      line+=" $name ${rate[i]} MB/s;"
    elif [ "$mode" = connect ]; then
      rate[i]=$(field conn_per_s "$out")
      line+=" $name ${rate[i]} connections/s, max $(field max_us "$out") µs;"
    else
      rate[i]=$(field rtt_per_s "$out")
      line+=" $name ${rate[i]} rt/s, Jain $(field jain "$out"), max $(field max_us "$out") µs;"
    fi
  done
  ratio=$(awk -v a="${rate[0]}" -v b="${rate[1]}" 'BEGIN { printf "%.3f", b / a }')
  # CPU per unit of work, B against A: lower is better.
  cpu_ratio=$(awk -v a="${rate[0]}" -v b="${rate[1]}" -v ca="${cpu[0]}" \
    -v cb="${cpu[1]}" 'BEGIN { printf "%.3f", (cb / b) / (ca / a) }')
  ratios+=("$ratio")
  cpu_ratios+=("$cpu_ratio")
  echo "$line B/A $ratio; CPU ${cpu[0]} and ${cpu[1]} ticks, per unit B/A $cpu_ratio"
done
echo "B/A: ${ratios[*]}"
echo "CPU per unit B/A: ${cpu_ratios[*]}"
