/*
 * core/serial.c - the channel's two serializations: Node's "json" (one
 * JSON text per line, proto/message.c) and "advanced" (a 4-byte length
 * and V8's serialization per message, proto/v8.c).  channel.c calls these
 * where it frames, encodes and decodes, so the rest of the channel
 * (queueing, handles and their fds, internal messages) is the same in
 * both modes.  In advanced mode messages are jansson values in the JSON
 * form of proto/v8.h; a received message's text is that form.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "internal.h"
#include "../proto/v8.h"

int
cp_channel_set_serialization(struct cp_channel *ch, const char *mode)
{
	bool adv;

	if (mode == NULL || strcmp(mode, "json") == 0)
		adv = false;
	else if (strcmp(mode, "advanced") == 0)
		adv = true;
	else
		return UV_EINVAL;
	/* A stream cannot change its framing once bytes went either way. */
	if (adv != CH_HAS(ch, CH_ADVANCED) &&
	    (ch->frame.total > 0 || CH_HAS(ch, CH_SENT_ANY)))
		return UV_EBUSY;
	if (adv)
		CH_SET(ch, CH_ADVANCED);
	else
		CH_CLEAR(ch, CH_ADVANCED);
	return 0;
}

const char *
cp_channel_serialization(const struct cp_channel *ch)
{
	return CH_HAS(ch, CH_ADVANCED) ? "advanced" : "json";
}

int
cp__channel_encode(struct cp_channel *ch, const json_t *value,
    struct cp_buf *out)
{
	int r;

	r = CH_HAS(ch, CH_ADVANCED) ? cp_v8_encode_frame(value, out, NULL) :
	    cp_msg_encode(value, out);
	if (r == 0)
		CH_SET(ch, CH_SENT_ANY);	/* the framing is now fixed */
	return r;
}

void
cp__channel_commit(struct cp_channel *ch, size_t n, cp_frame_line_cb cb)
{
	if (CH_HAS(ch, CH_ADVANCED))
		cp_v8_frame_commit(&ch->frame, n, cb, ch);
	else
		cp_frame_commit(&ch->frame, n, cb, ch);
}

int
cp__channel_decode(struct cp_channel *ch, char **textp, size_t *lenp,
    json_t **valuep)
{
	int r;

	if (!CH_HAS(ch, CH_ADVANCED))
		return cp_msg_decode(*textp, *lenp, valuep, NULL);
	if ((r = cp_v8_decode(*textp, *lenp, 0, valuep, NULL)) != 0)
		return r;
	/* The message's text is its JSON form (what a bridge prints). */
	ch->text.len = 0;
	if (cp_msg_encode(*valuep, &ch->text) != 0 ||
	    cp_buf_add(&ch->text, "", 1) != 0) {
		json_decref(*valuep);
		*valuep = NULL;
		return UV_ENOMEM;
	}
	*textp = ch->text.data;
	*lenp = ch->text.len - 2;	/* without "\n" and the NUL */
	ch->text.data[*lenp] = '\0';
	return 0;
}

int
cp__channel_send_text(struct cp_channel *ch, const char *line, size_t len,
    json_error_t *error, cp_send_cb cb, void *arg)
{
	struct cp_buf tmp = CP_BUF_INIT;
	json_t *v;
	int r;

	if (error != NULL)
		error->text[0] = '\0';
	if ((r = cp_msg_decode(line, len, &v, error)) != 0)
		return r;
	r = cp_channel_send(ch, v, cb, arg);
	/* Not a valid JSON form: say why (encoding again costs only here). */
	if (r == UV_EINVAL && error != NULL)
		cp_v8_encode(v, 0, &tmp, error);
	cp_buf_release(&tmp);
	json_decref(v);
	return r;
}

/*
 * Back-references ({"$ref":n}) count the objects of the whole frame, and a
 * handle's message travels inside the NODE_HANDLE object: its numbers are
 * shifted by the objects before it.  These rules are proto/v8.h's.
 */

/* Whether v (an object) is a tagged value and which; "" for plain. */
static const char *
tag_of(const json_t *v)
{
	void *it;
	const char *k;

	if (json_object_size(v) != 1)
		return "";
	it = json_object_iter((json_t *)v);
	k = json_object_iter_key(it);
	return k[0] == '$' ? k : "";
}

/*
 * Walks v in text order counting objects into *n until target is found
 * (true), or v is done (false).
 */
static bool
count_before(const json_t *v, const json_t *target, size_t *n)
{
	const json_t *x, *inner;
	const char *tag, *k;
	void *it;
	size_t i;

	if (v == NULL)
		return false;
	if (v == target)
		return true;
	if (json_is_array(v)) {
		(*n)++;
		json_array_foreach(v, i, x)
			if (count_before(x, target, n))
				return true;
		return false;
	}
	if (!json_is_object(v))
		return false;
	tag = tag_of(v);
	if (*tag == '\0') {
		(*n)++;
		json_object_foreach((json_t *)v, k, x)
			if (count_before(x, target, n))
				return true;
		return false;
	}
	if (!strcmp(tag, "$undefined") || !strcmp(tag, "$hole") ||
	    !strcmp(tag, "$number") || !strcmp(tag, "$bigint") ||
	    !strcmp(tag, "$ref"))
		return false;
	(*n)++;
	inner = json_object_get(v, tag);
	if (!strcmp(tag, "$map")) {
		json_array_foreach(inner, i, x)
			if (count_before(json_array_get(x, 0), target, n) ||
			    count_before(json_array_get(x, 1), target, n))
				return true;
	} else if (!strcmp(tag, "$set")) {
		json_array_foreach(inner, i, x)
			if (count_before(x, target, n))
				return true;
	} else if (!strcmp(tag, "$error")) {
		return count_before(json_object_get(inner, "cause"), target, n);
	} else if (!strcmp(tag, "$array") || !strcmp(tag, "$object")) {
		for (it = json_object_iter((json_t *)inner); it != NULL;
		    it = json_object_iter_next((json_t *)inner, it))
			if (count_before(json_object_iter_value(it), target, n))
				return true;
	}
	return false;
}

/* A copy of v with every $ref number shifted by delta (NULL: no memory). */
static json_t *
rebase(const json_t *v, long long delta)
{
	json_t *c, *x, *r;
	const char *k;
	size_t i;

	if (json_is_array(v)) {
		if ((c = json_array()) == NULL)
			return NULL;
		json_array_foreach(v, i, x)
			if ((r = rebase(x, delta)) == NULL ||
			    json_array_append_new(c, r) != 0) {
				json_decref(c);
				return NULL;
			}
		return c;
	}
	if (!json_is_object(v))
		return json_incref((json_t *)v);
	if (strcmp(tag_of(v), "$ref") == 0 &&
	    json_is_integer(x = json_object_get(v, "$ref")))
		return json_pack("{sI}", "$ref",
		    (json_int_t)(json_integer_value(x) + delta));
	if ((c = json_object()) == NULL)
		return NULL;
	json_object_foreach((json_t *)v, k, x)
		if ((r = rebase(x, delta)) == NULL ||
		    json_object_set_new_nocheck(c, k, r) != 0) {
			json_decref(c);
			return NULL;
		}
	return c;
}

json_t *
cp__channel_msg_out(const struct cp_channel *ch, const json_t *wrapper,
    const json_t *msg)
{
	size_t n = 0;

	if (!CH_HAS(ch, CH_ADVANCED))
		return json_incref((json_t *)msg);
	/* msg becomes wrapper's next member: the objects before it are its. */
	count_before(wrapper, NULL, &n);
	return rebase(msg, (long long)n);
}

json_t *
cp__channel_msg_in(const struct cp_channel *ch, const json_t *frame,
    const json_t *msg)
{
	size_t n = 0;

	if (!CH_HAS(ch, CH_ADVANCED) || msg == NULL ||
	    !count_before(frame, msg, &n))
		return NULL;
	return n == 0 ? NULL : rebase(msg, -(long long)n);
}

void
cp__channel_serial_release(struct cp_channel *ch)
{
	cp_buf_release(&ch->text);
}
