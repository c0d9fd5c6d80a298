#!/bin/bash
# run.sh - childproc against Node on the same machine, in the same run.
#
#   tests/bench/run.sh [-r RUNS] [-q] [-o FILE] [-s SECTION,...]
#
# Builds a release tree (build-bench at the top of the source, or
# $BENCH_BUILD_DIR), runs every benchmark pairwise with its Node
# equivalent RUNS times (default 5; C and Node alternate so that load from
# elsewhere hits both alike), and prints a table of medians and ratios,
# also written to tests/bench/results.md (or FILE).  -q is a quick smoke
# run: fewer runs, smaller counts; its numbers are not meant to be quoted.
# -s runs only some sections: ipc, advanced, latency, bridge, big, spawn, exec,
# stream, master, handles.
# The machine is shared and noisy: only ratios measured in one run mean
# anything, never an absolute number from another day.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
runs=5
quick=0
out=$here/results.md
sections=ipc,advanced,latency,bridge,big,spawn,exec,stream,master,handles
while getopts r:qo:s: opt; do
	case $opt in
	r) runs=$OPTARG ;;
	q) quick=1; runs=1 ;;
	o) out=$OPTARG ;;
	s) sections=$OPTARG ;;
	*) echo "usage: $0 [-r RUNS] [-q] [-o FILE] [-s SECTION,...]" >&2
	   exit 2 ;;
	esac
done

# want SECTION: whether -s asked for it.
want() {
	case ",$sections," in *",$1,"*) return 0 ;; esac
	return 1
}

# Sizes: the issue's figures, or small ones for -q.
if [ "$quick" = 1 ]; then
	n_msgs=20000 n_lat=2000 n_bridge=20000 big=$((8 << 20)) n_spawn=200
	exec_size=64M n_http=500 n_handles=500
else
	n_msgs=100000 n_lat=20000 n_bridge=200000 big=$((64 << 20)) n_spawn=2000
	exec_size=1G n_http=4000 n_handles=5000
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
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# ---- helpers -------------------------------------------------------------

# val KEY TEXT: the value of KEY=VALUE in TEXT.
val() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1
}

# median V...: the median of the numbers given.
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

# check OP RATIO LIMIT: "yes" if RATIO OP LIMIT (OP: ge or le).
check() {
	awk -v op="$1" -v r="$2" -v l="$3" 'BEGIN {
	    ok = op == "ge" ? r >= l : r <= l; print ok ? "yes" : "**no**" }'
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

rows=()
# row NAME C NODE UNIT RATIO-TEXT TARGET MET
row() {
	rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |")
	printf '%-58s %12s %12s  %-8s %s\n' "$1" "$2" "$3" "$5" "$6" >&2
}

# pair A-CMD :: B-CMD: runs both RUNS times, alternating which goes first,
# and keeps their outputs in OUTA and OUTB for med.
pair() {
	local i
	local -a ca=() cb=()
	while [ "$1" != "::" ]; do ca+=("$1"); shift; done
	shift
	cb=("$@")
	OUTA=() OUTB=()
	for ((i = 0; i < runs; i++)); do
		if ((i % 2 == 0)); then
			OUTA+=("$(run "${ca[0]}" "${ca[@]}")")
			OUTB+=("$(run "${cb[0]}" "${cb[@]}")")
		else
			OUTB+=("$(run "${cb[0]}" "${cb[@]}")")
			OUTA+=("$(run "${ca[0]}" "${ca[@]}")")
		fi
	done
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
echo "run.sh: $runs run(s) of each; medians; load average $load0" >&2

# ---- 1, 2: messages per second ------------------------------------------
if want ipc; then
	echo "## IPC messages/s ($n_msgs messages of 16 bytes, 100 in flight)" >&2
	pair "$b/bench-ipc" throughput -n "$n_msgs" -- node "$here/echo.js" :: \
		node "$here/ipc.js" throughput -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	r=$(ratio "$A" "$B")
	row "msgs/s, C parent <-> node child vs node <-> node" "$A" "$B" \
		msgs/s "${r}x" "≥ 1.0x: $(check ge "$r" 1.0)"
	node_node=$B
	med cpu_us_per_msg
	r=$(ratio "$A" "$B")
	row "parent's CPU per message, C vs node (node child)" "$A" "$B" \
		µs "${r}x" "(information: C is not the bottleneck)"

	pair "$b/bench-ipc" throughput -n "$n_msgs" -- "$b/bench-echo" :: \
		node "$here/ipc.js" throughput -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	r=$(ratio "$A" "$B")
	row "msgs/s, C <-> C (library both sides) vs node <-> node" "$A" "$B" \
		msgs/s "${r}x" "≥ 4x: $(check ge "$r" 4.0)"

	pair node "$here/ipc.js" throughput -n "$n_msgs" -- "$b/bench-echo" :: \
		node "$here/ipc.js" throughput -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	r=$(ratio "$A" "$B")
	row "msgs/s, node parent <-> C child vs node <-> node" "$A" "$B" \
		msgs/s "${r}x" "(information)"
fi

# ---- advanced (V8) serialization: messages per second ---------------------
if want advanced; then
	echo "## IPC messages/s, serialization advanced ($n_msgs messages, 100 in flight)" >&2
	pair "$b/bench-ipc" throughput -S advanced -n "$n_msgs" -- node "$here/echo.js" :: \
		node "$here/ipc.js" throughput -S advanced -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	r=$(ratio "$A" "$B")
	row "advanced msgs/s, C parent <-> node child vs node <-> node" "$A" "$B" \
		msgs/s "${r}x" "≥ 1.0x: $(check ge "$r" 1.0)"
	med cpu_us_per_msg
	r=$(ratio "$A" "$B")
	row "advanced: parent's CPU per message, C vs node (node child)" "$A" "$B" \
		µs "${r}x" "(information: not skewed by the load)"

	pair node "$here/ipc.js" throughput -S advanced -n "$n_msgs" -- "$b/bench-echo" :: \
		node "$here/ipc.js" throughput -S advanced -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	r=$(ratio "$A" "$B")
	row "advanced msgs/s, node parent <-> C child vs node <-> node" "$A" "$B" \
		msgs/s "${r}x" "≥ 1.0x: $(check ge "$r" 1.0)"

	pair "$b/bench-ipc" throughput -S advanced -n "$n_msgs" -- "$b/bench-echo" :: \
		node "$here/ipc.js" throughput -S advanced -n "$n_msgs" -- node "$here/echo.js"
	med msgs_per_s
	r=$(ratio "$A" "$B")
	row "advanced msgs/s, C <-> C vs node <-> node" "$A" "$B" \
		msgs/s "${r}x" "(information)"
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
	r=$(ratio "$A" "$B")
	row "round trip median, C <-> node vs node <-> node" "$A" "$B" \
		µs "${r}x time" "≤ 1.0x: $(check le "$r" 1.0)"
	med p99_us
	r=$(ratio "$A" "$B")
	row "round trip p99, C <-> node vs node <-> node" "$A" "$B" \
		µs "${r}x time" "≤ 1.0x: $(check le "$r" 1.0)"
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

	OUTA=() OUTB=()
	for ((i = 0; i < runs; i++)); do
		if ((i % 2 == 0)); then
			OUTA+=("$(bridge_run a)")
			OUTB+=("$(bridge_run b)")
		else
			OUTB+=("$(bridge_run b)")
			OUTA+=("$(bridge_run a)")
		fi
	done
	med rate
	r=$(ratio "$A" "$B")
	row "msgs/s end to end, childproc-fork vs node bridge.js" "$A" "$B" \
		msgs/s "${r}x" "≥ 0.9x: $(check ge "$r" 0.9)"
	med net
	r=$(ratio "$A" "$B")
	row "msgs/s without start-up, childproc-fork vs node bridge.js" "$A" "$B" \
		msgs/s "${r}x" "≥ 0.9x: $(check ge "$r" 0.9)"
	if [ -n "${node_node:-}" ]; then
		r=$(ratio "$A" "$node_node")
		row "msgs/s without start-up, childproc-fork vs node <-> node (ipc.js)" \
			"$A" "$node_node" msgs/s "${r}x" "≥ 0.9x: $(check ge "$r" 0.9)"
	fi
	med cpu_s
	r=$(ratio "$A" "$B")
	row "CPU seconds of the bridge process (not its child)" "$A" "$B" s \
		"${r}x" "(information: C is not the bottleneck)"
	med peak_rss_kb
	r=$(ratio "$A" "$B")
	row "peak RSS of the bridge process (not its child)" "$A" "$B" KiB \
		"${r}x" "< 4 MB: $(check le "$A" 4096)"
fi

# ---- 5: one big message ---------------------------------------------------
if want big; then
	echo "## one message of $big bytes, there and back" >&2
	pair "$b/bench-ipc" big -s "$big" -- node "$here/echo.js" :: \
		node "$here/ipc.js" big -s "$big" -- node "$here/echo.js"
	med seconds
	r=$(ratio "$A" "$B")
	row "$((big >> 20)) MiB round trip, C <-> node vs node <-> node" "$A" "$B" \
		s "${r}x time" "≤ 1.5x: $(check le "$r" 1.5)"
	pair "$b/bench-ipc" big -s "$big" -- "$b/bench-echo" :: \
		node "$here/ipc.js" big -s "$big" -- node "$here/echo.js"
	med seconds
	r=$(ratio "$A" "$B")
	row "$((big >> 20)) MiB round trip, C <-> C vs node <-> node" "$A" "$B" \
		s "${r}x time" "(information)"
fi

# ---- 6: spawn latency -------------------------------------------------------
if want spawn; then
	echo "## spawn /bin/true and wait, $n_spawn times" >&2
	pair "$b/bench-spawn" lib -n "$n_spawn" :: \
		"$b/bench-spawn" posix -n "$n_spawn"
	med median_us
	r=$(ratio "$A" "$B")
	row "spawn+wait median, library (stdio ignored) vs posix_spawn+waitpid" \
		"$A" "$B" µs "${r}x time" "≤ 1.2x: $(check le "$r" 1.2)"
	pair "$b/bench-spawn" lib -n "$n_spawn" :: \
		"$b/bench-spawn" fork -n "$n_spawn"
	med median_us
	r=$(ratio "$A" "$B")
	row "spawn+wait median, library vs fork+execv+waitpid (libuv 1.44 forks)" \
		"$A" "$B" µs "${r}x time" "(information)"
	pair "$b/bench-spawn" sync -n "$n_spawn" :: \
		node "$here/spawn.js" sync -n "$n_spawn"
	med median_us
	r=$(ratio "$A" "$B")
	row "spawnSync median, cp_spawn_sync vs node spawnSync (3 pipes)" \
		"$A" "$B" µs "${r}x time" "< 1.0x: $(check le "$r" 0.999)"
	pair "$b/bench-spawn" sync-ignore -n "$n_spawn" :: \
		node "$here/spawn.js" sync-ignore -n "$n_spawn"
	med median_us
	r=$(ratio "$A" "$B")
	row "spawnSync median, cp_spawn_sync vs node spawnSync, stdio ignored" \
		"$A" "$B" µs "${r}x time" "< 1.0x: $(check le "$r" 0.999)"
	# From a parent with a big touched heap: a forking spawner copies its
	# page tables each time; posix_spawn (vfork) does not.
	n_heap=$((n_spawn / 4))
	for mib in 0 256 1024; do
		pair "$b/bench-spawn" lib -n "$n_heap" -H "$mib" :: \
			"$b/bench-spawn" posix -n "$n_heap" -H "$mib"
		med median_us
		r=$(ratio "$A" "$B")
		row "spawn+wait, heap $mib MiB: library vs posix_spawn+waitpid" \
			"$A" "$B" µs "${r}x time" "≤ 1.1x: $(check le "$r" 1.1)"
		eval "lib_heap_$mib=\$A"
		pair "$b/bench-spawn" sync-ignore -n "$n_heap" -H "$mib" :: \
			node "$here/spawn.js" sync-ignore -n "$n_heap" -H "$mib"
		med median_us
		r=$(ratio "$A" "$B")
		row "spawnSync, heap $mib MiB: cp_spawn_sync vs node spawnSync (ignored)" \
			"$A" "$B" µs "${r}x time" "(information)"
	done
	r=$(ratio "$lib_heap_1024" "$lib_heap_0")
	row "library spawn+wait, heap 1 GiB vs heap 0" "$lib_heap_1024" \
		"$lib_heap_0" µs "${r}x time" "no growth (≤ 1.1x): $(check le "$r" 1.1)"
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
		OUTA=() OUTB=()
		for ((i = 0; i < runs; i++)); do
			if ((i % 2 == 0)); then
				OUTA+=("$(capture "$kind")")
				OUTB+=("$(capture node)")
			else
				OUTB+=("$(capture node)")
				OUTA+=("$(capture "$kind")")
			fi
		done
		if [ "$kind" = cmd ]; then
			what="childproc-execfile --max-buffer=Infinity"
		else
			what="cp_exec_file (library)"
		fi
		med mb_per_s
		r=$(ratio "$A" "$B")
		row "capture $exec_size, $what vs node execFile" "$A" "$B" \
			MB/s "${r}x" "≥ 5x: $(check ge "$r" 5.0)"
		med peak_rss_kb
		r=$(ratio "$A" "$B")
		row "capture $exec_size, peak RSS, $what vs node" "$A" "$B" KiB \
			"${r}x" "≤ output + 8 MiB: $(check le "$A" "$lim")"
	done
	[ -x "$cmd/childproc-execfile" ] ||
		row "capture, childproc-execfile" "-" "-" - - "skipped: not built yet"
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
		OUTA=() OUTB=()
		for ((i = 0; i < runs; i++)); do
			if ((i % 2 == 0)); then
				OUTA+=("$(stream cmd $dest)")
				OUTB+=("$(stream sh $dest)")
			else
				OUTB+=("$(stream sh $dest)")
				OUTA+=("$(stream cmd $dest)")
			fi
		done
		med mb_per_s
		r=$(ratio "$A" "$B")
		if [ $dest = file ]; then
			what="childproc-execfile > file"
			rss_a=$(med peak_rss_kb >/dev/null; echo "$A")
		else
			what="childproc-execfile | cat > file"
		fi
		row "stream $exec_size, $what vs head | cat > file" "$A" "$B" \
			MB/s "${r}x" "≥ 0.9x: $(check ge "$r" 0.9)"
	done
	# The peak RSS of childproc-execfile itself (the file run above).
	row "stream $exec_size, peak RSS of childproc-execfile (cat: for scale)" \
		"$rss_a" "-" KiB - "< 4 MB: $(check le "$rss_a" 4096)"
	rm -f "$tmp/stream.out"
fi

# ---- 8: the master of issue 4 ------------------------------------------------
if want master; then
	# childproc-fork -n 4 --listen against Node's cluster (round-robin, and
	# NODE_CLUSTER_SCHED_POLICY=none), with tests/handles' worker.js and load
	# client: requests/s with a new connection each, and the master's memory.
	worker=$src/tests/handles/node/worker.js
	loadgen=$build/tests/handles/loadgen
	if childproc-fork --help 2>/dev/null | grep -q -- '--workers' &&
	    [ -f "$worker" ] && [ -x "$loadgen" ]; then
		echo "## 4 HTTP workers, $n_http requests, a new connection each" >&2
		master=
		stop_master() {
			if [ -n "$master" ] && kill -0 "$master" 2>/dev/null; then
				kill -TERM "$master"
				wait "$master" || true
			fi
			master=
		}
		trap 'stop_master; rm -rf "$tmp"' EXIT

		# pool KIND: one measure; KIND is c, rr or none.
		pool() {
			local i=0 addr o rss hwm
			: >"$tmp/status"
			case $1 in
			c)	childproc-fork -n 4 --listen 127.0.0.1:0 --status-fd 3 \
				    "$worker" listen </dev/null >/dev/null 2>"$tmp/err" \
				    3>"$tmp/status" & ;;
			rr)	node "$here/cluster.js" 4 </dev/null >"$tmp/status" \
				    2>"$tmp/err" & ;;
			none)	NODE_CLUSTER_SCHED_POLICY=none node "$here/cluster.js" 4 \
				    </dev/null >"$tmp/status" 2>"$tmp/err" & ;;
			esac
			master=$!
			# Ready: listening, and (childproc-fork) every worker started.
			until grep -q 'listening on ' "$tmp/status" && { [ "$1" != c ] ||
			    [ "$(grep -c 'worker [0-9]* pid [0-9]* started' \
			    "$tmp/status")" -ge 4 ]; }; do
				i=$((i + 1))
				if [ $i -gt 600 ] || ! kill -0 "$master" 2>/dev/null; then
					echo "run.sh: the $1 master did not start" >&2
					cat "$tmp/status" "$tmp/err" >&2
					exit 1
				fi
				sleep 0.05
			done
			addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$tmp/status" |
			    head -n 1)
			o=$("$loadgen" -c 16 -n "$n_http" "$addr")
			rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' \
			    "/proc/$master/status")
			hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' \
			    "/proc/$master/status")
			stop_master
			case $o in
			*'"ok":'"$n_http"','*) ;;
			*)	echo "run.sh: $1: not every request was answered: $o" >&2
				exit 1 ;;
			esac
			echo "rps=$(printf '%s' "$o" | sed -n 's/.*"rps":\([0-9.]*\).*/\1/p')" \
			    "rss_kb=$rss hwm_kb=$hwm"
		}
		oc=() orr=() onone=()
		for ((i = 0; i < runs; i++)); do
			oc+=("$(pool c)")
			orr+=("$(pool rr)")
			onone+=("$(pool none)")
		done
		OUTA=("${oc[@]}") OUTB=("${orr[@]}")
		med rps
		r=$(ratio "$A" "$B")
		row "HTTP req/s, childproc-fork --listen vs cluster (round-robin)" \
			"$A" "$B" req/s "${r}x" "≥ 1.1x: $(check ge "$r" 1.1)"
		OUTB=("${onone[@]}")
		med rps
		r=$(ratio "$A" "$B")
		row "HTTP req/s, childproc-fork --listen vs cluster (SCHED_NONE)" \
			"$A" "$B" req/s "${r}x" "on par (≥ 0.9x): $(check ge "$r" 0.9)"
		OUTB=("${orr[@]}")
		med hwm_kb
		r=$(ratio "$A" "$B")
		row "master peak RSS with 4 workers, vs cluster primary" "$A" "$B" \
			KiB "${r}x" "< 4 MB: $(check le "$A" 4096)"
	else
		echo "## master: skipped (childproc-fork -n, worker.js or loadgen missing)" >&2
		row "master with 4 workers" "-" "-" - - "skipped: not built yet"
	fi
fi

# ---- 9: handle passing rate ------------------------------------------------
if want handles; then
	echo "## $n_handles connected sockets passed, each ACKed" >&2
	pair "$b/bench-handles" -n "$n_handles" -- node "$here/handles.js" child :: \
		node "$here/handles.js" parent -n "$n_handles" -- \
		node "$here/handles.js" child
	med handles_per_s
	r=$(ratio "$A" "$B")
	row "handles/s, C parent -> node vs node -> node (net.Socket, ACKed)" \
		"$A" "$B" handles/s "${r}x" "(report beside node)"
fi

# ---- results.md --------------------------------------------------------------
{
	echo "# Benchmarks: childproc against Node"
	echo
	echo "Generated by \`tests/bench/run.sh$([ "$quick" = 1 ] && echo ' -q')\`" \
	    "on $(date -u '+%Y-%m-%d %H:%M UTC'), commit" \
	    "$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo "Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' \
	    /proc/cpuinfo | head -n 1)), $(uname -sr), node $(node --version)," \
	    "load average $load0 at the start," \
	    "$(cut -d ' ' -f 1-3 /proc/loadavg) at the end."
	busy=$(awk -v a="${load0%% *}" -v b="$(cut -d ' ' -f 1 /proc/loadavg)" \
	    -v n="$(nproc)" 'BEGIN { print (a > n / 2 || b > n / 2) ? 1 : 0 }')
	if [ "$busy" = 1 ]; then
		echo
		echo "**The machine was busy with other work during this run:" \
		    "wall-clock figures, and so the ratios, are less reliable" \
		    "than usual. The CPU rows are not affected.**"
	fi
	echo "Each figure is the median of $runs run(s); C and Node ran" \
	    "alternately in the same run. Ratios are C/Node (for times, C's" \
	    "time over Node's: lower is better)."
	echo
	echo "| Benchmark | C | Node | Unit | Ratio | Target |"
	echo "|---|---:|---:|---|---:|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Reproduce: \`tests/bench/run.sh\` (or \`ninja -C BUILD bench\`);" \
	    "see tests/bench/README.md for what each benchmark does."
} >"$out"
echo "run.sh: wrote $out" >&2
