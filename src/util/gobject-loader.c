/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json-glib, GObject and GIO, loaded on first use instead of at every start
 * of iommuctl.
 *
 * Only JSON output, the JSON readers and the Placement client use them, but
 * linking json-glib made every command map, relocate and initialise it and
 * what it needs (GIO, GObject, libffi, libmount, libblkid, libselinux,
 * zlib): 8 of the 14 libraries of `iommuctl --version` and about 60% of its
 * instructions, paid twice per detach + reattach cycle (bench/assign-cycle).
 * The callers keep calling them by their own names (see lazy-lib.h); the
 * GObject and GIO functions are found through json-glib, which needs both.
 * A call not listed here fails to link: add it to IC_GOBJECT_FUNCS.  They
 * stay hard dependencies (packages must depend on libjson-glib-1.0-0 and
 * libglib2.0-0, which holds GObject and GIO; the linker no longer records
 * them). */
#include "util/lazy-lib.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define IC_JSON_GLIB_SONAME "libjson-glib-1.0.so.0"

#define IC_GOBJECT_FUNCS(X, V)                                                                    \
  /* GObject: references of json-glib's objects (g_autoptr, g_clear_object) */                    \
  X(gpointer, g_object_ref, (gpointer object), (object))                                          \
  V(g_object_unref, (gpointer object), (object))                                                  \
  X(GTypeInstance *, g_type_check_instance_cast, (GTypeInstance * instance, GType iface_type),    \
    (instance, iface_type))                                                                       \
  /* GIO: the Placement client's reply streams and proxy */                                       \
  X(gboolean, g_input_stream_close,                                                               \
    (GInputStream * stream, GCancellable * cancellable, GError * *error),                         \
    (stream, cancellable, error))                                                                 \
  X(gssize, g_input_stream_read,                                                                  \
    (GInputStream * stream, void *buffer, gsize count, GCancellable *cancellable,                 \
     GError **error),                                                                             \
    (stream, buffer, count, cancellable, error))                                                  \
  X(GType, g_simple_proxy_resolver_get_type, (void), ())                                          \
  X(GProxyResolver *, g_simple_proxy_resolver_new, (const gchar *default_proxy,                   \
                                                    gchar **ignore_hosts),                        \
    (default_proxy, ignore_hosts))                                                                \
  V(g_simple_proxy_resolver_set_uri_proxy,                                                        \
    (GSimpleProxyResolver * resolver, const gchar *uri_scheme, const gchar *proxy),               \
    (resolver, uri_scheme, proxy))                                                                \
  /* json-glib */                                                                                 \
  X(JsonNode *, json_array_get_element, (JsonArray * array, guint index_), (array, index_))       \
  X(guint, json_array_get_length, (JsonArray * array), (array))                                   \
  X(JsonBuilder *, json_builder_add_boolean_value, (JsonBuilder * builder, gboolean value),       \
    (builder, value))                                                                             \
  X(JsonBuilder *, json_builder_add_double_value, (JsonBuilder * builder, gdouble value),         \
    (builder, value))                                                                             \
  X(JsonBuilder *, json_builder_add_int_value, (JsonBuilder * builder, gint64 value),             \
    (builder, value))                                                                             \
  X(JsonBuilder *, json_builder_add_null_value, (JsonBuilder * builder), (builder))               \
  X(JsonBuilder *, json_builder_add_string_value, (JsonBuilder * builder, const gchar *value),    \
    (builder, value))                                                                             \
  X(JsonBuilder *, json_builder_add_value, (JsonBuilder * builder, JsonNode *node),               \
    (builder, node))                                                                              \
  X(JsonBuilder *, json_builder_begin_array, (JsonBuilder * builder), (builder))                  \
  X(JsonBuilder *, json_builder_begin_object, (JsonBuilder * builder), (builder))                 \
  X(JsonBuilder *, json_builder_end_array, (JsonBuilder * builder), (builder))                    \
  X(JsonBuilder *, json_builder_end_object, (JsonBuilder * builder), (builder))                   \
  X(JsonNode *, json_builder_get_root, (JsonBuilder * builder), (builder))                        \
  X(JsonBuilder *, json_builder_new, (void), ())                                                  \
  X(JsonBuilder *, json_builder_set_member_name,                                                  \
    (JsonBuilder * builder, const gchar *member_name), (builder, member_name))                    \
  X(JsonGenerator *, json_generator_new, (void), ())                                              \
  V(json_generator_set_indent, (JsonGenerator * generator, guint indent_level),                   \
    (generator, indent_level))                                                                    \
  V(json_generator_set_pretty, (JsonGenerator * generator, gboolean is_pretty),                   \
    (generator, is_pretty))                                                                       \
  V(json_generator_set_root, (JsonGenerator * generator, JsonNode *node), (generator, node))       \
  X(gchar *, json_generator_to_data, (JsonGenerator * generator, gsize *length),                  \
    (generator, length))                                                                          \
  X(JsonNode *, json_node_copy, (JsonNode * node), (node))                                        \
  X(JsonArray *, json_node_get_array, (JsonNode * node), (node))                                  \
  X(gboolean, json_node_get_boolean, (JsonNode * node), (node))                                   \
  X(gdouble, json_node_get_double, (JsonNode * node), (node))                                     \
  X(gint64, json_node_get_int, (JsonNode * node), (node))                                         \
  X(JsonNodeType, json_node_get_node_type, (JsonNode * node), (node))                             \
  X(JsonObject *, json_node_get_object, (JsonNode * node), (node))                                \
  X(const gchar *, json_node_get_string, (JsonNode * node), (node))                               \
  X(GType, json_node_get_value_type, (JsonNode * node), (node))                                   \
  X(JsonNode *, json_node_new, (JsonNodeType type), (type))                                       \
  X(JsonNode *, json_node_ref, (JsonNode * node), (node))                                         \
  V(json_node_set_object, (JsonNode * node, JsonObject *object), (node, object))                  \
  V(json_node_unref, (JsonNode * node), (node))                                                   \
  X(JsonNode *, json_object_get_member, (JsonObject * object, const gchar *member_name),          \
    (object, member_name))                                                                        \
  X(GList *, json_object_get_members, (JsonObject * object), (object))                            \
  X(guint, json_object_get_size, (JsonObject * object), (object))                                 \
  X(const char *, json_object_get_string_member_with_default,                                     \
    (JsonObject * object, const char *member_name, const char *default_value),                    \
    (object, member_name, default_value))                                                         \
  X(gboolean, json_object_has_member, (JsonObject * object, const gchar *member_name),            \
    (object, member_name))                                                                        \
  V(json_object_iter_init, (JsonObjectIter * iter, JsonObject *object), (iter, object))           \
  X(gboolean, json_object_iter_next,                                                              \
    (JsonObjectIter * iter, const gchar **member_name, JsonNode **member_node),                   \
    (iter, member_name, member_node))                                                             \
  X(JsonObject *, json_object_new, (void), ())                                                    \
  X(JsonObject *, json_object_ref, (JsonObject * object), (object))                               \
  V(json_object_set_member, (JsonObject * object, const gchar *member_name, JsonNode *node),      \
    (object, member_name, node))                                                                  \
  V(json_object_set_string_member,                                                                \
    (JsonObject * object, const gchar *member_name, const gchar *value),                          \
    (object, member_name, value))                                                                 \
  V(json_object_unref, (JsonObject * object), (object))                                           \
  X(JsonNode *, json_parser_get_root, (JsonParser * parser), (parser))                            \
  X(gboolean, json_parser_load_from_data,                                                         \
    (JsonParser * parser, const gchar *data, gssize length, GError **error),                      \
    (parser, data, length, error))                                                                \
  X(JsonParser *, json_parser_new, (void), ())                                                    \
  X(JsonParser *, json_parser_new_immutable, (void), ())                                          \
  X(char *, json_to_string, (JsonNode * node, gboolean pretty), (node, pretty))

enum { IC_GOBJECT_FUNCS(IC_LAZY_SLOT, IC_LAZY_SLOT_V) IC_GOBJECT_N };

static const char *const gobject_names[IC_GOBJECT_N] = {
  IC_GOBJECT_FUNCS(IC_LAZY_NAME, IC_LAZY_NAME_V)};
IC_LAZY_LIB_DEFINE(gobject_lib, IC_JSON_GLIB_SONAME, "libjson-glib-1.0-0", gobject_names, IC_GOBJECT_N);

#define IC_LAZY_LIB gobject_lib
IC_GOBJECT_FUNCS(IC_LAZY_FORWARD, IC_LAZY_FORWARD_V)
