/* core/error.c - version and error strings. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "../proto/error.h"

/* proto/ has no libuv: its codes must be libuv's, as they reach callers. */
_Static_assert(CP_PROTO_EINVAL == UV_EINVAL, "CP_PROTO_EINVAL");
_Static_assert(CP_PROTO_EMSGSIZE == UV_EMSGSIZE, "CP_PROTO_EMSGSIZE");
_Static_assert(CP_PROTO_ENOMEM == UV_ENOMEM, "CP_PROTO_ENOMEM");
_Static_assert(CP_PROTO_EPROTO == UV_EPROTO, "CP_PROTO_EPROTO");

unsigned int
cp_version(void)
{
	return CP_VERSION_HEX;
}

const char *
cp_version_string(void)
{
	return CP_VERSION_STRING;
}

/* libuv has names for most errno values, not all (ENOEXEC in 1.44). */
static bool
known(int err)
{
	char buf[64];

	uv_err_name_r(err, buf, sizeof(buf));
	return strncmp(buf, "Unknown", 7) != 0;
}

const char *
cp_strerror(int err)
{
	if (err < 0 && !known(err))
		return strerror(-err);	/* glibc's text is static */
	return uv_strerror(err);
}

const char *
cp_err_name(int err)
{
	static const struct { int e; const char *name; } extra[] = {
		{ ENOEXEC, "ENOEXEC" }, { ECHILD, "ECHILD" }, { ESRCH, "ESRCH" },
		{ EDEADLK, "EDEADLK" }, { ENOLCK, "ENOLCK" }, { EIDRM, "EIDRM" },
	};
	size_t i;

	if (err < 0 && !known(err)) {
		for (i = 0; i < ARRAY_SIZE(extra); i++)
			if (extra[i].e == -err)
				return extra[i].name;
		return "EUNKNOWN";
	}
	return uv_err_name(err);
}
