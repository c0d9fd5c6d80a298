/*
 * tests/lib-exec/test-exec.c - the exec, execFile and sync functions of
 * libchildproc, checked against what Node v20 gives for the same calls
 * (the expected values were taken from node, see each test).
 *
 * Usage: test-exec NAME runs one test; test-exec --list lists them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

static char *sh_args[8];

/* args for "sh -c SCRIPT" */
static char *const *
sh_c(const char *script)
{
	sh_args[0] = (char *)"-c";
	sh_args[1] = (char *)script;
	sh_args[2] = NULL;
	return sh_args;
}

/* JSON.stringify of what an async call gives, with the loop run to its end. */
struct async_run {
	char *json;
	struct cp_result copy;	/* the scalar fields */
	bool called;
};

static void
async_cb(struct cp_exec *x, struct cp_result *r, void *data)
{
	struct async_run *a = data;
	json_t *v = cp_exec_result_json(r);

	ASSERT(!a->called);
	a->called = true;
	ASSERT(v != NULL);
	a->json = cp_json_stringify(v, NULL);
	json_decref(v);
	a->copy = *r;
	a->copy.output = NULL;	/* r->output belongs to x */
	a->copy.file = a->copy.cmd = NULL;
	a->copy.spawnargs = NULL;
	cp_exec_close(x, exec_free_cb);
}

static char *
run_async(bool shell, const struct cp_exec_options *o, struct async_run *a)
{
	uv_loop_t loop;
	struct cp_exec *x;

	memset(a, 0, sizeof(*a));
	ASSERT(uv_loop_init(&loop) == 0);
	if (shell)
		ASSERT(cp_exec(&loop, o, async_cb, a, &x) == 0);
	else
		ASSERT(cp_exec_file(&loop, o, async_cb, a, &x) == 0);
	ASSERT(uv_run(&loop, UV_RUN_DEFAULT) == 0);
	ASSERT(uv_loop_close(&loop) == 0);
	ASSERT(a->called);
	return a->json;
}

static char *
sync_json(const struct cp_exec_options *o, struct cp_result *r)
{
	json_t *v;
	char *s;

	ASSERT(cp_spawn_sync(o, r) == 0);
	v = cp_spawn_sync_result_json(r);
	ASSERT(v != NULL);
	s = cp_json_stringify(v, NULL);
	json_decref(v);
	return s;
}

/* exec('echo hi; echo err >&2; exit 3') */
static void
test_exec_exit_code(void)
{
	struct cp_exec_options o;
	struct async_run a;

	cp_exec_options_init(&o);
	o.spawn.file = "echo hi; echo err >&2; exit 3";
	ASSERT_STR_EQ(run_async(true, &o, &a),
	    "{\"error\":{\"message\":\"Command failed: echo hi; echo err >&2; "
	    "exit 3\\nerr\\n\",\"code\":3,\"killed\":false,\"signal\":null,"
	    "\"cmd\":\"echo hi; echo err >&2; exit 3\"},\"stdout\":\"hi\\n\","
	    "\"stderr\":\"err\\n\"}");
	ASSERT(a.copy.error == CP_EXEC_FAILED && a.copy.status == 3);
	free(a.json);
}

/* execFile('nonexistent-x', ['a', 'b']): through the callback, not thrown. */
static void
test_execfile_enoent(void)
{
	struct cp_exec_options o;
	struct async_run a;
	char *args[] = { (char *)"a", (char *)"b", NULL };

	cp_exec_options_init(&o);
	o.spawn.file = "nonexistent-x";
	o.spawn.args = args;
	ASSERT_STR_EQ(run_async(false, &o, &a),
	    "{\"error\":{\"message\":\"spawn nonexistent-x ENOENT\",\"errno\":-2,"
	    "\"code\":\"ENOENT\",\"syscall\":\"spawn nonexistent-x\",\"path\":"
	    "\"nonexistent-x\",\"spawnargs\":[\"a\",\"b\"],\"cmd\":"
	    "\"nonexistent-x a b\"},\"stdout\":\"\",\"stderr\":\"\"}");
	ASSERT(a.copy.pid == 0 && a.copy.error == UV_ENOENT);
	free(a.json);
}

/* exec('ls', {cwd: '/etc/passwd'}) throws "spawn ENOTDIR": no callback. */
static void
test_exec_thrown(void)
{
	struct cp_exec_options o;
	struct cp_exec *x = NULL;
	uv_loop_t loop;
	json_t *v;
	char *s;

	cp_exec_options_init(&o);
	o.spawn.file = "ls";
	o.spawn.cwd = "/etc/passwd";
	ASSERT(uv_loop_init(&loop) == 0);
	ASSERT(cp_exec(&loop, &o, async_cb, NULL, &x) == UV_ENOTDIR);
	ASSERT(x == NULL);
	ASSERT(uv_run(&loop, UV_RUN_DEFAULT) == 0);
	ASSERT(uv_loop_close(&loop) == 0);
	v = cp_exec_thrown_json(UV_ENOTDIR, CP_ENC_DEFAULT);
	s = cp_json_stringify(v, NULL);
	ASSERT_STR_EQ(s, "{\"error\":{\"message\":\"spawn ENOTDIR\",\"errno\":-20,"
	    "\"code\":\"ENOTDIR\",\"syscall\":\"spawn\"},\"stdout\":\"\","
	    "\"stderr\":\"\"}");
	free(s);
	json_decref(v);
	/* An empty file is refused up front, as Node's ERR_INVALID_ARG_VALUE. */
	o.spawn.file = "";
	ASSERT(uv_loop_init(&loop) == 0);
	ASSERT(cp_exec_file(&loop, &o, async_cb, NULL, &x) == UV_EINVAL);
	ASSERT(uv_loop_close(&loop) == 0);
}

/* exec maxBuffer: string mode cuts UTF-16 units, buffer mode bytes. */
static void
test_exec_maxbuf(void)
{
	struct cp_exec_options o;
	struct async_run a;

	cp_exec_options_init(&o);
	/* 13 bytes, 5 characters: kept whole under maxBuffer 10. */
	o.spawn.file = "printf '\\344\\270\\255\\346\\226\\207\\346\\265\\213"
	    "\\350\\257\\225\\n'";
	o.max_buffer = 10;
	ASSERT(strstr(run_async(true, &o, &a), "\"stdout\":\"\xe4\xb8\xad\xe6"
	    "\x96\x87\xe6\xb5\x8b\xe8\xaf\x95\\n\"") != NULL);
	ASSERT(a.copy.error == CP_EXEC_MAXBUFFER && a.copy.max_buffer_fd == 1);
	free(a.json);
	/* Half of a surrogate pair: Node keeps "\ud83d". */
	o.spawn.file = "printf '\\360\\237\\230\\200x'";
	o.max_buffer = 1;
	ASSERT(strstr(run_async(true, &o, &a), "\"stdout\":\"\\ud83d\"") != NULL);
	free(a.json);
	/* Buffer mode: bytes; 0 fails on the first byte. */
	o.spawn.file = "printf abcdefghijkl; exec sleep 5";
	o.encoding = CP_ENC_BUFFER;
	o.max_buffer = 5;
	ASSERT(strstr(run_async(true, &o, &a),
	    "\"stdout\":{\"type\":\"Buffer\",\"data\":[97,98,99,100,101]}") != NULL);
	ASSERT(strstr(a.json, "stdout maxBuffer length exceeded") != NULL);
	free(a.json);
	/* hex: Buffer.byteLength counts bytes, slice keeps characters. */
	o.spawn.file = "printf abcdef";
	o.encoding = CP_ENC_HEX;
	o.max_buffer = 3;
	ASSERT(strstr(run_async(true, &o, &a), "\"stdout\":\"616\"") != NULL);
	free(a.json);
	/* Exactly the limit passes, one more fails. */
	o.encoding = CP_ENC_DEFAULT;
	o.max_buffer = 6;
	ASSERT(strstr(run_async(true, &o, &a), "\"error\":null") != NULL);
	free(a.json);
	o.max_buffer = 5;
	ASSERT(strstr(run_async(true, &o, &a), "\"error\":null") == NULL);
	free(a.json);
}

/* exec timeout: stdout closed first, so a child ignoring TERM gets SIGPIPE. */
static void
test_exec_timeout(void)
{
	struct cp_exec_options o;
	struct async_run a;

	cp_exec_options_init(&o);
	o.spawn.file = "sleep 5";
	o.spawn.timeout_ms = 100;
	ASSERT_STR_EQ(run_async(true, &o, &a),
	    "{\"error\":{\"message\":\"Command failed: sleep 5\\n\",\"code\":null,"
	    "\"killed\":true,\"signal\":\"SIGTERM\",\"cmd\":\"sleep 5\"},"
	    "\"stdout\":\"\",\"stderr\":\"\"}");
	ASSERT(a.copy.timed_out);
	free(a.json);
	/* A second for the shell to set its traps, even under load. */
	o.spawn.timeout_ms = 1000;
	o.spawn.file = "trap '' TERM; sleep 2; echo done";
	ASSERT(strstr(run_async(true, &o, &a),
	    "\"killed\":true,\"signal\":\"SIGPIPE\"") != NULL);
	free(a.json);
	/* Trapped, exit 0: no error at all. */
	o.spawn.file = "trap 'exit 0' TERM; sleep 3 & wait";
	ASSERT_STR_EQ(run_async(true, &o, &a),
	    "{\"error\":null,\"stdout\":\"\",\"stderr\":\"\"}");
	free(a.json);
}

/* The callback waits for a grandchild holding stdout, as Node's 'close'. */
static void
test_exec_grandchild(void)
{
	struct cp_exec_options o;
	struct async_run a;
	uint64_t t0;

	cp_exec_options_init(&o);
	o.spawn.file = "sleep 1 & echo hi";
	t0 = uv_hrtime();
	ASSERT_STR_EQ(run_async(true, &o, &a),
	    "{\"error\":null,\"stdout\":\"hi\\n\",\"stderr\":\"\"}");
	ASSERT(uv_hrtime() - t0 >= 900 * 1000000ULL);
	free(a.json);
}

/* exec's stdin is a pipe never closed: cat waits for the timeout. */
static void
test_exec_stdin(void)
{
	struct cp_exec_options o;
	struct async_run a;

	cp_exec_options_init(&o);
	o.spawn.file = "cat";
	o.spawn.timeout_ms = 300;
	ASSERT(strstr(run_async(false, &o, &a), "\"killed\":true") != NULL);
	free(a.json);
	/* Beyond Node: input is written, then stdin is closed. */
	o.input = "typed";
	o.input_len = 5;
	ASSERT_STR_EQ(run_async(false, &o, &a),
	    "{\"error\":null,\"stdout\":\"typed\",\"stderr\":\"\"}");
	free(a.json);
}

/* spawnSync's shapes, as node v20 gives them. */
static void
test_sync_results(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	char *args[] = { (char *)"q", NULL }, *s;

	cp_exec_options_init(&o);
	o.spawn.file = "nonexistent-xyz";
	o.spawn.args = args;
	s = sync_json(&o, &r);
	ASSERT_STR_EQ(s, "{\"error\":{\"errno\":-2,\"code\":\"ENOENT\",\"syscall\":"
	    "\"spawnSync nonexistent-xyz\",\"path\":\"nonexistent-xyz\","
	    "\"spawnargs\":[\"q\"]},\"status\":null,\"signal\":null,\"output\":"
	    "null,\"pid\":0,\"stdout\":null,\"stderr\":null}");
	free(s);
	ASSERT_EQ(cp_result_message(&r, &s), 0);
	ASSERT_STR_EQ(s, "spawnSync nonexistent-xyz ENOENT");
	free(s);
	cp_result_release(&r);

	o.spawn.file = "sh";
	o.spawn.args = sh_c("echo out; echo err >&2; exit 3");
	s = sync_json(&o, &r);
	ASSERT(strstr(s, "\"status\":3,\"signal\":null,\"output\":[null,"
	    "{\"type\":\"Buffer\",\"data\":[111,117,116,10]},") != NULL);
	ASSERT(r.pid > 0 && r.error == 0);
	free(s);
	cp_result_release(&r);

	/* timeout: ETIMEDOUT and the real death signal. */
	o.spawn.file = "sleep";
	args[0] = (char *)"5";
	o.spawn.args = args;
	o.spawn.timeout_ms = 100;
	o.spawn.kill_signal = SIGINT;
	o.encoding = CP_ENC_UTF8;
	s = sync_json(&o, &r);
	ASSERT(strstr(s, "{\"error\":{\"errno\":-110,\"code\":\"ETIMEDOUT\","
	    "\"syscall\":\"spawnSync sleep\",\"path\":\"sleep\",\"spawnargs\":"
	    "[\"5\"]},\"status\":null,\"signal\":\"SIGINT\",\"output\":[null,"
	    "\"\",\"\"],") == s);
	free(s);
	cp_result_release(&r);
}

/* spawnSync maxBuffer: total of all pipes, nothing cut, 0 is no limit. */
static void
test_sync_maxbuf(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	char *s;

	cp_exec_options_init(&o);
	o.spawn.file = "sh";
	o.spawn.args = sh_c("printf abc; printf def >&2; exec sleep 5");
	o.encoding = CP_ENC_UTF8;
	o.max_buffer = 5;
	s = sync_json(&o, &r);
	ASSERT(strstr(s, "\"code\":\"ENOBUFS\"") != NULL);
	ASSERT(strstr(s, "\"signal\":\"SIGTERM\"") != NULL);
	ASSERT(r.output[1].len + r.output[2].len == 6);
	free(s);
	cp_result_release(&r);
	/* No limit is CP_MAX_BUFFER_INFINITY (Node's spawnSync maxBuffer 0). */
	o.spawn.args = sh_c("printf abcdefghij");
	o.max_buffer = CP_MAX_BUFFER_INFINITY;
	s = sync_json(&o, &r);
	ASSERT(strstr(s, "\"error\"") == NULL && r.output[1].len == 10);
	free(s);
	cp_result_release(&r);
	/* 0 is one thing in every form: nothing may be kept. */
	o.spawn.args = sh_c("printf a; exec sleep 5");
	o.max_buffer = 0;
	s = sync_json(&o, &r);
	ASSERT(strstr(s, "\"code\":\"ENOBUFS\"") != NULL);
	free(s);
	cp_result_release(&r);
}

/* spawnSync input: written then EOF; a child not reading it gives EPIPE. */
static void
test_sync_input(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	size_t big = 1 << 20;
	char *s, *buf;

	cp_exec_options_init(&o);
	o.spawn.file = "cat";
	o.input = "hello";
	o.input_len = 5;
	o.encoding = CP_ENC_UTF8;
	s = sync_json(&o, &r);
	ASSERT(strstr(s, "\"stdout\":\"hello\"") != NULL);
	free(s);
	cp_result_release(&r);
	/* No input: EOF at once (execSync('cat') returns ''). */
	o.input = NULL;
	o.input_len = 0;
	s = sync_json(&o, &r);
	ASSERT(strstr(s, "\"status\":0,") != NULL);
	free(s);
	cp_result_release(&r);
	buf = malloc(big);
	ASSERT(buf != NULL);
	memset(buf, 'x', big);
	o.spawn.file = "true";
	o.input = buf;
	o.input_len = big;
	s = sync_json(&o, &r);
	ASSERT(strstr(s, "{\"error\":{\"errno\":-32,\"code\":\"EPIPE\"") == s);
	ASSERT(r.status == 0);
	free(s);
	cp_result_release(&r);
	free(buf);
}

/* execSync / execFileSync: "Command failed" without "\n" when no stderr. */
static void
test_exec_sync(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	char *s;

	cp_exec_options_init(&o);
	o.spawn.file = "sh";
	o.spawn.args = sh_c("exit 7");
	ASSERT(cp_exec_file_sync(&o, &r) == CP_EXEC_FAILED);
	ASSERT_EQ(cp_result_message(&r, &s), 0);
	ASSERT_STR_EQ(s, "Command failed: sh -c exit 7");
	free(s);
	cp_result_release(&r);
	o.spawn.argv0 = "AAA";
	ASSERT(cp_exec_file_sync(&o, &r) == CP_EXEC_FAILED);
	ASSERT_EQ(cp_result_message(&r, &s), 0);
	ASSERT_STR_EQ(s, "Command failed: AAA -c exit 7");
	free(s);
	cp_result_release(&r);
	cp_exec_options_init(&o);
	o.spawn.file = "echo out; echo err >&2; exit 5";
	ASSERT(cp_exec_sync(&o, &r) == CP_EXEC_FAILED);
	ASSERT_EQ(cp_result_message(&r, &s), 0);
	ASSERT_STR_EQ(s, "Command failed: echo out; echo err >&2; exit 5\nerr\n");
	free(s);
	ASSERT(r.status == 5 && r.output[1].len == 4);
	cp_result_release(&r);
	o.spawn.file = "echo hi";
	ASSERT(cp_exec_sync(&o, &r) == 0);
	ASSERT(r.output[1].len == 3 && memcmp(r.output[1].data, "hi\n", 3) == 0);
	cp_result_release(&r);
}

/* Node's StringDecoder and Buffer.from, case by case (node -e ...). */
static void
test_encodings(void)
{
	enum cp_encoding e;
	char *s;
	size_t n;

	ASSERT(cp_encoding_parse("UTF-8", &e) == 0 && e == CP_ENC_UTF8);
	ASSERT(cp_encoding_parse("Ucs2", &e) == 0 && e == CP_ENC_UTF16LE);
	ASSERT(cp_encoding_parse("binary", &e) == 0 && e == CP_ENC_LATIN1);
	ASSERT(cp_encoding_parse("buffer", &e) == 0 && e == CP_ENC_BUFFER);
	ASSERT(cp_encoding_parse("bogus", &e) == UV_EINVAL);
	ASSERT(cp_encoding_to_string(CP_ENC_UTF8, "\xe9" "A\xf0\x9f", 4, &s, &n) == 0);
	ASSERT_STR_EQ(s, "\xef\xbf\xbd" "A\xef\xbf\xbd");
	free(s);
	ASSERT(cp_encoding_to_string(CP_ENC_ASCII, "\xe9" "A\xff", 3, &s, &n) == 0);
	ASSERT_STR_EQ(s, "iA\x7f");
	free(s);
	ASSERT(cp_encoding_to_string(CP_ENC_BASE64, "abcdefg", 7, &s, &n) == 0);
	ASSERT_STR_EQ(s, "YWJjZGVmZw==");
	free(s);
	ASSERT(cp_encoding_to_string(CP_ENC_BASE64URL, "\xfb\xff\xfe", 3, &s, &n) == 0);
	ASSERT_STR_EQ(s, "-__-");
	free(s);
	ASSERT(cp_encoding_from_string(CP_ENC_HEX, "abz", 3, &s, &n) == 0);
	ASSERT(n == 1 && (unsigned char)s[0] == 0xab);
	free(s);
	ASSERT(cp_encoding_from_string(CP_ENC_BASE64, "YW Jj-_", 7, &s, &n) == 0);
	ASSERT(n == 4 && memcmp(s, "abc\xfb", 4) == 0);
	free(s);
	ASSERT(cp_encoding_from_string(CP_ENC_LATIN1, "\xc3\xa9\xe2\x82\xac", 5,
	    &s, &n) == 0);
	ASSERT(n == 2 && memcmp(s, "\xe9\xac", 2) == 0);
	free(s);
	ASSERT(cp_encoding_from_string(CP_ENC_BUFFER, "x", 1, &s, &n) == UV_EINVAL);
	ASSERT_STR_EQ(cp_signal_name(SIGABRT), "SIGABRT");
	ASSERT_STR_EQ(cp_signal_name(SIGIO), "SIGIO");
	ASSERT_STR_EQ(cp_signal_name(SIGRTMIN), "");
}

/* utf16le chunks: Node splits a pair after an odd chunk, not after an even one. */
static void
test_utf16_chunks(void)
{
	struct cp_exec_options o;
	struct async_run a;

	cp_exec_options_init(&o);
	o.encoding = CP_ENC_UTF16LE;
	/* One chunk: "\ud83d\ude00x" read as the pair and "x" (0x78 0x00). */
	o.spawn.file = "printf '\\075\\330\\000\\336x\\000'";
	ASSERT(strstr(run_async(true, &o, &a), "\"stdout\":\"\xf0\x9f\x98\x80x\"")
	    != NULL);
	free(a.json);
	/* An odd last byte is dropped at the end. */
	o.spawn.file = "printf 'A\\000B'";
	ASSERT(strstr(run_async(true, &o, &a), "\"stdout\":\"A\"") != NULL);
	free(a.json);
}

/* A large capture is exact (no quadratic copying to notice here, but no loss). */
static void
test_large(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	char *args[] = { (char *)"-c", (char *)"16777216", (char *)"/dev/zero", NULL };
	size_t i;

	cp_exec_options_init(&o);
	o.spawn.file = "head";
	o.spawn.args = args;
	o.max_buffer = CP_MAX_BUFFER_INFINITY;
	ASSERT(cp_exec_file_sync(&o, &r) == 0);
	ASSERT(r.output[1].len == 16777216);
	for (i = 0; i < r.output[1].len; i++)
		ASSERT(r.output[1].data[i] == 0);
	cp_result_release(&r);
}

/*
 * A sync form that fails before it starts (file "": UV_EINVAL) leaves the
 * result empty, so an unconditional cp_result_release is safe (issue 7,
 * defect 9: it used to leave the caller's garbage, and the release freed
 * it).
 */
static void
test_sync_bad_options_result(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	char *s = (char *)&s;

	cp_exec_options_init(&o);
	o.spawn.file = "";
	memset(&r, 0xA5, sizeof(r));
	ASSERT_EQ(cp_exec_file_sync(&o, &r), UV_EINVAL);
	ASSERT(r.output == NULL && r.file == NULL && r.cmd == NULL);
	cp_result_release(&r);
	memset(&r, 0xA5, sizeof(r));
	ASSERT_EQ(cp_spawn_sync(&o, &r), UV_EINVAL);
	cp_result_release(&r);
	memset(&r, 0xA5, sizeof(r));
	ASSERT_EQ(cp_exec_sync(&o, &r), UV_EINVAL);
	cp_result_release(&r);
	/* No error is 0 and NULL, not the NULL of out of memory. */
	memset(&r, 0, sizeof(r));
	ASSERT_EQ(cp_result_message(&r, &s), 0);
	ASSERT(s == NULL);
}

/*
 * cp_exit_status as env(1) and timeout(1): a child that could not be
 * started is 127 when not found, 126 when it cannot be run (0.1 gave 255).
 */
static void
test_exit_status(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	char path[] = "/tmp/cp-noexec-XXXXXX";
	int fd;

	ASSERT_EQ(cp_exit_status(0, 0, 0, false), 0);
	ASSERT_EQ(cp_exit_status(0, 3, 0, false), 3);
	ASSERT_EQ(cp_exit_status(0, 256, 0, false), 255);
	ASSERT_EQ(cp_exit_status(0, -1, SIGKILL, false), 128 + SIGKILL);
	ASSERT_EQ(cp_exit_status(0, -1, SIGTERM, true), 124);
	ASSERT_EQ(cp_exit_status(UV_ENOENT, -1, 0, false), 127);
	ASSERT_EQ(cp_exit_status(UV_EACCES, -1, 0, false), 126);
	ASSERT_EQ(cp_exit_status(UV_ENOTDIR, -1, 0, false), 126);

	cp_exec_options_init(&o);
	o.spawn.file = "nonexistent-cp-xyz";
	ASSERT_EQ(cp_spawn_sync(&o, &r), 0);
	ASSERT_EQ(r.error, UV_ENOENT);
	ASSERT_EQ(cp_exit_status(r.pid == 0 ? r.error : 0, r.status, r.signal,
	    r.timed_out), 127);
	cp_result_release(&r);
	/* A file without execute permission: EACCES even for root. */
	ASSERT((fd = mkstemp(path)) >= 0);
	ASSERT(write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	o.spawn.file = path;
	ASSERT_EQ(cp_spawn_sync(&o, &r), 0);
	unlink(path);
	ASSERT_EQ(r.error, UV_EACCES);
	ASSERT_EQ(cp_exit_status(r.pid == 0 ? r.error : 0, r.status, r.signal,
	    r.timed_out), 126);
	cp_result_release(&r);
}

static const struct test_case tests[] = {
	CASE("exec-exit-code", test_exec_exit_code)
	CASE("execfile-enoent", test_execfile_enoent)
	CASE("exec-thrown", test_exec_thrown)
	CASE("exec-maxbuf", test_exec_maxbuf)
	CASE("exec-timeout", test_exec_timeout)
	CASE("exec-grandchild", test_exec_grandchild)
	CASE("exec-stdin", test_exec_stdin)
	CASE("sync-results", test_sync_results)
	CASE("sync-maxbuf", test_sync_maxbuf)
	CASE("sync-input", test_sync_input)
	CASE("exec-sync", test_exec_sync)
	CASE("encodings", test_encodings)
	CASE("utf16-chunks", test_utf16_chunks)
	CASE("large", test_large)
	CASE("sync-bad-options-result", test_sync_bad_options_result)
	CASE("exit-status", test_exit_status)
};

int
main(int argc, char *argv[])
{
	return RUN_CASE(tests, argc < 2 ? NULL : argv[1]) != NULL ? 0 : 1;
}
