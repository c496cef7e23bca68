/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One JSON-emitting API, two backends: a JsonBuilder (the document becomes
 * part of a json-glib tree, as everywhere else), or a stream of text in the
 * pretty format json-glib's generator writes.  json-glib has no streaming
 * writer; building, generating and freeing a tree of ~100k nodes for the
 * `groups --json` listing of a 4096-function host took 135 ms, several times
 * the scan itself (bench/inventory).  Code that writes such listings writes
 * through this API once and serves both. */
#include "util/ic-util.h"

#include <string.h>

typedef struct {
  gboolean object;
  guint count;
} Level;

struct IcJsonWriter {
  JsonBuilder *builder; /* backend 1 */
  GString *text;        /* backend 2 */
  GArray *levels;       /* of Level, stream backend */
  gboolean after_member;
};

IcJsonWriter *
ic_json_writer_new_builder(JsonBuilder *builder)
{
  IcJsonWriter *w = g_new0(IcJsonWriter, 1);
  w->builder = g_object_ref(builder);
  return w;
}

IcJsonWriter *
ic_json_writer_new_stream(void)
{
  IcJsonWriter *w = g_new0(IcJsonWriter, 1);
  w->text = g_string_sized_new(1 << 16);
  w->levels = g_array_new(FALSE, FALSE, sizeof(Level));
  return w;
}

void
ic_json_writer_free(IcJsonWriter *w)
{
  if (w == NULL)
    return;
  g_clear_object(&w->builder);
  if (w->text)
    g_string_free(w->text, TRUE);
  if (w->levels)
    g_array_unref(w->levels);
  g_free(w);
}

char *
ic_json_writer_steal_text(IcJsonWriter *w, gsize *len)
{
  g_return_val_if_fail(w->text != NULL && w->levels->len == 0, NULL);
  if (len)
    *len = w->text->len;
  char *s = g_string_free(w->text, FALSE);
  w->text = NULL;
  return s;
}

static void
indent(GString *s, guint level)
{
  static const char spaces[] = "                                "; /* 16 levels */
  for (; level > 16; level -= 16)
    g_string_append_len(s, spaces, 32);
  g_string_append_len(s, spaces, 2 * level);
}

/* JSON string escaping: the two mandatory escapes, the short forms of
 * json-glib's generator, \u00XX for the other control characters and DEL;
 * UTF-8 passes through. */
static gboolean
needs_escape(unsigned char c)
{
  return c < 0x20 || c == '"' || c == '\\' || c == 0x7f;
}

static void
append_quoted(GString *s, const char *v)
{
  g_string_append_c(s, '"');
  const unsigned char *p = (const unsigned char *) v;
  while (*p) {
    const unsigned char *run = p;
    while (*p && !needs_escape(*p))
      p++;
    if (p > run)
      g_string_append_len(s, (const char *) run, p - run);
    if (*p == '\0')
      break;
    switch (*p) {
    case '"': g_string_append(s, "\\\""); break;
    case '\\': g_string_append(s, "\\\\"); break;
    case '\b': g_string_append(s, "\\b"); break;
    case '\f': g_string_append(s, "\\f"); break;
    case '\n': g_string_append(s, "\\n"); break;
    case '\r': g_string_append(s, "\\r"); break;
    case '\t': g_string_append(s, "\\t"); break;
    default: g_string_append_printf(s, "\\u%04x", *p);
    }
    p++;
  }
  g_string_append_c(s, '"');
}

/* Separator and indentation before a value (or an object member's key). */
static void
stream_before_value(IcJsonWriter *w)
{
  if (w->after_member) {
    w->after_member = FALSE;
    return;
  }
  if (w->levels->len == 0)
    return;
  Level *l = &g_array_index(w->levels, Level, w->levels->len - 1);
  g_string_append(w->text, l->count++ ? ",\n" : "\n");
  indent(w->text, w->levels->len);
}

static void
stream_open(IcJsonWriter *w, gboolean object)
{
  stream_before_value(w);
  g_string_append_c(w->text, object ? '{' : '[');
  Level l = {object, 0};
  g_array_append_val(w->levels, l);
}

static void
stream_close(IcJsonWriter *w)
{
  Level l = g_array_index(w->levels, Level, w->levels->len - 1);
  g_array_set_size(w->levels, w->levels->len - 1);
  if (l.count == 0) {
    /* json-glib writes an empty object as "{  }" and an empty array as "[]" */
    g_string_append(w->text, l.object ? "  }" : "]");
    return;
  }
  g_string_append_c(w->text, '\n');
  indent(w->text, w->levels->len);
  g_string_append_c(w->text, l.object ? '}' : ']');
}

void
ic_json_writer_begin_object(IcJsonWriter *w)
{
  if (w->builder)
    json_builder_begin_object(w->builder);
  else
    stream_open(w, TRUE);
}

void
ic_json_writer_end_object(IcJsonWriter *w)
{
  if (w->builder)
    json_builder_end_object(w->builder);
  else
    stream_close(w);
}

void
ic_json_writer_begin_array(IcJsonWriter *w)
{
  if (w->builder)
    json_builder_begin_array(w->builder);
  else
    stream_open(w, FALSE);
}

void
ic_json_writer_end_array(IcJsonWriter *w)
{
  if (w->builder)
    json_builder_end_array(w->builder);
  else
    stream_close(w);
}

void
ic_json_writer_member(IcJsonWriter *w, const char *key)
{
  if (w->builder) {
    json_builder_set_member_name(w->builder, key);
    return;
  }
  stream_before_value(w);
  append_quoted(w->text, key);
  g_string_append(w->text, " : ");
  w->after_member = TRUE;
}

void
ic_json_writer_string(IcJsonWriter *w, const char *value)
{
  if (value == NULL) {
    ic_json_writer_null(w);
  } else if (w->builder) {
    json_builder_add_string_value(w->builder, value);
  } else {
    stream_before_value(w);
    append_quoted(w->text, value);
  }
}

void
ic_json_writer_int(IcJsonWriter *w, gint64 value)
{
  if (w->builder) {
    json_builder_add_int_value(w->builder, value);
    return;
  }
  stream_before_value(w);
  g_string_append_printf(w->text, "%" G_GINT64_FORMAT, value);
}

void
ic_json_writer_bool(IcJsonWriter *w, gboolean value)
{
  if (w->builder) {
    json_builder_add_boolean_value(w->builder, value);
    return;
  }
  stream_before_value(w);
  g_string_append(w->text, value ? "true" : "false");
}

void
ic_json_writer_null(IcJsonWriter *w)
{
  if (w->builder) {
    json_builder_add_null_value(w->builder);
    return;
  }
  stream_before_value(w);
  g_string_append(w->text, "null");
}

void
ic_jw_add_string(IcJsonWriter *w, const char *key, const char *value)
{
  ic_json_writer_member(w, key);
  ic_json_writer_string(w, value);
}

void
ic_jw_add_int(IcJsonWriter *w, const char *key, gint64 value)
{
  ic_json_writer_member(w, key);
  ic_json_writer_int(w, value);
}

void
ic_jw_add_bool(IcJsonWriter *w, const char *key, gboolean value)
{
  ic_json_writer_member(w, key);
  ic_json_writer_bool(w, value);
}

void
ic_jw_add_string_array(IcJsonWriter *w, const char *key, GPtrArray *strings)
{
  ic_json_writer_member(w, key);
  ic_json_writer_begin_array(w);
  for (guint i = 0; strings != NULL && i < strings->len; i++)
    ic_json_writer_string(w, g_ptr_array_index(strings, i));
  ic_json_writer_end_array(w);
}

void
ic_jw_add_hex(IcJsonWriter *w, const char *key, guint value, int digits)
{
  char buf[24];
  g_snprintf(buf, sizeof buf, "0x%0*x", digits, value);
  ic_jw_add_string(w, key, buf);
}
