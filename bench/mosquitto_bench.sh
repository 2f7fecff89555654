#!/usr/bin/env bash
# Copied unchanged (but for these two lines) from the project's shared anchors
# (anchors/mosquitto_bench.sh and anchors/mqttbench/), so that bench/run works from a clean clone.
# mosquitto_bench.sh - loopback-only performance anchors for the Debian
# mosquitto broker (apt: mosquitto). Prints `name: value` lines on stdout,
# progress/diagnostics on stderr. Bounded: aborts remaining steps after
# MAX_SECS (default 170 s). Starts its own broker on 127.0.0.1:$PORT and
# stops it (and every client it started) by PID on exit.
#
# Needs: mosquitto (Debian package), the helper client ./mqttbench (Rust,
# built on demand with cargo from ./mqttbench beside this script), ss, awk.
#
# Env knobs:
#   PORT=18830            loopback port for the private broker
#   NODELAY_MODES="0 1"   0 = broker as shipped (Nagle on), 1 = set_tcp_nodelay true
#   IDLE_COUNTS="1000 10000"
#   FANOUT_NS="1 100 1000"
#   SIZE=280              payload bytes
#   SAT_SECS=4            length of each closed-loop (saturation) run
#   WINDOW_DELIV=4000     saturation run: max deliveries outstanding (publisher
#                         stays <= max(2, WINDOW_DELIV/N) msgs ahead of the
#                         average subscriber, so nothing is dropped)
#   LAT_DELIV_RATES="2000 20000"  offered loads (deliveries/s = msg/s x N) for
#                         the open-loop latency runs (publish rate = load/N)
#   LAT_SECS=2            length of each latency run (min 10 messages)
#   REPEAT=1              repeat each fan-out measurement (suffix _r2, ...)
#   MAX_SECS=170
#   NICE=-10              nice value for broker and client (root only; 0 = off)
set -u
PORT=${PORT:-18830}
NODELAY_MODES=${NODELAY_MODES:-"0 1"}
IDLE_COUNTS=${IDLE_COUNTS:-"1000 10000"}
FANOUT_NS=${FANOUT_NS:-"1 100 1000"}
SIZE=${SIZE:-280}
SAT_SECS=${SAT_SECS:-4}
WINDOW_DELIV=${WINDOW_DELIV:-4000}
LAT_DELIV_RATES=${LAT_DELIV_RATES:-"2000 20000"}
LAT_SECS=${LAT_SECS:-2}
REPEAT=${REPEAT:-1}
MAX_SECS=${MAX_SECS:-170}
# Scheduling priority for broker + client. Default -10 when root so that other
# tenants of a shared box disturb the figures less; NICE=0 to disable.
if [ "$(id -u)" = 0 ]; then NICE=${NICE:--10}; else NICE=${NICE:-0}; fi
NICE_CMD=""; [ "$NICE" != 0 ] && NICE_CMD="nice -n $NICE"

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${MQTTBENCH_SRC:-$HERE/mqttbench}
BENCH=${BENCH:-$SRC/target/release/mqttbench}
WORK=$(mktemp -d -t mosqbench.XXXXXX)
BROKER_PID=""
CLIENT_PID=""

log() { echo "[mosquitto_bench] $*" >&2; }

cleanup() {
    if [ -n "$CLIENT_PID" ] && kill -0 "$CLIENT_PID" 2>/dev/null; then kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null; fi
    if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

time_left() { [ "$SECONDS" -lt "$MAX_SECS" ]; }

command -v mosquitto >/dev/null || { log "mosquitto not installed (apt-get install mosquitto)"; exit 1; }
if [ ! -x "$BENCH" ]; then
    log "building helper client in $SRC"
    (cd "$SRC" && { cargo build --release --offline -q 2>/dev/null || cargo build --release -q; }) >&2 || { log "build failed"; exit 1; }
fi
if ss -ltn | grep -q "127.0.0.1:$PORT "; then log "port $PORT busy"; exit 1; fi

# status fields of a pid, in kB
st() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
pss() { awk '$1=="Pss:" {print $2}' "/proc/$1/smaps_rollup"; }
slab_kb() { awk '$1=="Slab:" {print $2}' /proc/meminfo; }

start_broker() { # $1 = nodelay 0/1
    cat > "$WORK/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_connections -1
log_dest stderr
log_type error
log_type warning
EOF
    [ "$1" = 1 ] && echo "set_tcp_nodelay true" >> "$WORK/mosquitto.conf"
    $NICE_CMD mosquitto -c "$WORK/mosquitto.conf" 2>>"$WORK/broker.log" &
    BROKER_PID=$!
    for _ in $(seq 1 100); do ss -ltn | grep -q "127.0.0.1:$PORT " && break; sleep 0.05; done
    sleep 0.3
}
stop_broker() {
    if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null; BROKER_PID=""; fi
    sleep 0.3
}

# ---- static figures -------------------------------------------------------
echo "mosquitto_version: $(dpkg-query -W -f='${Version}' mosquitto 2>/dev/null)"
echo "binary_bytes: $(stat -c %s "$(command -v mosquitto)")"
echo "pkg_installed_kib_mosquitto: $(dpkg-query -W -f='${Installed-Size}' mosquitto)"
# the broker's own package plus the small libs only it pulls in (not libc/libssl/libsystemd)
tot=0; for p in mosquitto libcjson1 libdlt2 libwrap0; do s=$(dpkg-query -W -f='${Installed-Size}' $p 2>/dev/null || echo 0); tot=$((tot + s)); done
echo "pkg_installed_kib_with_private_deps: $tot"
echo "cpu_count: $(nproc)"
echo "loadavg_at_start: $(cut -d' ' -f1 /proc/loadavg)"
echo "nice: $NICE"

# ---- idle RSS ---------------------------------------------------------------
start_broker 0
echo "idle_vmrss_kib: $(st $BROKER_PID VmRSS)"
echo "idle_vmhwm_kib: $(st $BROKER_PID VmHWM)"
echo "idle_rssanon_kib: $(st $BROKER_PID RssAnon)"
echo "idle_pss_kib: $(pss $BROKER_PID)"
stop_broker

for n in $IDLE_COUNTS; do
    time_left || { log "time budget exhausted, skipping idle $n"; break; }
    start_broker 0
    a0=$(st $BROKER_PID RssAnon); slab0=$(slab_kb)
    $NICE_CMD "$BENCH" idle --port "$PORT" --n "$n" --hold 120 > "$WORK/idle.out" 2>>"$WORK/client.log" &
    CLIENT_PID=$!
    for _ in $(seq 1 600); do grep -q '^connected:' "$WORK/idle.out" && break; kill -0 $CLIENT_PID 2>/dev/null || break; sleep 0.1; done
    sleep 1
    got=$(awk '$1=="connected:" {print $2}' "$WORK/idle.out")
    echo "idle_${n}_connected: ${got:-0}"
    echo "idle_${n}_connect_secs: $(awk '$1=="connect_secs:" {print $2}' "$WORK/idle.out")"
    echo "idle_${n}_vmrss_kib: $(st $BROKER_PID VmRSS)"
    echo "idle_${n}_vmhwm_kib: $(st $BROKER_PID VmHWM)"
    a1=$(st $BROKER_PID RssAnon)
    echo "idle_${n}_rssanon_kib: $a1"
    [ -n "$got" ] && [ "$got" -gt 0 ] && echo "idle_${n}_broker_anon_bytes_per_conn: $(( (a1 - a0) * 1024 / got ))"
    # kernel slab growth covers BOTH socket ends (client and broker) + fds
    echo "idle_${n}_kernel_slab_delta_kib_both_ends: $(( $(slab_kb) - slab0 ))"
    kill $CLIENT_PID; wait $CLIENT_PID 2>/dev/null; CLIENT_PID=""
    stop_broker
done

# ---- fan-out -----------------------------------------------------------------
# CPU accounting so that runs disturbed by other tenants can be spotted:
#   broker_cpu_s  = broker utime+stime over the client's whole life (connect,
#                   warm-up, measured phase, drain); broker_cpu_util divides it
#                   by the client's wall time; deliveries_per_broker_cpu_s counts
#                   warm-up deliveries too (~20k deliveries of warm-up per run)
#   client_cpu_s  = helper client utime+stime (all threads)
#   kthreads_cpu_s = kernel threads (ksoftirqd, kworkers: partly our loopback traffic)
#   other_procs_cpu_s = every other process (approximate: user+sys+reaped children);
#                   should be ~0 on a quiet machine, compare it with 2 x duration.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# prints "<kthread ticks> <other ticks>" summed over all processes except $$ and the broker
procs_snapshot() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v me=$$ -v br="${BROKER_PID:-0}" '{
        pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
        if (pid == me || pid == br) next
        t = f[12] + f[13] + f[14] + f[15]
        if (f[2] == 2 || pid == 2) k += t; else o += t
    } END { printf "%d %d\n", k, o }'
}
run_fanout() { # $1 prefix, $2.. args
    local prefix=$1; shift
    local b0 b1 p0 p1 ccpu
    b0=$(proc_ticks $BROKER_PID); p0=$(procs_snapshot)
    $NICE_CMD "$BENCH" fanout --port "$PORT" --size "$SIZE" "$@" > "$WORK/fan.out" 2>>"$WORK/client.log" &
    CLIENT_PID=$!
    wait $CLIENT_PID; CLIENT_PID=""
    b1=$(proc_ticks $BROKER_PID); p1=$(procs_snapshot)
    awk -v p="$prefix" '
        $1 ~ /^(published|delivered_msg_s|delivered|lost|duration_s|publish_rate_msg_s|lat_p50_us|lat_p99_us|lat_p999_us|lat_max_us|client_cpu_s):$/ {
            sub(":", "", $1); print p "_" $1 ": " $2 }' "$WORK/fan.out"
    awk -v p="$prefix" -v b=$((b1 - b0)) -v p0="$p0" -v p1="$p1" \
        -v w="$(awk '$1=="client_wall_s:" {print $2}' "$WORK/fan.out")" \
        -v n="$(awk '$1=="delivered_incl_warmup:" {print $2}' "$WORK/fan.out")" 'BEGIN {
            split(p0, a, " "); split(p1, c, " ")
            bs = b / 100.0
            printf "%s_broker_cpu_s: %.2f\n", p, bs
            if (w > 0) printf "%s_broker_cpu_util: %.2f\n", p, bs / w
            if (bs > 0) printf "%s_deliveries_per_broker_cpu_s: %.0f\n", p, n / bs
            printf "%s_kthreads_cpu_s: %.2f\n", p, (c[1] - a[1]) / 100.0
            printf "%s_other_procs_cpu_s: %.2f\n", p, (c[2] - a[2]) / 100.0 }'
}

for nd in $NODELAY_MODES; do
    tag=$([ "$nd" = 1 ] && echo nodelay || echo default)
    for n in $FANOUT_NS; do
        for r in $(seq 1 "$REPEAT"); do
            time_left || { log "time budget exhausted, skipping fanout $tag n=$n"; break 3; }
            sfx=$([ "$r" = 1 ] && echo "" || echo "_r$r")
            start_broker "$nd"
            # saturation: closed loop, at most WINDOW_DELIV deliveries outstanding, SAT_SECS long
            warm=$(( 20000 / n )); [ $warm -lt 10 ] && warm=10
            run_fanout "fan_${tag}_n${n}_sat${sfx}" --n "$n" --duration "$SAT_SECS" --window-deliv "$WINDOW_DELIV" --warmup "$warm"
            echo "fan_${tag}_n${n}_sat${sfx}_broker_vmhwm_kib: $(st $BROKER_PID VmHWM)"
            # latency at fixed offered loads (deliveries/s), open loop
            for dr in $LAT_DELIV_RATES; do
                rate=$(( dr / n )); [ $rate -lt 1 ] && rate=1
                lmsgs=$(( rate * LAT_SECS )); [ $lmsgs -lt 10 ] && lmsgs=10
                run_fanout "fan_${tag}_n${n}_load${dr}${sfx}" --n "$n" --msgs "$lmsgs" --rate "$rate" --warmup 2
            done
            stop_broker
        done
    done
done
if [ -s "$WORK/broker.log" ]; then log "broker log:"; tail -5 "$WORK/broker.log" >&2; fi
if [ -s "$WORK/client.log" ]; then log "client log:"; tail -5 "$WORK/client.log" >&2; fi
echo "loadavg_at_end: $(cut -d' ' -f1 /proc/loadavg)"
echo "bench_wall_secs: $SECONDS"
