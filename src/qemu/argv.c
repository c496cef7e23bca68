/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The argv model: options in order, JSON values also kept as objects so
 * that they can be looked up (by id) and compared as data. */
#include "iommuctl/qemu.h"
#include "util/ic-util.h"

static void
opt_free(gpointer p)
{
  IcQemuOpt *o = p;
  g_free(o->name);
  g_free(o->text);
  if (o->json)
    json_object_unref(o->json);
  g_free(o);
}

IcQemuArgv *
ic_qemu_argv_new(const char *binary)
{
  IcQemuArgv *a = g_new0(IcQemuArgv, 1);
  a->binary = g_strdup(binary);
  a->opts = g_ptr_array_new_with_free_func(opt_free);
  return a;
}

void
ic_qemu_argv_free(IcQemuArgv *argv)
{
  if (argv == NULL)
    return;
  g_free(argv->binary);
  g_ptr_array_unref(argv->opts);
  g_free(argv);
}

static IcQemuOpt *
opt_append(IcQemuArgv *argv, const char *name)
{
  IcQemuOpt *o = g_new0(IcQemuOpt, 1);
  o->name = g_strdup(name);
  g_ptr_array_add(argv->opts, o);
  return o;
}

void
ic_qemu_argv_add_flag(IcQemuArgv *argv, const char *name)
{
  opt_append(argv, name);
}

void
ic_qemu_argv_add_text(IcQemuArgv *argv, const char *name, const char *value)
{
  opt_append(argv, name)->text = g_strdup(value);
}

void
ic_qemu_argv_add_json(IcQemuArgv *argv, const char *name, JsonObject *value)
{
  opt_append(argv, name)->json = value;
}

IcQemuOpt *
ic_qemu_argv_find_id(IcQemuArgv *argv, const char *name, const char *id)
{
  for (guint i = 0; i < argv->opts->len; i++) {
    IcQemuOpt *o = argv->opts->pdata[i];
    if (o->json != NULL && strcmp(o->name, name) == 0 &&
        g_strcmp0(json_object_get_string_member_with_default(o->json, "id", NULL), id) == 0)
      return o;
  }
  return NULL;
}

static char *
json_object_compact(JsonObject *o)
{
  g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);
  json_node_set_object(n, o);
  return ic_json_to_string(n, FALSE);
}

/* The text wins when both are set: libvirt's JSON exactly as it wrote it
 * (ic_qemu_argv_from_strv keeps the parsed object beside it for lookups). */
static char *
opt_value_string(const IcQemuOpt *o)
{
  if (o->text != NULL)
    return g_strdup(o->text);
  if (o->json != NULL)
    return json_object_compact(o->json);
  return g_strdup(o->text);
}

char **
ic_qemu_argv_to_strv(const IcQemuArgv *argv)
{
  g_autoptr(GPtrArray) v = g_ptr_array_new();
  g_ptr_array_add(v, g_strdup(argv->binary));
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    g_ptr_array_add(v, g_strdup(o->name));
    char *val = opt_value_string(o);
    if (val != NULL)
      g_ptr_array_add(v, val);
  }
  g_ptr_array_add(v, NULL);
  return (char **) g_ptr_array_free(g_steal_pointer(&v), FALSE);
}

char *
ic_qemu_argv_to_lines(const IcQemuArgv *argv)
{
  GString *s = g_string_new(argv->binary);
  g_string_append_c(s, '\n');
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    g_autofree char *val = opt_value_string(o);
    g_string_append(s, o->name);
    if (val != NULL) {
      g_string_append_c(s, ' ');
      g_string_append(s, val);
    }
    g_string_append_c(s, '\n');
  }
  return g_string_free(s, FALSE);
}

char *
ic_qemu_argv_to_shell(const IcQemuArgv *argv)
{
  g_auto(GStrv) v = ic_qemu_argv_to_strv(argv);
  GString *s = g_string_new(NULL);
  for (int i = 0; v[i]; i++) {
    g_autofree char *q = g_shell_quote(v[i]);
    if (i)
      g_string_append_c(s, ' ');
    /* keep plain words readable */
    gboolean plain = v[i][0] != '\0' && strspn(v[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "0123456789-_=,./:+@%") == strlen(v[i]);
    g_string_append(s, plain ? v[i] : q);
  }
  g_string_append_c(s, '\n');
  return g_string_free(s, FALSE);
}

JsonNode *
ic_qemu_argv_to_json(const IcQemuArgv *argv)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  ic_json_add_string(b, "binary", argv->binary);
  json_builder_set_member_name(b, "options");
  json_builder_begin_array(b);
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    json_builder_begin_object(b);
    ic_json_add_string(b, "name", o->name);
    json_builder_set_member_name(b, "value");
    if (o->json != NULL) {
      JsonNode *n = json_node_new(JSON_NODE_OBJECT);
      json_node_set_object(n, o->json);
      json_builder_add_value(b, n);
    } else if (o->text != NULL) {
      json_builder_add_string_value(b, o->text);
    } else {
      json_builder_add_null_value(b);
    }
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

JsonObject *
ic_qemu_keyval_parse(const char *text, const char *implied_key)
{
  JsonObject *o = json_object_new();
  const char *p = text;
  gboolean first = TRUE;
  while (p != NULL && *p) {
    /* one element up to an unescaped ',' (",," is a literal comma) */
    GString *elem = g_string_new(NULL);
    while (*p) {
      if (*p == ',' && p[1] == ',') {
        g_string_append_c(elem, ',');
        p += 2;
        continue;
      }
      if (*p == ',')
        break;
      g_string_append_c(elem, *p++);
    }
    if (*p == ',')
      p++;
    char *eq = strchr(elem->str, '=');
    if (eq != NULL) {
      *eq = '\0';
      json_object_set_string_member(o, elem->str, eq + 1);
    } else if (first && implied_key != NULL) {
      json_object_set_string_member(o, implied_key, elem->str);
    } else if (elem->len > 0) {
      json_object_set_string_member(o, elem->str, "on");
    }
    first = FALSE;
    g_string_free(elem, TRUE);
  }
  return o;
}
