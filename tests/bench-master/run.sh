#!/bin/bash
# run.sh - childproc-fork as a preforking master, against Node's cluster,
# on the same machine in the same run.
#
#   tests/bench-master/run.sh [-r ROUNDS] [-t SECONDS] [-c CONCURRENCY]
#                             [-n HANDLES] [-o FILE]
#
# Builds a release tree (build-bench-master at the top of the source, or
# $BENCH_BUILD_DIR) and measures, ROUNDS times (default 5), each round
# running every configuration back to back so that noise from the rest of
# the machine hits them alike:
#
#   1. requests/s and latency of a trivial HTTP worker (the body is its
#      pid), 4 workers, a new connection per request, the same load client
#      (tests/handles/loadgen, C, epoll) for SECONDS (default 5) with
#      CONCURRENCY (default 16) requests in flight:
#        cluster-rr      Node's cluster, default round-robin scheduling,
#                        running the unmodified app.js
#        cluster-none    Node's cluster, NODE_CLUSTER_SCHED_POLICY=none
#        cfork-rr        childproc-fork -n 4 app.js: the same app, with
#                        childproc-fork as its cluster primary (--sched rr)
#        cfork-none      the same with --sched none
#        cfork-reuseport the same with --sched reuseport
#        fork-shared     childproc-fork -n 4 --listen 127.0.0.1:0 with a
#                        worker written for it (the server handle message)
#        fork-reuseport  the same with --balance reuseport
#      and the resident memory (VmRSS) of the master / primary after it;
#   2. how 4 x 2000 new connections (8 in flight) spread over the workers;
#   3. handles/s, C -> node (hparent rate) and node -> node (node-rate.js):
#      one connected TCP socket sent HANDLES times (default 10000) with
#      keepOpen, each send waiting for the ACK of the one before.
#
# Prints a Markdown report and writes it to tests/bench-master/results.md
# (or FILE).  Medians over the rounds; ratios are taken within a round,
# then the median of those.  Only ratios from one run mean anything on a
# shared machine.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
rounds=5
secs=5
conc=16
handles=10000
out=$here/results.md
while getopts r:t:c:n:o: opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	c) conc=$OPTARG ;;
	n) handles=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-r ROUNDS] [-t SECONDS] [-c CONCURRENCY]" \
	       "[-n HANDLES] [-o FILE]" >&2
	   exit 2 ;;
	esac
done
command -v node >/dev/null || { echo "run.sh: node is needed" >&2; exit 1; }

# ---- build ----------------------------------------------------------------
build=${BENCH_BUILD_DIR:-$src/build-bench-master}
case $build in /*) ;; *) build=$PWD/$build ;; esac
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$src" -Dbuildtype=release >/dev/null
fi
ninja -C "$build" >/dev/null
fork=$build/cmd/childproc-fork
loadgen=$build/tests/handles/loadgen
hparent=$build/tests/handles/hparent
worker=$src/tests/handles/node/worker.js
child_js=$src/tests/handles/node/child.js

tmp=$(mktemp -d /tmp/cp-bench-master.XXXXXX)
server=
stop_server() {
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
		kill -TERM "$server"
		wait "$server" || true
	fi
	server=
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# json FILE EXPR: EXPR evaluated on the JSON value r in FILE.
json() {
	node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1],
	    "utf8")); console.log(eval(process.argv[2]))' "$1" "$2"
}

# median N...: the median of the numbers (the lower middle for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ratio A B: A / B to two decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

# start CONFIG: the server in the background; sets server and addr, and
# returns once every worker is ready and a short warm-up has run.
start() {
	local i=0
	: >"$tmp/status"
	case $1 in
	fork-*)
		"$fork" -n 4 --balance "${1#fork-}" --listen 127.0.0.1:0 \
		    --status-fd 3 "$worker" listen </dev/null >/dev/null \
		    2>"$tmp/err" 3>"$tmp/status" &
		server=$!
		# Ready: the server handle reached all 4 (each ACKed it).
		until [ "$(grep -c ' started$' "$tmp/status")" -ge 4 ]; do
			sleep 0.05
			i=$((i + 1))
			[ $i -lt 1200 ] || { echo "run.sh: $1 did not start" >&2; exit 1; }
		done
		;;
	cfork-*)
		"$fork" -n 4 --sched "${1#cfork-}" --status-fd 3 "$here/app.js" \
		    </dev/null >/dev/null 2>"$tmp/err" 3>"$tmp/status" &
		server=$!
		until [ "$(grep -c ' started$' "$tmp/status")" -ge 4 ]; do
			sleep 0.05
			i=$((i + 1))
			[ $i -lt 1200 ] || { echo "run.sh: $1 did not start" >&2; exit 1; }
		done
		;;
	cluster-*)
		NODE_CLUSTER_SCHED_POLICY=${1#cluster-} node "$here/cluster.js" 4 \
		    >"$tmp/status" 2>"$tmp/err" &
		server=$!
		;;
	esac
	until grep -q 'listening on' "$tmp/status"; do
		sleep 0.05
		i=$((i + 1))
		[ $i -lt 1200 ] || { echo "run.sh: $1 did not start" >&2; exit 1; }
	done
	addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$tmp/status" | head -n 1)
	"$loadgen" -c "$conc" -t 1 "$addr" >/dev/null
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# sorted counts per worker, busiest first
spread() {
	json "$1" 'Object.values(r.pids).sort((a, b) => b - a).join(" ")'
}

configs="cluster-rr cluster-none cfork-rr cfork-none cfork-reuseport fork-shared fork-reuseport"
declare -A rps rss dist skew p99
for c in $configs; do
	rps[$c]=""
	p99[$c]=""
	rss[$c]=""
	dist[$c]=""
	skew[$c]=""
done
r_rr=""
r_none=""
r_rp_rr=""
c_rr=""
c_none=""
c_rp=""

for round in $(seq 1 "$rounds"); do
	for c in $configs; do
		start "$c"
		"$loadgen" -c "$conc" -t "$secs" "$addr" >"$tmp/load"
		bad=$(json "$tmp/load" 'r.refused + r.reset + r.timeout + r.other')
		[ "$bad" -eq 0 ] || echo "run.sh: $c: $bad failed requests" >&2
		rps[$c]="${rps[$c]} $(json "$tmp/load" 'Math.round(r.rps)')"
		p99[$c]="${p99[$c]} $(json "$tmp/load" 'r.p99_ms.toFixed(2)')"
		rss[$c]="${rss[$c]} $(rss_kb "$server")"
		# 4 workers x 2000 new connections, 8 in flight.
		"$loadgen" -c 8 -n 8000 "$addr" >"$tmp/spread"
		dist[$c]="${dist[$c]}$(spread "$tmp/spread");"
		skew[$c]="${skew[$c]} $(json "$tmp/spread" 'Object.keys(r.pids).length < 4 ?
		    "inf" : (Math.max(...Object.values(r.pids)) /
		    Math.min(...Object.values(r.pids))).toFixed(2)')"
		stop_server
		echo "round $round $c: $(json "$tmp/load" 'Math.round(r.rps)') req/s," \
		    "p99 $(json "$tmp/load" 'r.p99_ms.toFixed(2)') ms," \
		    "rss $(echo "${rss[$c]}" | awk '{ print $NF }') kB," \
		    "spread $(spread "$tmp/spread")" >&2
	done
	set -- ${rps[fork-shared]}; a=${!#}
	set -- ${rps[fork-reuseport]}; p=${!#}
	set -- ${rps[cluster-rr]}; b=${!#}
	set -- ${rps[cluster-none]}; d=${!#}
	r_rr="$r_rr $(ratio "$a" "$b")"
	r_none="$r_none $(ratio "$a" "$d")"
	r_rp_rr="$r_rp_rr $(ratio "$p" "$b")"
	set -- ${rps[cfork-rr]}; a=${!#}
	set -- ${rps[cfork-none]}; d2=${!#}
	set -- ${rps[cfork-reuseport]}; p=${!#}
	c_rr="$c_rr $(ratio "$a" "$b")"
	c_none="$c_none $(ratio "$d2" "$d")"
	c_rp="$c_rp $(ratio "$p" "$b")"
done

# ---- handle send rate -------------------------------------------------------
h_c=""
h_n=""
h_r=""
for round in $(seq 1 "$rounds"); do
	a=$("$hparent" "$(command -v node)" "$child_js" rate "$handles" |
	    sed -n 's/.*: \([0-9]*\)\/s$/\1/p')
	b=$(node "$here/../bench/node-rate.js" "$child_js" "$handles" |
	    sed -n 's/.*: \([0-9]*\)\/s$/\1/p')
	echo "round $round handles/s: C->node $a, node->node $b" >&2
	h_c="$h_c $a"
	h_n="$h_n $b"
	h_r="$h_r $(ratio "$a" "$b")"
done

# ---- report -------------------------------------------------------------------
m() {
	median $1
}
{
	echo "# childproc-fork as a master vs Node's cluster"
	echo
	echo "Run by \`tests/bench-master/run.sh -r $rounds -t $secs -c $conc" \
	    "-n $handles\` on $(date -u +%Y-%m-%d)," \
	    "$(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1))," \
	    "Linux $(uname -r), node $(node --version), release build."
	echo "Medians of $rounds rounds; ratios are taken within each round."
	echo "Load average when the run ended: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "(other builds and tests may share the CPUs: compare ratios only)."
	echo "The load client and the 4 workers share the same CPUs, as they"
	echo "would on one small server: absolute figures depend on the machine."
	echo
	echo "## Requests/s, 4 workers, a new connection per request"
	echo
	echo "Trivial HTTP worker (\`tests/handles/node/worker.js listen\`; the"
	echo "cluster worker is the same server in \`cluster.js\`), $conc requests"
	echo "in flight for $secs s, each on its own TCP connection."
	echo
	echo "| master | req/s (median) | per round | p99 ms (median) | master RSS (median) |"
	echo "|---|---:|---|---:|---:|"
	for c in $configs; do
		case $c in
		fork-shared) name="childproc-fork --listen (shared)" ;;
		fork-reuseport) name="childproc-fork --balance reuseport" ;;
		cluster-rr) name="node cluster, round-robin (default)" ;;
		cluster-none) name="node cluster, SCHED_POLICY=none" ;;
		cfork-rr) name="childproc-fork -n 4 app.js (cluster, rr)" ;;
		cfork-none) name="childproc-fork -n 4 --sched none app.js" ;;
		cfork-reuseport) name="childproc-fork -n 4 --sched reuseport app.js" ;;
		esac
		echo "| $name | $(m "${rps[$c]}") | ${rps[$c]# } | $(m "${p99[$c]}") |" \
		    "$(awk -v k="$(m "${rss[$c]}")" 'BEGIN { printf "%.1f MB", k / 1024 }') |"
	done
	echo
	echo "| ratio | median | per round |"
	echo "|---|---:|---|"
	echo "| same app: childproc-fork rr / cluster rr (goal >= 1.1) | $(m "$c_rr") | ${c_rr# } |"
	echo "| same app: childproc-fork none / cluster none (goal >= 1.0) | $(m "$c_none") | ${c_none# } |"
	echo "| same app: childproc-fork reuseport / cluster rr (goal >= 1.4) | $(m "$c_rp") | ${c_rp# } |"
	echo "| fork shared / cluster round-robin (goal >= 1.1) | $(m "$r_rr") | ${r_rr# } |"
	echo "| fork shared / cluster none (goal: on par) | $(m "$r_none") | ${r_none# } |"
	echo "| fork reuseport / cluster round-robin | $(m "$r_rp_rr") | ${r_rp_rr# } |"
	echo "| master RSS / cluster primary RSS (round-robin) | $(ratio "$(m "${rss[fork-shared]}")" "$(m "${rss[cluster-rr]}")") | |"
	echo
	echo "## How connections spread over the workers"
	echo
	echo "4 workers x 2000 new connections, 8 in flight: requests served by"
	echo "each worker, busiest first, one group per round, and the busiest"
	echo "worker's count over the idlest's (1.00 is perfectly even)."
	echo
	echo "| master | busiest / idlest (median) | per-worker requests |"
	echo "|---|---:|---|"
	for c in $configs; do
		echo "| $c | $(m "${skew[$c]}") | ${dist[$c]%;} |" | sed 's/;/ ; /g'
	done
	echo
	echo "With one shared accept queue (fork shared, cluster none) every idle"
	echo "worker is woken for a connection and the first to run takes it, so"
	echo "the spread follows scheduling luck.  reuseport gives each worker its"
	echo "own accept queue and the kernel hashes connections over them;"
	echo "cluster round-robin deals them out through the primary, which"
	echo "accepts every connection itself and passes it on as a handle (its"
	echo "cost is the req/s gap above).  With reuseport a connection waits in"
	echo "its own worker's queue even when another worker is idle."
	echo
	echo "## Handle passing rate"
	echo
	echo "One connected TCP socket sent $handles times with keepOpen, each send"
	echo "waiting for the receiver's ACK (the protocol allows one in flight);"
	echo "Node's next send is made from the callback of the one before."
	echo
	echo "| sender -> node receiver | handles/s (median) | per round |"
	echo "|---|---:|---|"
	echo "| C (libchildproc, hparent rate) | $(m "$h_c") | ${h_c# } |"
	echo "| node (node-rate.js) | $(m "$h_n") | ${h_n# } |"
	echo "| ratio C / node | $(m "$h_r") | ${h_r# } |"
} >"$tmp/report"
cat "$tmp/report"
cp "$tmp/report" "$out"
