#!/bin/sh
# tests/v8/fork-advanced.sh ECHO_JS - childproc-fork --serialization
# advanced from a shell: values in the JSON form go in on stdin, node
# (echo.js) sees real BigInt, Map, Set, Buffer, Date ... and sends each
# back with the type it saw; what comes out is the same text.  A line
# that is not a valid form is reported and not sent.
set -u
echo_js=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cp-fork-adv.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

cat >"$tmp/in" <<'IN'
{"b":{"$bigint":"-12345678901234567890"}}
{"$map":[[1,{"$set":[2,"x"]}],[{"$bigint":"3"},null]]}
{"$buffer":"aGk="}
{"self":{"$ref":0},"u":{"$undefined":null}}
[1,{"$hole":null},{"$number":"NaN"}]
{"$nope":1}
{"$date":1700000000123}
{"$uint16array":"AQACAA=="}
IN
cat >"$tmp/want" <<'OUT'
{"b":{"$bigint":"-12345678901234567890"}}
"[object Object]"
{"$map":[[1,{"$set":[2,"x"]}],[{"$bigint":"3"},null]]}
"[object Map]"
{"$buffer":"aGk="}
"Buffer"
{"self":{"$ref":0},"u":{"$undefined":null}}
"[object Object]"
[1,{"$hole":null},{"$number":"NaN"}]
"[object Array]"
{"$date":1700000000123}
"[object Date]"
{"$uint16array":"AQACAA=="}
"[object Uint16Array]"
OUT
timeout 60 childproc-fork --serialization advanced --end idle:1s "$echo_js" \
    <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
status=$?
if ! cmp -s "$tmp/want" "$tmp/out"; then
	echo "FAIL: stdout differs:"
	diff "$tmp/want" "$tmp/out"
	fail=1
fi
if ! grep -q '^childproc-fork: line 6: not sent: unknown tag "\$nope"' "$tmp/err"; then
	echo "FAIL: no error for line 6; stderr:"
	cat "$tmp/err"
	fail=1
fi
echo "exit status $status"
[ $fail -eq 0 ] && echo "ok"
exit $fail
