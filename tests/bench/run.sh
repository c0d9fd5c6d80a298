#!/bin/bash
# run.sh - childproc against Node on the same machine, in the same run.
#
#   tests/bench/run.sh [-r RUNS] [-q] [-o DIR] [-s SECTION,...]
#
# Builds a release tree (build-bench at the top of the source, or
# $BENCH_BUILD_DIR), runs every benchmark pairwise with its Node
# equivalent RUNS times (default 5; C and Node alternate so that load from
# elsewhere hits both alike), and prints a table of medians and ratios,
# written to DIR/results.md and, the same figures for programs
# (compare.js), DIR/results.json (DIR: tests/bench).  -q is a quick smoke
# run: fewer runs, smaller counts; its numbers are not meant to be quoted.
# -s runs only some sections: ipc, advanced, latency, bridge, big, spawn,
# exec, stream, cluster, handles.  Adding a benchmark: see README.md.
# The machine is shared and noisy: only ratios measured in one run mean
# anything, never an absolute number from another day.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
runs=5
quick=0
outdir=$here
all_sections=ipc,advanced,latency,bridge,big,spawn,exec,stream,cluster,handles
sections=$all_sections
while getopts r:qo:s: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	q) quick=1; runs=1 ;;
	o) outdir=$OPTARG ;;
	s) sections=$OPTARG ;;
	*) echo "usage: $0 [-r RUNS] [-q] [-o DIR] [-s SECTION,...]" >&2
	   exit 2 ;;
	esac
done
mkdir -p "$outdir" || exit 1

# want SECTION: whether -s asked for it (and, if so, it is the section
# running now, which a report of a run cut short names).
section=
want() {
	case ",$sections," in *",$1,"*) section=$1; return 0 ;; esac
	return 1
}

# Sizes: the issue's figures, or small ones for -q.
if [ "$quick" = 1 ]; then
	n_msgs=20000 n_lat=2000 n_bridge=20000 big=$((8 << 20)) n_spawn=200
	exec_size=64M n_handles=500 http_secs=1
else
	n_msgs=100000 n_lat=20000 n_bridge=200000 big=$((64 << 20)) n_spawn=2000
	exec_size=1G n_handles=5000 http_secs=5
fi

command -v node >/dev/null || { echo "run.sh: node is needed" >&2; exit 1; }

# ---- build ---------------------------------------------------------------
build=${BENCH_BUILD_DIR:-$src/build-bench}
case $build in /*) ;; *) build=$PWD/$build ;; esac
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$src" -Dbuildtype=release >/dev/null
fi
ninja -C "$build" >/dev/null
b=$build/tests/bench
cmd=$build/cmd
export PATH="$cmd:$PATH"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cp-bench.XXXXXX")
finished=0
# At exit, even by INT or TERM or a failed run: the cluster section's
# server stops, and a run cut short still reports the rows it measured
# (saying so in the command line of results.md and results.json).
finish() {
	! declare -F stop_server >/dev/null || stop_server
	if [ "$finished" = 0 ] && [ -s "$tmp/rows.tsv" ]; then
		report "cut short during section $section"
	fi
	rm -rf "$tmp"
}
trap finish EXIT
trap 'exit 130' INT TERM

# ---- helpers -------------------------------------------------------------

# json, wait_lines, fail (tests/lib/lib.sh).
. "$src/tests/lib/lib.sh"
fail_name=run.sh

# val KEY TEXT: the value of KEY=VALUE in TEXT.
val() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1
}

# median V...: the median of the numbers given (the mean of the middle two
# for an even count).  The one median of every figure here.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) print "nan";
	          else if (NR % 2) print v[(NR + 1) / 2];
	          else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B to two decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.2f\n", a / b }'
}


# run NAME CMD...: runs CMD, keeps its stdout+stderr, dies if it fails.
run() {
	local name=$1 o
	shift
	if ! o=$("$@" 2>&1); then
		echo "run.sh: $name failed: $*" >&2
		printf '%s\n' "$o" >&2
		exit 1
	fi
	printf '%s\n' "$o"
}

# row NAME C NODE UNIT BETTER [TARGET [RATIO]]: one line of the results.
#   C, NODE  the two sides' figures (medians), in UNIT
#   BETTER   higher (a rate) or lower (a time, a size): which way C wins
#   TARGET   what the issue asks of the ratio C/NODE, ">= 1.1" or "<= 1.2";
#            of C's own figure, "C <= 4096"; or nothing (information)
#   RATIO    C/NODE when it is not C's median over NODE's (say, the median
#            of per-round ratios); two decimals
# Rows go to $rows (tab-separated) for report.js, which writes results.md
# and results.json, with the 1-minute load average when the row was made.
# meets V "OP LIMIT": yes or no (OP: <, <=, >, >=).
meets() {
	awk -v v="$1" -v t="$2" 'BEGIN { split(t, x, " "); l = x[2] + 0
	    ok = x[1] == "<" ? v < l : x[1] == "<=" ? v <= l : \
	        x[1] == ">" ? v > l : v >= l
	    print ok ? "yes" : "no" }'
}

rows=$tmp/rows.tsv
: >"$rows"
# report [NOTE]: results.md and results.json from the rows so far (report.js).
report() {
	node "$here/report.js" "$rows" "$outdir" \
	    "tests/bench/run.sh -r $runs$([ "$quick" = 1 ] && echo ' -q')$([ "$sections" = "$all_sections" ] || echo " -s $sections")${1:+ ($1)}" \
	    "$runs" "$load0" "$(cut -d ' ' -f 1-3 /proc/loadavg)" "$commit"
	echo "run.sh: wrote $outdir/results.md and $outdir/results.json${1:+ ($1)}" >&2
}
row() {
	local name=$1 a=$2 b=$3 unit=$4 better=$5 target=${6:-} r=${7:-} met=
	[ -n "$r" ] || r=$(ratio "$a" "$b")
	case $target in
	'') met=- ;;
	C*) met=$(meets "$a" "${target#C }") ;;
	*) met=$(meets "$r" "$target") ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$a" "$b" \
	    "$unit" "$better" "$r" "$target" "$met" \
	    "$(cut -d ' ' -f 1 /proc/loadavg)" >>"$rows"
	printf '%-64s %12s %12s  %6sx  %s %s\n' "$name" "$a" "$b" "$r" \
	    "$target" "$met" >&2
}

# alternate "A-FN [ARG...]" "B-FN [ARG...]": runs the shell function A-FN
# (words split) and B-FN RUNS times each, alternating which goes first so
# that load from elsewhere hits both alike, and keeps their outputs (lines
# of KEY=VALUE words) in OUTA and OUTB for med.  A failing run stops run.sh.
alternate() {
	local i
	OUTA=() OUTB=()
	for ((i = 0; i < runs; i++)); do
		if ((i % 2 == 0)); then
			OUTA+=("$($1)")
			OUTB+=("$($2)")
		else
			OUTB+=("$($2)")
			OUTA+=("$($1)")
		fi
	done
}

# pair A-CMD :: B-CMD: alternate for two commands.
pair() {
	local -a ca=() cb=()
	while [ "$1" != "::" ]; do ca+=("$1"); shift; done
	shift
	cb=("$@")
	pair_a() { run "${ca[0]}" "${ca[@]}"; }
	pair_b() { run "${cb[0]}" "${cb[@]}"; }
	alternate pair_a pair_b
}

# med KEY: sets A and B to the medians of KEY in the last pair's outputs.
med() {
	local o
	local -a va=() vb=()
	for o in "${OUTA[@]}"; do va+=("$(val "$1" "$o")"); done
	for o in "${OUTB[@]}"; do vb+=("$(val "$1" "$o")"); done
	A=$(median "${va[@]}")
	B=$(median "${vb[@]}")
}

load0=$(cut -d ' ' -f 1-3 /proc/loadavg)
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "run.sh: $runs run(s) of each; medians; load average $load0" >&2

# ---- 1, 2: messages per second ------------------------------------------
if want ipc; then
	echo "## IPC messages/s ($n_msgs messages of 16 bytes, 100 in flight)" >&2
	pair "$b/bench-ipc" throughput -n "$n_msgs" -- node "$here/echo.js" :: \
		node "$here/ipc.js" throughput -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	row "msgs/s, C parent <-> node child vs node <-> node" "$A" "$B" \
		msgs/s higher ">= 1.0"
	node_node=$B
	med cpu_us_per_msg
	row "parent's CPU per message, C vs node (node child)" "$A" "$B" \
		µs lower

	pair "$b/bench-ipc" throughput -n "$n_msgs" -- "$b/bench-echo" :: \
		node "$here/ipc.js" throughput -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	row "msgs/s, C <-> C (library both sides) vs node <-> node" "$A" "$B" \
		msgs/s higher ">= 4"

	pair node "$here/ipc.js" throughput -n "$n_msgs" -- "$b/bench-echo" :: \
		node "$here/ipc.js" throughput -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	row "msgs/s, node parent <-> C child vs node <-> node" "$A" "$B" \
		msgs/s higher
fi

# ---- advanced (V8) serialization: messages per second ---------------------
if want advanced; then
	echo "## IPC messages/s, serialization advanced ($n_msgs messages, 100 in flight)" >&2
	pair "$b/bench-ipc" throughput -S advanced -n "$n_msgs" -- node "$here/echo.js" :: \
		node "$here/ipc.js" throughput -S advanced -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	row "advanced msgs/s, C parent <-> node child vs node <-> node" "$A" "$B" \
		msgs/s higher ">= 1.0"
	med cpu_us_per_msg
	row "advanced: parent's CPU per message, C vs node (node child)" "$A" "$B" \
		µs lower

	pair node "$here/ipc.js" throughput -S advanced -n "$n_msgs" -- "$b/bench-echo" :: \
		node "$here/ipc.js" throughput -S advanced -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	row "advanced msgs/s, node parent <-> C child vs node <-> node" "$A" "$B" \
		msgs/s higher ">= 1.0"

	pair "$b/bench-ipc" throughput -S advanced -n "$n_msgs" -- "$b/bench-echo" :: \
		node "$here/ipc.js" throughput -S advanced -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	row "advanced msgs/s, C <-> C vs node <-> node" "$A" "$B" \
		msgs/s higher
fi

# ---- 3: round-trip latency -----------------------------------------------
if want latency; then
	echo "## round trip, one message in flight ($n_lat round trips)" >&2
	# Latency suffers most from other work on the machine: more, shorter
	# runs, so that a burst of it hits both sides alike.
	runs_saved=$runs
	runs=$((runs * 3))
	pair "$b/bench-ipc" latency -n "$((n_lat / 2))" -- node "$here/echo.js" :: \
		node "$here/ipc.js" latency -n "$((n_lat / 2))" -- node "$here/echo.js"
	runs=$runs_saved
	med median_us
	row "round trip median, C <-> node vs node <-> node" "$A" "$B" \
		µs lower "<= 1.0"
	med p99_us
	row "round trip p99, C <-> node vs node <-> node" "$A" "$B" \
		µs lower "<= 1.0"
fi

# ---- 4: childproc-fork as a bridge ----------------------------------------
if want bridge; then
	echo "## childproc-fork bridging $n_bridge lines through node echo.js" >&2
	node -e '
		const n = Number(process.argv[1]), d = "x".repeat(16);
		const out = [];
		for (let i = 0; i < n; i++) out.push(JSON.stringify({ seq: i, data: d }));
		require("fs").writeFileSync(process.argv[2], out.join("\n") + "\n");
		require("fs").writeFileSync(process.argv[3], out[0] + "\n");
	' "$n_bridge" "$tmp/in" "$tmp/in1"

	# bridge IN CMD...: cat IN | peakrss CMD > out; checks every line came back.
	bridge() {
		local in=$1 o
		shift
		if ! o=$(cat "$in" | "$b/peakrss" "$@" 2>&1 >"$tmp/out"); then
			echo "run.sh: bridge failed: $*" >&2
			printf '%s\n' "$o" >&2
			exit 1
		fi
		if ! cmp -s "$in" "$tmp/out"; then
			echo "run.sh: bridge output differs from its input: $*" >&2
			exit 1
		fi
		printf '%s\n' "$o"
	}

	# bridge_run a|b: one measure of childproc-fork (a) or bridge.js (b).
	bridge_run() {
		local o o1 w w1 rate net
		if [ "$1" = a ]; then
			set -- childproc-fork --end replies "$here/echo.js"
		else
			set -- node "$here/bridge.js" "$here/echo.js"
		fi
		o=$(bridge "$tmp/in" "$@")
		w=$(val wall_s "$o")
		o1=$(bridge "$tmp/in1" "$@")
		w1=$(val wall_s "$o1")
		rate=$(awk -v n="$n_bridge" -v w="$w" 'BEGIN { printf "%.0f", n / w }')
		net=$(awk -v n="$n_bridge" -v w="$w" -v w1="$w1" \
		    'BEGIN { printf "%.0f", (n - 1) / (w - w1) }')
		echo "rate=$rate net=$net $o"
	}

	alternate "bridge_run a" "bridge_run b"
	med rate
	row "msgs/s end to end, childproc-fork vs node bridge.js" "$A" "$B" \
		msgs/s higher ">= 0.9"
	med net
	row "msgs/s without start-up, childproc-fork vs node bridge.js" "$A" "$B" \
		msgs/s higher ">= 0.9"
	if [ -n "${node_node:-}" ]; then
		row "msgs/s without start-up, childproc-fork vs node <-> node (ipc.js)" \
			"$A" "$node_node" msgs/s higher ">= 0.9"
	fi
	med cpu_s
	row "CPU seconds of the bridge process (not its child)" "$A" "$B" s lower
	med peak_rss_kb
	row "peak RSS of the bridge process (not its child)" "$A" "$B" KiB \
		lower "C <= 4096"
fi

# ---- 5: one big message ---------------------------------------------------
if want big; then
	echo "## one message of $big bytes, there and back" >&2
	pair "$b/bench-ipc" big -s "$big" -- node "$here/echo.js" :: \
		node "$here/ipc.js" big -s "$big" -- node "$here/echo.js"
	med seconds
	row "$((big >> 20)) MiB round trip, C <-> node vs node <-> node" "$A" "$B" \
		s lower "<= 1.5"
	pair "$b/bench-ipc" big -s "$big" -- "$b/bench-echo" :: \
		node "$here/ipc.js" big -s "$big" -- node "$here/echo.js"
	med seconds
	row "$((big >> 20)) MiB round trip, C <-> C vs node <-> node" "$A" "$B" \
		s lower
fi

# ---- 6: spawn latency -------------------------------------------------------
if want spawn; then
	echo "## spawn /bin/true and wait, $n_spawn times" >&2
	pair "$b/bench-spawn" lib -n "$n_spawn" :: \
		"$b/bench-spawn" posix -n "$n_spawn"
	med median_us
	row "spawn+wait median, library (stdio ignored) vs posix_spawn+waitpid" \
		"$A" "$B" µs lower "<= 1.2"
	pair "$b/bench-spawn" lib -n "$n_spawn" :: \
		"$b/bench-spawn" fork -n "$n_spawn"
	med median_us
	row "spawn+wait median, library vs fork+execv+waitpid (libuv 1.44 forks)" \
		"$A" "$B" µs lower
	pair "$b/bench-spawn" sync -n "$n_spawn" :: \
		node "$here/spawn.js" sync -n "$n_spawn"
	med median_us
	row "spawnSync median, cp_spawn_sync vs node spawnSync (3 pipes)" \
		"$A" "$B" µs lower "< 1.0"
	pair "$b/bench-spawn" sync-ignore -n "$n_spawn" :: \
		node "$here/spawn.js" sync-ignore -n "$n_spawn"
	med median_us
	row "spawnSync median, cp_spawn_sync vs node spawnSync, stdio ignored" \
		"$A" "$B" µs lower "< 1.0"
	# From a parent with a big touched heap: a forking spawner copies its
	# page tables each time; posix_spawn (vfork) does not.
	n_heap=$((n_spawn / 4))
	for mib in 0 256 1024; do
		pair "$b/bench-spawn" lib -n "$n_heap" -H "$mib" :: \
			"$b/bench-spawn" posix -n "$n_heap" -H "$mib"
		med median_us
		row "spawn+wait, heap $mib MiB: library vs posix_spawn+waitpid" \
			"$A" "$B" µs lower "<= 1.1"
		eval "lib_heap_$mib=\$A"
		pair "$b/bench-spawn" sync-ignore -n "$n_heap" -H "$mib" :: \
			node "$here/spawn.js" sync-ignore -n "$n_heap" -H "$mib"
		med median_us
		row "spawnSync, heap $mib MiB: cp_spawn_sync vs node spawnSync (ignored)" \
			"$A" "$B" µs lower
	done
	# Both sides C here: the library from a 1 GiB heap against from none.
	row "library spawn+wait, heap 1 GiB vs heap 0 (both C)" "$lib_heap_1024" \
		"$lib_heap_0" µs lower "<= 1.1"
fi

# ---- 7: capturing output ----------------------------------------------------
if want exec; then
	echo "## execFile capturing head -c $exec_size /dev/zero" >&2
	bytes=$(numfmt --from=iec "$exec_size")

	# capture KIND: MB/s and peak RSS, end to end, of the command (cmd),
	# the library (lib) or Node (node); every byte must be captured.
	capture() {
		local o got
		case $1 in
		cmd)	# It writes what it captured, as it must, to /dev/null
			# (free, as Node's side writes nothing); the count was
			# checked through wc on a smaller size below.
			if ! "$b/peakrss" childproc-execfile --max-buffer=Infinity \
			    head -c "$exec_size" /dev/zero </dev/null >/dev/null \
			    2>"$tmp/err"; then
				cat "$tmp/err" >&2
				exit 1
			fi
			o=$(cat "$tmp/err")
			got=$bytes ;;
		lib)	o=$(run bench-capture "$b/peakrss" "$b/bench-capture" \
			    head -c "$exec_size" /dev/zero)
			got=$(val bytes "$o") ;;
		node)	o=$(run execfile.js "$b/peakrss" node "$here/execfile.js" \
			    "$exec_size")
			got=$(val bytes "$o") ;;
		esac
		if [ "$got" != "$bytes" ] || [ "$(val status "$o")" != 0 ]; then
			echo "run.sh: $1 captured $got bytes, not $bytes" >&2
			printf '%s\n' "$o" >&2
			exit 1
		fi
		echo "mb_per_s=$(awk -v n="$bytes" -v w="$(val wall_s "$o")" \
		    'BEGIN { printf "%.0f", n / w / 1e6 }') $o"
	}
	lim=$((bytes / 1024 + 8192))
	kinds=lib
	if [ -x "$cmd/childproc-execfile" ]; then
		kinds="cmd lib"
		got=$(childproc-execfile --max-buffer=Infinity head -c 3M /dev/zero |
		    wc -c)
		if [ "$got" != $((3 << 20)) ]; then
			echo "run.sh: childproc-execfile wrote $got bytes of 3 MiB" >&2
			exit 1
		fi
	fi
	for kind in $kinds; do
		alternate "capture $kind" "capture node"
		if [ "$kind" = cmd ]; then
			what="childproc-execfile --max-buffer=Infinity"
		else
			what="cp_exec_file (library)"
		fi
		med mb_per_s
		row "capture $exec_size, $what vs node execFile" "$A" "$B" \
			MB/s higher ">= 5"
		med peak_rss_kb
		row "capture $exec_size, peak RSS, $what vs node" "$A" "$B" KiB \
			lower "C <= $lim"
	done
	[ -x "$cmd/childproc-execfile" ] ||
		echo "## capture, childproc-execfile: skipped (not built)" >&2
fi

# ---- 7b: streaming output to a file and to a pipe ----------------------------
if want stream && [ -x "$cmd/childproc-execfile" ]; then
	# childproc-execfile without --json writes the output as it arrives:
	# against the plain shell pipeline that does the same copy.  Both write
	# to the same file (or through cat to /dev/null), alternately.
	echo "## streaming head -c $exec_size /dev/zero to a file and a pipe" >&2
	bytes=$(numfmt --from=iec "$exec_size")
	# stream KIND DEST: MB/s and peak RSS; every byte must arrive.
	stream() {
		local o got
		rm -f "$tmp/stream.out"
		case $1 in
		cmd)	if [ "$2" = file ]; then
				o=$("$b/peakrss" childproc-execfile --max-buffer=Infinity \
				    head -c "$exec_size" /dev/zero 2>&1 >"$tmp/stream.out" \
				    </dev/null)
			else
				o=$("$b/peakrss" sh -c 'childproc-execfile \
				    --max-buffer=Infinity head -c "$1" /dev/zero |
				    cat > "$2"' sh "$exec_size" "$tmp/stream.out" 2>&1 \
				    </dev/null)
			fi ;;
		sh)	o=$("$b/peakrss" sh -c 'head -c "$1" /dev/zero | cat > "$2"' \
			    sh "$exec_size" "$tmp/stream.out" 2>&1 </dev/null) ;;
		esac
		got=$(wc -c < "$tmp/stream.out")
		if [ "$got" != "$bytes" ] || [ "$(val status "$o")" != 0 ]; then
			echo "run.sh: $1 $2 wrote $got bytes, not $bytes" >&2
			printf '%s\n' "$o" >&2
			exit 1
		fi
		echo "mb_per_s=$(awk -v n="$bytes" -v w="$(val wall_s "$o")" \
		    'BEGIN { printf "%.0f", n / w / 1e6 }') $o"
	}
	for dest in file pipe; do
		alternate "stream cmd $dest" "stream sh $dest"
		med mb_per_s
		if [ $dest = file ]; then
			what="childproc-execfile > file"
			rss_a=$(med peak_rss_kb >/dev/null; echo "$A")
		else
			what="childproc-execfile | cat > file"
		fi
		row "stream $exec_size, $what vs head | cat > file" "$A" "$B" \
			MB/s higher ">= 0.9"
	done
	# The peak RSS of childproc-execfile itself (the file run above).
	row "stream $exec_size, peak RSS of childproc-execfile (cat: for scale)" \
		"$rss_a" "-" KiB lower "C <= 4096" "-"
	rm -f "$tmp/stream.out"
fi

# ---- 8: childproc-fork as a cluster primary, against Node's cluster ---------
# Issue 8: the SAME unmodified app (app.js: http.createServer().listen(0))
# under `childproc-fork -n 4` (cluster mode, the default; --sched rr, none,
# reuseport) and under Node's own cluster primary (cluster.js, rr and
# none), plus childproc-fork's --listen mode with a worker written for it
# (worker.js).  Each run starts every configuration back to back, pairs
# side by side, and the next run goes through them in the reverse order
# (ABBA...), so that noise from the rest of the machine hits both sides
# alike; req/s and p99 ratios are taken within a run, then their median is
# reported.  The load client (tests/handles/loadgen, C, epoll) is the same
# for all, with a new TCP connection per request.
if want cluster; then
	worker=$src/tests/handles/node/worker.js
	loadgen=$build/tests/handles/loadgen
	echo "## 4 HTTP workers, 16 requests in flight for $http_secs s" >&2
	server=
	stop_server() {
		if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
			kill -TERM "$server"
			wait "$server" || true
		fi
		server=
	}

	# start CONFIG: the server in the background; sets server and addr,
	# and returns once every worker is ready and a short warm-up has run.
	start() {
		: >"$tmp/status"
		case $1 in
		cfork-* | ckeep-*)
			# the unmodified app, childproc-fork its primary (ckeep:
			# the master left SCHED_OTHER)
			childproc-fork -n 4 --sched "${1#c*-}" --status-fd 3 \
			    --master-policy "$([ "${1%%-*}" = ckeep ] &&
			    echo keep || echo batch)" \
			    "$here/app.js" </dev/null >/dev/null 2>"$tmp/err" \
			    3>"$tmp/status" &
			server=$!
			# Ready: all 4 listen (a worker is ready once it has).
			wait_lines ' ready$' 4 "$tmp/status" "$server" ;;
		fork-*)		# --listen: a worker written for it
			childproc-fork -n 4 --balance "${1#fork-}" \
			    --listen 127.0.0.1:0 --status-fd 3 "$worker" listen \
			    </dev/null >/dev/null 2>"$tmp/err" 3>"$tmp/status" &
			server=$!
			# Ready: the server handle reached all 4 (each ACKed it).
			wait_lines ' started$' 4 "$tmp/status" "$server" ;;
		cluster-*)	# the same app.js under Node's cluster primary
			NODE_CLUSTER_SCHED_POLICY=${1#cluster-} \
			    node "$here/cluster.js" 4 </dev/null >"$tmp/status" \
			    2>"$tmp/err" &
			server=$! ;;
		esac
		wait_lines 'listening on' 1 "$tmp/status" "$server"
		addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$tmp/status" |
		    head -n 1)
		"$loadgen" -c 16 -t 1 "$addr" >/dev/null
	}
	kb() {	# kb PID FIELD: VmRSS or VmHWM of PID, in KiB
		awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
	}

	configs="ckeep-rr cfork-rr cluster-rr cfork-none cluster-none cfork-reuseport
	    fork-shared fork-reuseport"
	rconfigs=$(printf '%s\n' $configs | tac)
	declare -A rps p99 rss hwm skew
	# run_config C: one measure of configuration C.
	run_config() {
		local c=$1 bad
		start "$c"
		"$loadgen" -c 16 -t "$http_secs" "$addr" >"$tmp/load"
		bad=$(json "$tmp/load" 'r.refused + r.reset + r.timeout + r.other')
		[ "$bad" -eq 0 ] || echo "run.sh: $c: $bad failed requests" >&2
		rps[$c]="${rps[$c]:-} $(json "$tmp/load" 'Math.round(r.rps)')"
		p99[$c]="${p99[$c]:-} $(json "$tmp/load" 'r.p99_ms.toFixed(2)')"
		rss[$c]="${rss[$c]:-} $(kb "$server" VmRSS)"
		hwm[$c]="${hwm[$c]:-} $(kb "$server" VmHWM)"
		# How 4 workers share new connections, 8 in flight: the
		# busiest worker's count over the idlest's (1 is even).  For
		# a time, not a count, so that a loaded machine cannot make
		# the run endless.
		"$loadgen" -c 8 -t "$http_secs" "$addr" >"$tmp/spread"
		skew[$c]="${skew[$c]:-} $(json "$tmp/spread" \
		    'Object.keys(r.pids).length < 4 ? "inf" :
		    (Math.max(...Object.values(r.pids)) /
		    Math.min(...Object.values(r.pids))).toFixed(2)')"
		stop_server
		echo "run $i $c: $(json "$tmp/load" 'Math.round(r.rps)') req/s," \
		    "p99 $(json "$tmp/load" 'r.p99_ms.toFixed(2)') ms," \
		    "rss $(last "${rss[$c]}") KiB," \
		    "spread $(json "$tmp/spread" 'Object.values(r.pids)')" >&2
	}
	last() { echo "${1##* }"; }
	# crow NAME FIGURE A B UNIT BETTER [TARGET]: the row of configuration
	# A against B: the medians of FIGURE (rps, p99, ...: one value per
	# run) and the median of the ratios A/B taken within each run.
	crow() {
		local -n f_=$2
		local -a va=(${f_[$3]}) vb=(${f_[$4]})
		local k rs=
		for ((k = 0; k < ${#va[@]}; k++)); do
			rs="$rs $(ratio "${va[k]}" "${vb[k]}")"
		done
		row "$1" "$(median "${va[@]}")" "$(median "${vb[@]}")" "$5" "$6" \
		    "${7:-}" "$(median $rs)"
	}
	for ((i = 0; i < runs; i++)); do
		if ((i % 2 == 0)); then order=$configs; else order=$rconfigs; fi
		for c in $order; do
			run_config "$c"
		done
	done
	crow "HTTP req/s, app.js: childproc-fork -n 4 (rr) vs cluster rr" \
		rps cfork-rr cluster-rr req/s higher ">= 1.1"
	crow "HTTP req/s, app.js: childproc-fork -n 4 --sched none vs cluster none" \
		rps cfork-none cluster-none req/s higher ">= 1.0"
	crow "HTTP req/s, app.js: childproc-fork -n 4 --sched reuseport vs cluster rr" \
		rps cfork-reuseport cluster-rr req/s higher ">= 1.4"
	crow "HTTP p99 latency, app.js: childproc-fork rr vs cluster rr" \
		p99 cfork-rr cluster-rr ms lower "<= 1.0"
	crow "HTTP p99 latency, app.js: childproc-fork none vs cluster none" \
		p99 cfork-none cluster-none ms lower "<= 1.0"
	crow "HTTP p99 latency, app.js: childproc-fork reuseport vs cluster rr" \
		p99 cfork-reuseport cluster-rr ms lower "<= 1.0"
	crow "HTTP req/s, childproc-fork rr: master SCHED_BATCH (default) vs --master-policy keep" \
		rps cfork-rr ckeep-rr req/s higher
	crow "HTTP p99 latency, childproc-fork rr: master SCHED_BATCH vs --master-policy keep" \
		p99 cfork-rr ckeep-rr ms lower
	crow "HTTP req/s, childproc-fork --master-policy keep (rr) vs cluster rr" \
		rps ckeep-rr cluster-rr req/s higher
	crow "primary RSS after the load, app.js: childproc-fork rr vs cluster rr" \
		rss cfork-rr cluster-rr KiB lower "C < 4096"
	crow "primary peak RSS, app.js: childproc-fork rr vs cluster rr" \
		hwm cfork-rr cluster-rr KiB lower "C < 4096"
	crow "HTTP req/s, childproc-fork --listen (shared) vs cluster round-robin" \
		rps fork-shared cluster-rr req/s higher ">= 1.1"
	crow "HTTP req/s, childproc-fork --listen (shared) vs cluster SCHED_NONE" \
		rps fork-shared cluster-none req/s higher ">= 0.9"
	crow "HTTP req/s, childproc-fork --balance reuseport vs cluster round-robin" \
		rps fork-reuseport cluster-rr req/s higher
	crow "master RSS after the load, --listen (4 workers) vs cluster primary (rr)" \
		rss fork-shared cluster-rr KiB lower "C < 4096"
	crow "busiest/idlest worker, app.js: childproc-fork rr vs cluster rr" \
		skew cfork-rr cluster-rr x lower
	crow "busiest/idlest worker, app.js: childproc-fork none vs cluster none" \
		skew cfork-none cluster-none x lower
	crow "busiest/idlest worker, childproc-fork --listen shared vs cluster none" \
		skew fork-shared cluster-none x lower
	crow "busiest/idlest worker, childproc-fork reuseport vs cluster rr" \
		skew cfork-reuseport cluster-rr x lower
fi

# ---- 9: handle passing rate ------------------------------------------------
if want handles; then
	echo "## $n_handles connected sockets passed, each ACKed" >&2
	pair "$b/bench-handles" -n "$n_handles" -- node "$here/handles.js" child :: \
		node "$here/handles.js" parent -n "$n_handles" -- \
		node "$here/handles.js" child
	med handles_per_s
	row "handles/s, C parent -> node vs node -> node (net.Socket, ACKed)" \
		"$A" "$B" handles/s higher

	# The same one socket sent again and again (keepOpen), through
	# tests/handles' hparent "rate" case and node-rate.js: each send waits
	# for the ACK of the one before on both sides.
	rate_of() {	# rate_of CMD...: the N of its "...: N/s" line
		run "$1" "$@" | sed -n 's/.*: \([0-9]*\)\/s$/\1/p'
	}
	child_js=$src/tests/handles/node/child.js
	rate_c() {
		echo "handles_per_s=$(rate_of "$build/tests/handles/hparent" \
		    "$(command -v node)" "$child_js" rate "$n_handles")"
	}
	rate_node() {
		echo "handles_per_s=$(rate_of node "$here/node-rate.js" \
		    "$child_js" "$n_handles")"
	}
	alternate rate_c rate_node
	med handles_per_s
	row "handles/s, one socket kept open, C -> node vs node -> node" \
		"$A" "$B" handles/s higher
fi

# ---- results.md and results.json -------------------------------------------
finished=1
report

