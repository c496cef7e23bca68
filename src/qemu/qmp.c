/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small QMP client: start QEMU with a private unix socket, talk JSON lines.
 * GSubprocess reaps the child in GLib's worker thread, so
 * g_subprocess_get_identifier() turning NULL tells us QEMU died without a
 * main loop of our own. */
#include "iommuctl/qemu.h"
#include "iommuctl/error.h"
#include "util/ic-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>

struct IcQmp {
  GSubprocess *proc;
  GSocketConnection *conn;
  GDataInputStream *in;
  GOutputStream *out;
  char *dir;          /* private directory: socket and stderr log */
  char *sock_path;
  char *log_path;
  guint timeout_ms;
};

char *
ic_qmp_stderr(IcQmp *qmp)
{
  char *text = NULL;
  if (!ic_read_file(qmp->log_path, 16 << 20, &text, NULL, NULL))
    return g_strdup("");
  g_strstrip(text);
  return text;
}

static gboolean
qmp_process_alive(IcQmp *qmp)
{
  return qmp->proc != NULL && g_subprocess_get_identifier(qmp->proc) != NULL;
}

static gboolean
qmp_connect(IcQmp *qmp, GError **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new();
  g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(qmp->sock_path);
  gint64 deadline = g_get_monotonic_time() + (gint64) qmp->timeout_ms * 1000;
  for (;;) {
    g_autoptr(GError) local = NULL;
    qmp->conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &local);
    if (qmp->conn != NULL)
      break;
    if (!qmp_process_alive(qmp)) {
      g_usleep(20000); /* let QEMU's last words reach the log */
      g_autofree char *err = ic_qmp_stderr(qmp);
      g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QEMU exited before its monitor answered: %s",
                  *err ? err : "(no message)");
      return FALSE;
    }
    if (g_get_monotonic_time() > deadline) {
      g_set_error(error, IC_ERROR, IC_ERROR_TIMEOUT, "QEMU's monitor %s did not answer within %u ms",
                  qmp->sock_path, qmp->timeout_ms);
      return FALSE;
    }
    g_usleep(10000);
  }
  GSocket *sock = g_socket_connection_get_socket(qmp->conn);
  g_socket_set_timeout(sock, MAX(1u, qmp->timeout_ms / 1000));
  qmp->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(qmp->conn)));
  g_data_input_stream_set_newline_type(qmp->in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  qmp->out = g_io_stream_get_output_stream(G_IO_STREAM(qmp->conn));
  return TRUE;
}

/* Next non-event message as a JSON object node. */
static JsonNode *
qmp_read_message(IcQmp *qmp, GError **error)
{
  for (;;) {
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    g_autofree char *line = g_data_input_stream_read_line(qmp->in, &len, NULL, &local);
    if (line == NULL) {
      g_autofree char *err = ic_qmp_stderr(qmp);
      g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QMP connection closed%s%s%s%s",
                  local ? ": " : "", local ? local->message : "", *err ? "; QEMU said: " : "", err);
      return NULL;
    }
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!ic_json_parser_load(parser, line, (gssize) len, "QMP reply", error)) {
      g_prefix_error(error, "QMP sent invalid JSON: ");
      return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *message = ic_json_node_object(root); /* NULL for a blank line */
    if (message == NULL || json_object_has_member(message, "event"))
      continue;
    return json_node_copy(root);
  }
}

static gboolean
qmp_write_command(IcQmp *qmp, const char *command, JsonObject *args, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  ic_json_add_string(b, "execute", command);
  if (args != NULL) {
    json_builder_set_member_name(b, "arguments");
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(n, args);
    json_builder_add_value(b, n);
  }
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree char *text = ic_json_to_string(root, FALSE);
  g_autofree char *line = g_strconcat(text, "\n", NULL);
  return g_output_stream_write_all(qmp->out, line, strlen(line), NULL, NULL, error);
}

JsonNode *
ic_qmp_execute(IcQmp *qmp, const char *command, JsonObject *args, GError **error)
{
  if (qmp->conn == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QMP: not connected");
    return NULL;
  }
  if (!qmp_write_command(qmp, command, args, error))
    return NULL;
  g_autoptr(JsonNode) reply = qmp_read_message(qmp, error);
  if (reply == NULL)
    return NULL;
  JsonObject *o = json_node_get_object(reply);
  if (json_object_has_member(o, "error")) {
    JsonObject *e = NULL;
    const char *desc = NULL;
    if (!ic_json_get_object(o, "error", NULL, &e, NULL) || !ic_json_get_string(e, "desc", NULL, &desc, NULL) ||
        desc == NULL)
      desc = "?";
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QMP %s: %s", command, desc);
    return NULL;
  }
  JsonNode *ret = json_object_get_member(o, "return");
  return ret ? json_node_copy(ret) : json_node_new(JSON_NODE_NULL);
}

JsonNode *
ic_qmp_qom_get(IcQmp *qmp, const char *path, const char *property, GError **error)
{
  JsonObject *args = json_object_new();
  json_object_set_string_member(args, "path", path);
  json_object_set_string_member(args, "property", property);
  JsonNode *r = ic_qmp_execute(qmp, "qom-get", args, error);
  json_object_unref(args);
  return r;
}

char *
ic_qmp_hmp(IcQmp *qmp, const char *command_line, GError **error)
{
  JsonObject *args = json_object_new();
  json_object_set_string_member(args, "command-line", command_line);
  g_autoptr(JsonNode) r = ic_qmp_execute(qmp, "human-monitor-command", args, error);
  json_object_unref(args);
  if (r == NULL)
    return NULL;
  const char *text = JSON_NODE_HOLDS_VALUE(r) && json_node_get_value_type(r) == G_TYPE_STRING ? json_node_get_string(r) : "";
  return g_strdup(text);
}

IcQmp *
ic_qmp_spawn(const char *const *argv, guint timeout_ms, GError **error)
{
  g_return_val_if_fail(argv != NULL && argv[0] != NULL, NULL);
  IcQmp *qmp = g_new0(IcQmp, 1);
  qmp->timeout_ms = timeout_ms ? timeout_ms : 10000;
  qmp->dir = g_dir_make_tmp("iommuctl-qmp-XXXXXX", error);
  if (qmp->dir == NULL) {
    ic_qmp_free(qmp);
    return NULL;
  }
  qmp->sock_path = g_build_filename(qmp->dir, "qmp.sock", NULL);
  qmp->log_path = g_build_filename(qmp->dir, "stderr.log", NULL);

  g_autoptr(GPtrArray) full = g_ptr_array_new_with_free_func(g_free);
  for (int i = 0; argv[i]; i++)
    g_ptr_array_add(full, g_strdup(argv[i]));
  g_ptr_array_add(full, g_strdup("-qmp"));
  g_ptr_array_add(full, g_strdup_printf("unix:%s,server=on,wait=off", qmp->sock_path));
  g_ptr_array_add(full, NULL);

  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_stderr_file_path(l, qmp->log_path);
  g_subprocess_launcher_set_stdout_file_path(l, qmp->log_path);
  qmp->proc = g_subprocess_launcher_spawnv(l, (const char *const *) full->pdata, error);
  if (qmp->proc == NULL || !qmp_connect(qmp, error)) {
    ic_qmp_free(qmp);
    return NULL;
  }
  g_autoptr(JsonNode) greeting = qmp_read_message(qmp, error);
  g_autoptr(JsonNode) caps = greeting ? ic_qmp_execute(qmp, "qmp_capabilities", NULL, error) : NULL;
  if (caps == NULL) {
    ic_qmp_free(qmp);
    return NULL;
  }
  return qmp;
}

void
ic_qmp_quit(IcQmp *qmp)
{
  if (qmp == NULL || qmp->proc == NULL)
    return;
  if (qmp->conn != NULL && qmp_process_alive(qmp)) {
    g_autoptr(GError) ignored = NULL;
    /* the reply does not matter: QEMU may close the socket before it */
    JsonNode *reply = ic_qmp_execute(qmp, "quit", NULL, &ignored);
    if (reply != NULL)
      json_node_unref(reply);
  }
  gint64 deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
  while (qmp_process_alive(qmp) && g_get_monotonic_time() < deadline)
    g_usleep(10000);
  if (qmp_process_alive(qmp))
    g_subprocess_send_signal(qmp->proc, SIGKILL);
  g_subprocess_wait(qmp->proc, NULL, NULL);
}

void
ic_qmp_free(IcQmp *qmp)
{
  if (qmp == NULL)
    return;
  if (qmp->proc != NULL) {
    if (qmp_process_alive(qmp))
      g_subprocess_force_exit(qmp->proc);
    g_subprocess_wait(qmp->proc, NULL, NULL);
    g_object_unref(qmp->proc);
  }
  g_clear_object(&qmp->in);
  g_clear_object(&qmp->conn);
  if (qmp->dir != NULL) {
    g_unlink(qmp->sock_path);
    g_unlink(qmp->log_path);
    g_rmdir(qmp->dir);
  }
  g_free(qmp->dir);
  g_free(qmp->sock_path);
  g_free(qmp->log_path);
  g_free(qmp);
}
