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
	if (adv != ch->advanced && (ch->frame.total > 0 || ch->sent_any))
		return UV_EBUSY;
	ch->advanced = adv;
	return 0;
}

const char *
cp_channel_serialization(const struct cp_channel *ch)
{
	return ch->advanced ? "advanced" : "json";
}

int
cp__channel_encode(const struct cp_channel *ch, const json_t *value,
    struct cp_buf *out)
{
	if (!ch->advanced)
		return cp_msg_encode(value, out);
	return cp_v8_encode_frame(value, out, NULL);
}

void
cp__channel_commit(struct cp_channel *ch, size_t n, cp_frame_line_cb cb)
{
	if (ch->advanced)
		cp_v8_frame_commit(&ch->frame, n, cb, ch);
	else
		cp_frame_commit(&ch->frame, n, cb, ch);
}

int
cp__channel_decode(struct cp_channel *ch, char **textp, size_t *lenp,
    json_t **valuep)
{
	int r;

	if (!ch->advanced)
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
	json_t *v;
	int r;

	struct cp_buf tmp = CP_BUF_INIT;

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

void
cp__channel_serial_release(struct cp_channel *ch)
{
	cp_buf_release(&ch->text);
}
