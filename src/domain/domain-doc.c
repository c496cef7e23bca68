/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Safe parsing of domain XML and byte-preserving edits.
 *
 * libxml2's serializer rewrites quotes, namespace declarations and
 * whitespace, so edited files would differ from the originals in many places
 * nobody asked for.  Instead we keep the original text, locate every element
 * in it with a small scanner (the text is already known to be well-formed:
 * libxml2 parsed it first), and splice edits in at those byte offsets. */
#include "domain/domain-private.h"
#include "util/ic-util.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/globals.h>
#include <stdarg.h>
#include <string.h>

/* ---- scanning element offsets ------------------------------------------- */

static gboolean
is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Line numbers and the end-of-line style are counted with memchr: a
 * byte-at-a-time loop was ~10% of lint's instructions (bench/lint). */
static int
line_at(const char *text, gsize from, gsize to, int line)
{
  const char *p = text + from, *end = text + to;
  while (p < end && (p = memchr(p, '\n', (gsize) (end - p))) != NULL) {
    line++;
    p++;
  }
  return line;
}

/* Fill spans with every element in pre-order.  FALSE on anything the scanner
 * does not understand (which a libxml2-accepted document should not have). */
static gboolean
scan_spans(const char *t, gsize len, GArray *spans)
{
  g_autoptr(GArray) stack = g_array_new(FALSE, FALSE, sizeof(guint));
  gsize i = 0, line_pos = 0;
  int line = 1;
  while (i < len) {
    const char *lt = memchr(t + i, '<', len - i);
    if (lt == NULL)
      break;
    i = (gsize) (lt - t);
    if (i + 1 >= len)
      return FALSE;
    if (t[i + 1] == '!' && strncmp(t + i, "<!--", 4) == 0) {
      const char *e = g_strstr_len(t + i + 4, (gssize) (len - i - 4), "-->");
      if (e == NULL)
        return FALSE;
      i = (gsize) (e - t) + 3;
    } else if (t[i + 1] == '!' && strncmp(t + i, "<![CDATA[", 9) == 0) {
      const char *e = g_strstr_len(t + i + 9, (gssize) (len - i - 9), "]]>");
      if (e == NULL)
        return FALSE;
      i = (gsize) (e - t) + 3;
    } else if (t[i + 1] == '?') {
      const char *e = g_strstr_len(t + i + 2, (gssize) (len - i - 2), "?>");
      if (e == NULL)
        return FALSE;
      i = (gsize) (e - t) + 2;
    } else if (t[i + 1] == '!') {
      return FALSE; /* DOCTYPE: rejected before we get here */
    } else if (t[i + 1] == '/') {
      if (stack->len == 0)
        return FALSE;
      guint idx = g_array_index(stack, guint, stack->len - 1);
      g_array_set_size(stack, stack->len - 1);
      IcSpan *s = &g_array_index(spans, IcSpan, idx);
      s->etag_start = i;
      const char *gt = memchr(t + i, '>', len - i);
      if (gt == NULL)
        return FALSE;
      i = (gsize) (gt - t) + 1;
      s->end = i;
    } else {
      IcSpan s = {.start = i};
      line = line_at(t, line_pos, i, line);
      line_pos = i;
      s.line = line;
      gsize j = i + 1;
      while (j < len && !is_space(t[j]) && t[j] != '>' && t[j] != '/')
        j++;
      s.attrs_end = j;
      for (;;) {
        while (j < len && is_space(t[j]))
          j++;
        if (j >= len)
          return FALSE;
        if (t[j] == '>') {
          j++;
          break;
        }
        if (t[j] == '/') {
          if (j + 1 >= len || t[j + 1] != '>')
            return FALSE;
          s.empty = TRUE;
          j += 2;
          break;
        }
        /* attribute: name = "value" */
        while (j < len && t[j] != '=' && !is_space(t[j]))
          j++;
        while (j < len && is_space(t[j]))
          j++;
        if (j >= len || t[j] != '=')
          return FALSE;
        j++;
        while (j < len && is_space(t[j]))
          j++;
        if (j >= len || (t[j] != '"' && t[j] != '\''))
          return FALSE;
        char q = t[j];
        if (s.quote == 0)
          s.quote = q;
        const char *e = memchr(t + j + 1, q, len - j - 1);
        if (e == NULL)
          return FALSE;
        j = (gsize) (e - t) + 1;
        s.attrs_end = j;
      }
      s.stag_end = j;
      if (s.empty)
        s.etag_start = s.end = j;
      g_array_append_val(spans, s);
      if (!s.empty) {
        guint idx = spans->len - 1;
        g_array_append_val(stack, idx);
      }
      i = j;
    }
  }
  return stack->len == 0;
}

/* Pre-order walk that must meet the elements in the scanner's order. */
static gboolean
attach_spans(xmlNodePtr node, GArray *spans, guint *next)
{
  for (xmlNodePtr c = node; c != NULL; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (*next >= spans->len)
      return FALSE;
    c->_private = GUINT_TO_POINTER(*next + 1);
    (*next)++;
    if (!attach_spans(c->children, spans, next))
      return FALSE;
  }
  return TRUE;
}

const IcSpan *
ic_domain_span(const IcDomainDoc *doc, xmlNodePtr node)
{
  guint idx = GPOINTER_TO_UINT(node->_private);
  if (idx == 0 || idx > doc->spans->len)
    return NULL;
  return &g_array_index(doc->spans, IcSpan, idx - 1);
}

int
ic_domain_doc_line(const IcDomainDoc *doc, xmlNodePtr node)
{
  const IcSpan *s = node != NULL ? ic_domain_span(doc, node) : NULL;
  return s != NULL ? s->line : 0;
}

/* ---- parsing ---------------------------------------------------------------- */

/* Limits that keep time and memory in proportion to the input (issue 10):
 * libvirt's largest elements carry about 20 attributes and its largest
 * domains a few thousand elements; a 16 MiB file of empty elements made a
 * 1.5 GB tree, and a million attributes on one element kept libxml2's
 * duplicate check busy for minutes. */
#define IC_DOMAIN_MAX_ELEMENTS 100000
#define IC_DOMAIN_MAX_ATTRS_PER_ELEMENT 256
#define IC_DOMAIN_MAX_ATTRS 200000

/* Refuse what a domain XML never has and what makes XML dangerous: a DOCTYPE
 * (entity definitions, billion laughs, external entities) and non-ASCII-
 * compatible encodings (our byte scanner assumes ASCII structure). */
static gboolean
precheck(const char *data, gsize len, const char *name, GError **error)
{
  if (len > IC_DOMAIN_MAX_BYTES) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: %" G_GSIZE_FORMAT " bytes is over the %u-byte limit for domain XML",
                name, len, IC_DOMAIN_MAX_BYTES);
    return FALSE;
  }
  if (memchr(data, '\0', len) != NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: contains NUL bytes (UTF-16 or binary data is not accepted)", name);
    return FALSE;
  }
  guint elements = 0, attrs_total = 0;
  const char *p = data;
  while ((p = memchr(p, '<', len - (gsize) (p - data))) != NULL) {
    gsize left = len - (gsize) (p - data);
    if (left >= 2 && (g_ascii_isalpha(p[1]) || p[1] == '_' || p[1] == ':' || (guchar) p[1] >= 0x80)) {
      /* a start tag: libxml2 checks attributes for duplicates in time
       * quadratic in their number, and every element costs a few hundred
       * bytes of tree: bound both before the parser sees them */
      guint attrs = 0;
      char quote = 0;
      const char *q = p + 1;
      for (; q < data + len; q++) {
        if (quote != 0) {
          if (*q == quote)
            quote = 0;
        } else if (*q == '"' || *q == '\'') {
          /* jump over the value: a byte loop here was most of precheck */
          const char *close = memchr(q + 1, *q, (gsize) (data + len - q - 1));
          if (close == NULL) {
            quote = *q;
            continue;
          }
          q = close;
        } else if (*q == '=') {
          attrs++;
        } else if (*q == '>' || *q == '<') {
          break;
        }
      }
      const char *what = NULL;
      if (++elements > IC_DOMAIN_MAX_ELEMENTS)
        what = "more than " G_STRINGIFY(IC_DOMAIN_MAX_ELEMENTS) " elements";
      else if (attrs > IC_DOMAIN_MAX_ATTRS_PER_ELEMENT)
        what = "an element with more than " G_STRINGIFY(IC_DOMAIN_MAX_ATTRS_PER_ELEMENT) " attributes";
      else if ((attrs_total += attrs) > IC_DOMAIN_MAX_ATTRS)
        what = "more than " G_STRINGIFY(IC_DOMAIN_MAX_ATTRS) " attributes";
      if (what != NULL) {
        int line = line_at(data, 0, (gsize) (p - data), 1);
        g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s:%d: %s: over the limit for domain XML", name, line, what);
        return FALSE;
      }
      p = q;
      continue;
    }
    if (left >= 2 && p[1] == '!' && !(left >= 4 && p[2] == '-' && p[3] == '-') &&
        !(left >= 9 && strncmp(p, "<![CDATA[", 9) == 0)) {
      int line = line_at(data, 0, (gsize) (p - data), 1);
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE,
                  "%s:%d: DOCTYPE/entity declarations are not allowed in domain XML (refused for safety)",
                  name, line);
      return FALSE;
    }
    if (left >= 4 && strncmp(p, "<!--", 4) == 0) {
      const char *e = g_strstr_len(p + 4, (gssize) (left - 4), "-->");
      if (e == NULL)
        break; /* libxml2 reports it */
      p = e + 3;
    } else {
      p++;
    }
  }
  return TRUE;
}

static void
guess_style(IcDomainDoc *doc)
{
  guint singles = 0, doubles = 0;
  for (guint i = 0; i < doc->spans->len; i++) {
    char q = g_array_index(doc->spans, IcSpan, i).quote;
    singles += q == '\'';
    doubles += q == '"';
  }
  doc->quote = doubles > singles ? '"' : '\''; /* libvirt writes single quotes */
  guint crlf = 0, lf = 0;
  const char *end = doc->text + doc->len;
  for (const char *p = doc->text; p < end && (p = memchr(p, '\n', (gsize) (end - p))) != NULL; p++)
    (p > doc->text && p[-1] == '\r') ? crlf++ : lf++;
  doc->eol = crlf > lf ? "\r\n" : "\n";
  g_strlcpy(doc->indent_unit, "  ", sizeof doc->indent_unit);
  /* unit = indent of the root's first child minus the root's own indent */
  if (doc->spans->len < 2)
    return;
  const IcSpan *child = &g_array_index(doc->spans, IcSpan, 1);
  gsize k = child->start;
  while (k > 0 && (doc->text[k - 1] == ' ' || doc->text[k - 1] == '\t'))
    k--;
  if (k > 0 && doc->text[k - 1] == '\n') {
    gsize w = child->start - k;
    if (w > 0 && w < sizeof doc->indent_unit) {
      /* not g_strlcpy: it would strlen the rest of the document */
      memcpy(doc->indent_unit, doc->text + k, w);
      doc->indent_unit[w] = '\0';
    }
  }
}

/* ---- libxml2's messages ------------------------------------------------------ */

/* XML_PARSE_NOERROR silences the parser's own error channel only: libxml2
 * 2.9 still prints some errors ("xmlSAX2Characters: huge text node" goes to
 * the validity channel, encoding failures to the generic one) on stderr.
 * Every channel is pointed at a capture for the duration of one parse: the
 * context's structured handler (sax->serror, no global state), and, for what
 * does not go through the context, the thread's structured and generic
 * handlers, saved and restored around the parse.  The first error becomes
 * iommuctl's own error with FILE:LINE; the follow-ups it causes ("Extra
 * content at the end of the document") are dropped. */
typedef struct {
  char *message;  /* first error, or NULL */
  int line;
  GString *generic; /* the generic channel's text: it may come in pieces */
  xmlStructuredErrorFunc old_structured;
  void *old_structured_ctx;
  xmlGenericErrorFunc old_generic;
  void *old_generic_ctx;
} XmlCapture;

#if LIBXML_VERSION >= 21200
#define IC_XML_ERROR const xmlError *
#else
#define IC_XML_ERROR xmlErrorPtr
#endif

static void
capture_note(XmlCapture *cap, const char *message, int line)
{
  if (cap == NULL || cap->message != NULL || message == NULL)
    return;
  cap->message = g_strchomp(g_strdup(message));
  cap->line = line;
}

static void
capture_structured(void *data, IC_XML_ERROR err)
{
  if (err == NULL || err->level < XML_ERR_ERROR)
    return;
  capture_note(data, err->message, err->line);
}

/* sax->serror is called with the parser context as data */
static void
capture_from_context(void *data, IC_XML_ERROR err)
{
  xmlParserCtxtPtr ctxt = data;
  capture_structured(ctxt != NULL ? ctxt->_private : NULL, err);
}

static void
capture_generic(void *data, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void
capture_generic(void *data, const char *fmt, ...)
{
  XmlCapture *cap = data;
  va_list ap;
  va_start(ap, fmt);
  if (cap->generic == NULL)
    cap->generic = g_string_new(NULL);
  if (cap->generic->len < 4096)
    g_string_append_vprintf(cap->generic, fmt, ap);
  va_end(ap);
  const char *nl = strchr(cap->generic->str, '\n');
  if (nl != NULL) { /* a whole line: the first one is the message */
    g_autofree char *line = g_strndup(cap->generic->str, (gsize) (nl - cap->generic->str));
    capture_note(cap, line, 0);
  }
}

static void
capture_begin(XmlCapture *cap, xmlParserCtxtPtr ctxt)
{
  ctxt->_private = cap;
  if (ctxt->sax != NULL)
    ctxt->sax->serror = capture_from_context;
  cap->old_structured = xmlStructuredError;
  cap->old_structured_ctx = xmlStructuredErrorContext;
  cap->old_generic = xmlGenericError;
  cap->old_generic_ctx = xmlGenericErrorContext;
  xmlSetStructuredErrorFunc(cap, capture_structured);
  xmlSetGenericErrorFunc(cap, capture_generic);
}

static void
capture_end(XmlCapture *cap)
{
  xmlSetStructuredErrorFunc(cap->old_structured_ctx, cap->old_structured);
  xmlSetGenericErrorFunc(cap->old_generic_ctx, cap->old_generic);
  if (cap->generic != NULL) /* a piece without a newline */
    capture_note(cap, cap->generic->str, 0);
}

static void
capture_clear(XmlCapture *cap)
{
  g_clear_pointer(&cap->message, g_free);
  if (cap->generic != NULL)
    g_string_free(g_steal_pointer(&cap->generic), TRUE);
}

/* "FILE:LINE: message", control characters in libxml2's text escaped (it
 * quotes names from the input) */
static void
capture_to_error(const XmlCapture *cap, const xmlError *last, const char *name, GError **error)
{
  const char *msg = cap->message != NULL ? cap->message : last != NULL ? last->message : NULL;
  int line = cap->message != NULL ? cap->line : last != NULL ? last->line : 0;
  if (line == 0 && last != NULL) /* the generic channel has no line: where the parser stopped */
    line = last->line;
  g_autofree char *text = g_strchomp(g_strdup(msg != NULL ? msg : "not well-formed XML"));
  g_autofree char *shown = ic_escape_control(text);
  g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s:%d: %s", name, line, shown);
}

/* Parse text (owned by doc already) into doc->xml, spans and view. */
static gboolean
doc_load_text(IcDomainDoc *doc, GError **error)
{
  const char *name = doc->filename != NULL ? doc->filename : "<input>";
  if (!precheck(doc->text, doc->len, name, error))
    return FALSE;
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (ctxt == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "%s: out of memory creating the XML parser", name);
    return FALSE;
  }
  /* COMPACT: short text nodes (the indentation between elements) live inside
   * their node, one malloc and free fewer each: ~10% of the parse (bench/lint) */
  int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | XML_PARSE_COMPACT;
#ifdef XML_PARSE_NO_XXE
  options |= XML_PARSE_NO_XXE;
#endif
  /* Deliberately absent: NOENT, DTDLOAD, DTDATTR, HUGE, XINCLUDE, RECOVER. */
  XmlCapture cap = {0};
  capture_begin(&cap, ctxt);
  xmlDocPtr xml = xmlCtxtReadMemory(ctxt, doc->text, (int) doc->len, doc->filename, NULL, options);
  capture_end(&cap);
  if (xml == NULL) {
    capture_to_error(&cap, xmlCtxtGetLastError(ctxt), name, error);
    capture_clear(&cap);
    xmlFreeParserCtxt(ctxt);
    return FALSE;
  }
  capture_clear(&cap);
  xmlFreeParserCtxt(ctxt);
  if (xml->intSubset != NULL || xml->extSubset != NULL) {
    xmlFreeDoc(xml);
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: DOCTYPE is not allowed in domain XML", name);
    return FALSE;
  }
  GArray *spans = g_array_new(FALSE, TRUE, sizeof(IcSpan));
  guint next = 0;
  if (!scan_spans(doc->text, doc->len, spans) || !attach_spans(xml->children, spans, &next) ||
      next != spans->len) {
    g_array_unref(spans);
    xmlFreeDoc(xml);
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: cannot locate the elements in the text", name);
    return FALSE;
  }
  IcDomainDoc fresh = *doc;
  fresh.xml = xml;
  fresh.spans = spans;
  guess_style(&fresh);
  fresh.def = ic_domain_def_build(&fresh, error);
  if (fresh.def == NULL) {
    g_array_unref(spans);
    xmlFreeDoc(xml);
    return FALSE;
  }
  if (doc->def != NULL)
    ic_domain_def_free(doc->def);
  if (doc->xml != NULL)
    xmlFreeDoc(doc->xml);
  if (doc->spans != NULL)
    g_array_unref(doc->spans);
  *doc = fresh;
  return TRUE;
}

/* text: NUL-terminated, len bytes, owned by the new document (freed on failure). */
static IcDomainDoc *
doc_parse_take(char *text, gsize len, const char *filename, GError **error)
{
  if (len > IC_DOMAIN_MAX_BYTES) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: %" G_GSIZE_FORMAT " bytes is over the %u-byte limit for domain XML",
                filename != NULL ? filename : "<input>", len, IC_DOMAIN_MAX_BYTES);
    g_free(text);
    return NULL;
  }
  IcDomainDoc *doc = g_new0(IcDomainDoc, 1);
  doc->filename = g_strdup(filename);
  doc->text = text;
  doc->len = len;
  if (!doc_load_text(doc, error)) {
    ic_domain_doc_free(doc);
    return NULL;
  }
  return doc;
}

IcDomainDoc *
ic_domain_doc_parse(const char *data, gsize len, const char *filename, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  if (len > IC_DOMAIN_MAX_BYTES)
    return doc_parse_take(NULL, len, filename, error);
  char *text = g_malloc(len + 1);
  if (len > 0)
    memcpy(text, data, len);
  text[len] = '\0';
  return doc_parse_take(text, len, filename, error);
}

IcDomainDoc *
ic_domain_doc_load(const char *path, GError **error)
{
  char *data = NULL;
  gsize len = 0;
  if (!ic_read_file(path, IC_DOMAIN_MAX_BYTES, &data, &len, error))
    return NULL;
  /* ic_read_file's buffer is NUL-terminated: the document takes it, no copy */
  return doc_parse_take(data, len, path, error);
}

void
ic_domain_doc_free(IcDomainDoc *doc)
{
  if (doc == NULL)
    return;
  if (doc->def != NULL)
    ic_domain_def_free(doc->def);
  if (doc->xml != NULL)
    xmlFreeDoc(doc->xml);
  if (doc->spans != NULL)
    g_array_unref(doc->spans);
  g_free(doc->text);
  g_free(doc->filename);
  g_free(doc);
}

const IcDomainDef *
ic_domain_doc_def(const IcDomainDoc *doc)
{
  return doc->def;
}

xmlDocPtr
ic_domain_doc_xml(const IcDomainDoc *doc)
{
  return doc->xml;
}

const char *
ic_domain_doc_filename(const IcDomainDoc *doc)
{
  return doc->filename;
}

const char *
ic_domain_doc_bytes(const IcDomainDoc *doc, gsize *len)
{
  if (len != NULL)
    *len = doc->len;
  return doc->text;
}

gboolean
ic_domain_doc_changed(const IcDomainDoc *doc)
{
  return doc->changed;
}

char
ic_domain_doc_quote(const IcDomainDoc *doc)
{
  return doc->quote;
}

char
ic_domain_quote_near(const IcDomainDoc *doc, xmlNodePtr node)
{
  const IcSpan *s = node != NULL ? ic_domain_span(doc, node) : NULL;
  if (s != NULL && s->quote != 0)
    return s->quote;
  xmlNodePtr last = NULL;
  for (xmlNodePtr c = node != NULL ? node->children : NULL; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE)
      last = c;
  s = last != NULL ? ic_domain_span(doc, last) : NULL;
  if (s != NULL && s->quote != 0)
    return s->quote;
  return doc->quote;
}

gboolean
ic_domain_doc_write(const IcDomainDoc *doc, const char *path, gboolean backup, GError **error)
{
  /* temp file with the original's owner, mode and xattrs, symlinks
   * followed, hard links refused, FILE.bak replaced rather than written
   * through: src/util/safe-write.c */
  IcSafeEditOptions opts = {.backup = backup};
  return ic_safe_write_file(path, doc->text, doc->len, &opts, error);
}

/* ---- splicing edits ------------------------------------------------------------ */

typedef struct {
  gsize offset;
  gsize remove;
  char *insert;
  guint seq;        /* keeps insertion order at equal offsets */
} IcSplice;

struct IcEditBatch {
  IcDomainDoc *doc;
  GArray *splices;
};

static void
splice_clear(gpointer p)
{
  g_free(((IcSplice *) p)->insert);
}

IcEditBatch *
ic_edit_batch_new(IcDomainDoc *doc)
{
  IcEditBatch *b = g_new0(IcEditBatch, 1);
  b->doc = doc;
  b->splices = g_array_new(FALSE, TRUE, sizeof(IcSplice));
  g_array_set_clear_func(b->splices, splice_clear);
  return b;
}

void
ic_edit_batch_free(IcEditBatch *b)
{
  if (b == NULL)
    return;
  g_array_unref(b->splices);
  g_free(b);
}

gboolean
ic_edit_batch_empty(const IcEditBatch *b)
{
  return b->splices->len == 0;
}

static void
add_splice(IcEditBatch *b, gsize offset, gsize remove, char *insert)
{
  IcSplice s = {.offset = offset, .remove = remove, .insert = insert, .seq = b->splices->len};
  g_array_append_val(b->splices, s);
}

/* Whitespace that starts the line the element is on, or NULL when something
 * else precedes it on its line. */
static char *
line_indent(const IcDomainDoc *doc, gsize pos)
{
  gsize k = pos;
  while (k > 0 && (doc->text[k - 1] == ' ' || doc->text[k - 1] == '\t'))
    k--;
  if (k > 0 && doc->text[k - 1] != '\n')
    return NULL;
  return g_strndup(doc->text + k, pos - k);
}

static char *
escape_attr(const char *value, char quote)
{
  GString *s = g_string_new(NULL);
  for (const char *p = value; *p != '\0'; p++) {
    switch (*p) {
    case '&': g_string_append(s, "&amp;"); break;
    case '<': g_string_append(s, "&lt;"); break;
    case '"': g_string_append(s, quote == '"' ? "&quot;" : "\""); break;
    case '\'': g_string_append(s, quote == '\'' ? "&apos;" : "'"); break;
    default: g_string_append_c(s, *p);
    }
  }
  return g_string_free(s, FALSE);
}

void
ic_edit_set_attr(IcEditBatch *b, xmlNodePtr el, const char *name, const char *value)
{
  IcDomainDoc *doc = b->doc;
  const IcSpan *s = ic_domain_span(doc, el);
  g_return_if_fail(s != NULL);
  const char *t = doc->text;
  gsize nlen = strlen(name);
  /* find name="..." inside the start tag */
  gsize j = s->start + 1;
  while (j < s->attrs_end && !is_space(t[j]))
    j++;
  while (j < s->attrs_end) {
    while (j < s->attrs_end && is_space(t[j]))
      j++;
    gsize name_start = j;
    while (j < s->attrs_end && t[j] != '=' && !is_space(t[j]))
      j++;
    gsize name_end = j;
    while (t[j] != '\'' && t[j] != '"')
      j++;
    char q = t[j];
    gsize v_start = j + 1;
    const char *e = memchr(t + v_start, q, s->attrs_end - v_start);
    gsize v_end = (gsize) (e - t);
    j = v_end + 1;
    if (name_end - name_start == nlen && strncmp(t + name_start, name, nlen) == 0) {
      add_splice(b, v_start, v_end - v_start, escape_attr(value, q));
      return;
    }
  }
  char q = s->quote != 0 ? s->quote : doc->quote;
  g_autofree char *esc = escape_attr(value, q);
  add_splice(b, s->attrs_end, 0, g_strdup_printf(" %s=%c%s%c", name, q, esc, q));
}

/* fragment lines re-indented: base + unit per two leading spaces. */
static char *
indent_fragment(const IcDomainDoc *doc, const char *fragment, const char *base, gboolean newline_between)
{
  g_auto(GStrv) lines = g_strsplit(fragment, "\n", -1);
  GString *out = g_string_new(NULL);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *l = lines[i];
    guint depth = 0;
    while (l[0] == ' ' && l[1] == ' ')
      l += 2, depth++;
    if (i > 0) {
      if (newline_between)
        g_string_append(out, doc->eol);
      g_string_append(out, base);
    }
    for (guint d = 0; d < depth && newline_between; d++)
      g_string_append(out, doc->indent_unit);
    g_string_append(out, l);
  }
  return g_string_free(out, FALSE);
}

static xmlNodePtr
last_element_child(xmlNodePtr parent)
{
  xmlNodePtr last = NULL;
  for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE)
      last = c;
  return last;
}

void
ic_edit_append_child(IcEditBatch *b, xmlNodePtr parent, const char *fragment)
{
  IcDomainDoc *doc = b->doc;
  const IcSpan *ps = ic_domain_span(doc, parent);
  g_return_if_fail(ps != NULL);
  g_autofree char *pindent = line_indent(doc, ps->start);
  xmlNodePtr last = last_element_child(parent);
  if (last != NULL) {
    const IcSpan *ls = ic_domain_span(doc, last);
    g_autofree char *cindent = line_indent(doc, ls->start);
    if (cindent == NULL) { /* siblings on one line: stay on that line */
      g_autofree char *frag = indent_fragment(doc, fragment, "", FALSE);
      add_splice(b, ls->end, 0, g_steal_pointer(&frag));
      return;
    }
    g_autofree char *frag = indent_fragment(doc, fragment, cindent, TRUE);
    add_splice(b, ls->end, 0, g_strconcat(doc->eol, cindent, frag, NULL));
    return;
  }
  if (pindent == NULL) { /* inline parent */
    g_autofree char *frag = indent_fragment(doc, fragment, "", FALSE);
    if (ps->empty)
      add_splice(b, ps->attrs_end, ps->stag_end - ps->attrs_end,
                 g_strdup_printf(">%s</%s>", frag, (const char *) parent->name));
    else
      add_splice(b, ps->etag_start, 0, g_steal_pointer(&frag));
    return;
  }
  g_autofree char *cindent = g_strconcat(pindent, doc->indent_unit, NULL);
  g_autofree char *frag = indent_fragment(doc, fragment, cindent, TRUE);
  g_autofree char *qname = ps->empty ? g_strndup(doc->text + ps->start + 1, ps->attrs_end - ps->start - 1) : NULL;
  if (ps->empty) {
    /* <x a='b'/> -> <x a='b'>\n  <child/>\n</x>; the element name is the
     * first token of the start tag (keeps a namespace prefix) */
    char *sp = qname;
    while (*sp != '\0' && !is_space(*sp))
      sp++;
    *sp = '\0';
    add_splice(b, ps->attrs_end, ps->stag_end - ps->attrs_end,
               g_strdup_printf(">%s%s%s%s%s</%s>", doc->eol, cindent, frag, doc->eol, pindent, qname));
    return;
  }
  gboolean blank = TRUE;
  for (gsize k = ps->stag_end; k < ps->etag_start; k++)
    blank = blank && is_space(doc->text[k]);
  if (blank && ps->etag_start == ps->stag_end)
    add_splice(b, ps->stag_end, 0, g_strdup_printf("%s%s%s%s%s", doc->eol, cindent, frag, doc->eol, pindent));
  else
    add_splice(b, ps->stag_end, 0, g_strdup_printf("%s%s%s", doc->eol, cindent, frag));
}

void
ic_edit_remove(IcEditBatch *b, xmlNodePtr el)
{
  IcDomainDoc *doc = b->doc;
  const IcSpan *s = ic_domain_span(doc, el);
  g_return_if_fail(s != NULL);
  gsize from = s->start;
  g_autofree char *ind = line_indent(doc, s->start);
  if (ind != NULL) {
    from = s->start - strlen(ind);
    /* take the line break before it too, so no blank line is left */
    if (from > 0 && doc->text[from - 1] == '\n') {
      from--;
      if (from > 0 && doc->text[from - 1] == '\r')
        from--;
    }
  }
  add_splice(b, from, s->end - from, g_strdup(""));
}

void
ic_edit_replace(IcEditBatch *b, xmlNodePtr el, const char *fragment)
{
  IcDomainDoc *doc = b->doc;
  const IcSpan *s = ic_domain_span(doc, el);
  g_return_if_fail(s != NULL);
  g_autofree char *ind = line_indent(doc, s->start);
  char *frag = indent_fragment(doc, fragment, ind != NULL ? ind : "", ind != NULL);
  add_splice(b, s->start, s->end - s->start, frag);
}

static gint
splice_cmp(gconstpointer a, gconstpointer b)
{
  const IcSplice *x = a, *y = b;
  if (x->offset != y->offset)
    return x->offset < y->offset ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

gboolean
ic_edit_batch_commit(IcEditBatch *b, GError **error)
{
  IcDomainDoc *doc = b->doc;
  if (b->splices->len == 0)
    return TRUE;
  g_array_sort(b->splices, splice_cmp);
  GString *out = g_string_sized_new(doc->len + 256);
  gsize pos = 0;
  for (guint i = 0; i < b->splices->len; i++) {
    const IcSplice *s = &g_array_index(b->splices, IcSplice, i);
    if (s->offset < pos) {
      g_string_free(out, TRUE);
      g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "%s: internal error: overlapping edits",
                  doc->filename != NULL ? doc->filename : "<input>");
      return FALSE;
    }
    g_string_append_len(out, doc->text + pos, (gssize) (s->offset - pos));
    g_string_append(out, s->insert);
    pos = s->offset + s->remove;
  }
  g_string_append_len(out, doc->text + pos, (gssize) (doc->len - pos));
  if (out->len > IC_DOMAIN_MAX_BYTES) {
    /* not an internal error: the input was simply too close to the limit */
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE,
                "%s: the edit would make the document %" G_GSIZE_FORMAT " bytes, over the %u-byte limit for "
                "domain XML; nothing was changed", doc->filename != NULL ? doc->filename : "<input>", out->len,
                IC_DOMAIN_MAX_BYTES);
    g_string_free(out, TRUE);
    return FALSE;
  }
  char *old_text = doc->text;
  gsize old_len = doc->len;
  doc->len = out->len;
  doc->text = g_string_free(out, FALSE);
  if (!doc_load_text(doc, error)) {
    g_free(doc->text);
    doc->text = old_text;
    doc->len = old_len;
    g_prefix_error(error, "internal error: edited XML does not parse: ");
    return FALSE;
  }
  g_free(old_text);
  doc->changed = TRUE;
  g_array_set_size(b->splices, 0);
  return TRUE;
}
