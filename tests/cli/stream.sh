#!/bin/sh
# exec and execfile without --json write the output as it arrives: the same
# bytes as the collected output (--json says what that is), in every
# encoding and at every chunk boundary, cut at --max-buffer the same way,
# with the same exit status.  And the child's stdin: --stdin, --input-file -.
. "$(dirname "$0")/lib.sh"

cd "$tmp"

# feed.py HEX...: writes each hex string as one chunk, and the next only
# once the reader has taken the last one out of the pipe (socket), so each
# chunk is one read whatever the machine's load: the cut at --max-buffer
# depends on where the reads split, in Node as here.
cat > feed.py <<'EOF'
import fcntl, os, stat, struct, sys, termios, time
st = os.fstat(1)
req = termios.FIONREAD if stat.S_ISFIFO(st.st_mode) else termios.TIOCOUTQ
def pending():
    return struct.unpack('i', fcntl.ioctl(1, req, b'\0' * 4))[0]
for h in sys.argv[1:]:
    os.write(1, bytes.fromhex(h))
    deadline = time.monotonic() + 60
    while pending() > 0:
        if time.monotonic() > deadline:
            sys.exit('feed.py: the reader took nothing for 60 s')
        time.sleep(0.002)
    time.sleep(0.01)
EOF
# same.js STREAMED JSON: is STREAMED the bytes of the JSON's stdout?  A
# string is compared as WTF-8 (a lone surrogate is written as its three
# bytes, as the commands write it).
cat > same.js <<'EOF'
const fs = require('fs');
const got = fs.readFileSync(process.argv[2]);
const r = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
function wtf8(s) {
	const b = [];
	for (let i = 0; i < s.length; i++) {
		let c = s.charCodeAt(i);
		const d = s.charCodeAt(i + 1);
		if (c >= 0xd800 && c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
			c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
			i++;
		}
		if (c < 0x80)
			b.push(c);
		else if (c < 0x800)
			b.push(0xc0 | c >> 6, 0x80 | c & 63);
		else if (c < 0x10000)
			b.push(0xe0 | c >> 12, 0x80 | c >> 6 & 63, 0x80 | c & 63);
		else
			b.push(0xf0 | c >> 18, 0x80 | c >> 12 & 63, 0x80 | c >> 6 & 63,
			    0x80 | c & 63);
	}
	return Buffer.from(b);
}
const want = typeof r.stdout === 'string' ? wtf8(r.stdout) :
    Buffer.from(r.stdout.data);
if (!got.equals(want)) {
	console.log(`streamed ${got.toString('hex')}\nwanted   ${want.toString('hex')}`);
	process.exit(1);
}
EOF

# same NAME EXPECTED-STATUS OPTIONS -- HEX...: the feeder's chunks through
# execfile with and without --json (and $json_opts); both exit
# EXPECTED-STATUS and the streamed bytes are the JSON's stdout.
json_opts=
same() {
	case_name=$1 case_status=$2
	shift 2
	opts=""
	while [ "$1" != "--" ]; do
		opts="$opts $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	t "$case_name: streamed" "$case_status" '*' '*' -- \
	    childproc-execfile $opts python3 feed.py "$@"
	cp "$out" streamed
	# shellcheck disable=SC2086
	t "$case_name: --json" "$case_status" '*' '' -- \
	    childproc-execfile --json $json_opts $opts python3 feed.py "$@"
	if diff=$(node same.js streamed "$out"); then
		ok "$case_name: same bytes"
	else
		not_ok "$case_name: same bytes" "$diff"
	fi
}

e_acute=c3a9 euro=e282ac smile=f09f9880
same "utf8 split inside characters" 0 --encoding=utf8 -- \
    61c3 a9e2 82 ac f09f 98 8062
same "utf8 invalid bytes at a boundary" 0 --encoding=utf8 -- \
    61f0 9f 41 ff c3 "$e_acute"
same "utf16le split inside a unit and a pair" 0 --encoding=utf16le -- \
    41 00ac 20 3dd8 00de 4200
same "latin1" 0 --encoding=latin1 -- e9 ff00 41
same "hex" 0 --encoding=hex -- 00 ff10 ab
same "base64 groups split" 0 --encoding=base64 -- 01 0203 04 050607 08
same "base64url" 0 --encoding=base64url -- fb ff fe 01
same "buffer" 0 --encoding=buffer -- 00ff 0a
json_opts=--encoding=buffer
same "default (bytes)" 0 -- ff00fe 0a
same "max-buffer cut in bytes" 125 --max-buffer=3 -- 6162 ff64 6566
json_opts=
same "max-buffer cut in UTF-16 units" 125 --encoding=utf8 --max-buffer=3 -- \
    "$e_acute$e_acute" "$smile" 41
same "max-buffer cut through a pair" 125 --encoding=utf8 --max-buffer=2 -- \
    41 "$smile" 42
same "max-buffer cut in base64" 125 --encoding=base64 --max-buffer=5 -- \
    010203 040506 070809
same "max-buffer with hex" 125 --encoding=hex --max-buffer=3 -- 0102 0304
same "max-buffer 0" 125 --max-buffer=0 -- 41
same "euro in three reads" 0 --encoding=utf8 -- e2 82 "ac$euro"

# Written as it arrives: the first line is out while the child still runs.
rm -f go
childproc-execfile sh -c 'echo first; while [ ! -e go ]; do sleep 0.05; done; echo second' \
    > live.out 2> live.err &
pid=$!
cleanup_pids="$cleanup_pids $pid"
if wait_for grep -q first live.out; then
	ok "output is written before the child exits"
else
	not_ok "output is written before the child exits" "$(cat live.out)"
fi
touch go
wait "$pid" && st=0 || st=$?
if [ "$st" -eq 0 ] && [ "$(cat live.out)" = "first
second" ] && [ ! -s live.err ]; then
	ok "then the rest, and status 0"
else
	not_ok "then the rest, and status 0" "status $st" "$(cat live.out live.err)"
fi

# stderr streams too, and each stream keeps its bytes.
t "stdout and stderr each whole" 3 'out1\nout2\n' 'err1\nerr2\n' -- \
    childproc-exec 'echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 3'
t "a failed command's status" 7 '' '' -- childproc-execfile sh -c 'exit 7'
t "a signal's status" 143 '' '' -- childproc-execfile sh -c 'kill -TERM $$'
t "max-buffer message once, status 125" 125 'abc' \
    "childproc-execfile: printf: output over --max-buffer, child killed (stdout maxBuffer length exceeded)\n" \
    -- childproc-execfile --max-buffer=3 printf abcdef
t "a big output, all of it" 0 '*' '' -- \
    childproc-execfile --max-buffer=Infinity head -c 3000000 /dev/zero
[ "$(wc -c < "$out")" -eq 3000000 ] && ok "3000000 bytes" ||
    not_ok "3000000 bytes" "$(wc -c < "$out")"

# The child's stdin.
printf 'b\na\n' > ba
stdin=ba
t "--stdin=inherit: sort reads ours and ends" 0 'a\nb\n' '' -- \
    timeout 60 childproc-exec --stdin=inherit -t 30s sort
t "execfile --stdin inherit" 0 'a\nb\n' '' -- \
    timeout 60 childproc-execfile --stdin inherit sort
t "--stdin=null: /dev/null" 0 '0\n' '' -- \
    timeout 60 childproc-execfile --stdin=null wc -c
t "--stdin=pipe is Node's: never closed" 124 '' '' -- \
    timeout 60 childproc-execfile --stdin=pipe -t 300ms cat
t "--input-file -: our stdin, then closed" 0 'a\nb\n' '' -- \
    timeout 60 childproc-execfile --input-file=- sort
t "spawn --input-file -" 0 'a\nb\n' '' -- \
    timeout 60 childproc-spawn --input-file=- sort
t "--input-file - with --json" 0 '{"error":null,"stdout":"a\\nb\\n","stderr":""}\n' '' -- \
    timeout 60 childproc-exec --json --input-file=- sort
stdin=/dev/null
t "--stdin bogus" 125 '' \
    "childproc-exec: invalid --stdin 'file': expected pipe (Node's, never closed), inherit (ours) or null (/dev/null)\n" \
    -- childproc-exec --stdin=file true
t "--stdin with --input" 125 '' \
    "childproc-execfile: --stdin and --input both give the child's standard input; use one of them\n" \
    -- childproc-execfile --stdin=inherit --input=x cat
t "--stdin with --input-file" 125 '' \
    "childproc-exec: --stdin and --input-file both give the child's standard input; use one of them\n" \
    -- childproc-exec --input-file=ba --stdin=null cat

done_testing
