/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by the domain module's files. */
#pragma once

#include <iommuctl/domain.h>
#include <iommuctl/error.h>

/* Where an element sits in the text, so edits can be spliced into the
 * original bytes instead of re-serializing the whole tree. */
typedef struct {
  gsize start;      /* '<' of the start tag */
  gsize attrs_end;  /* just after the last attribute (or the name) */
  gsize stag_end;   /* just after the start tag's '>' */
  gsize etag_start; /* '<' of the end tag; == stag_end when self-closing */
  gsize end;        /* just after the end tag (== stag_end when self-closing) */
  gboolean empty;   /* <x/> */
  char quote;       /* quote of its first attribute, 0 when none */
  int line;
} IcSpan;

struct IcDomainDoc {
  char *filename;
  char *text;       /* current bytes, NUL-terminated */
  gsize len;
  gboolean changed;
  xmlDocPtr xml;
  GArray *spans;    /* IcSpan, in document (pre-)order; node->_private = index+1 */
  IcDomainDef *def;
  char indent_unit[16];
  char quote;       /* dominant attribute quote of the document */
  const char *eol;  /* "\n" or "\r\n", as the document's lines end */
};

/* domain-doc.c */
const IcSpan *ic_domain_span(const IcDomainDoc *doc, xmlNodePtr node);

/* A batch of splices against doc->text; applied together, then re-parsed. */
typedef struct IcEditBatch IcEditBatch;
IcEditBatch *ic_edit_batch_new(IcDomainDoc *doc);
void ic_edit_batch_free(IcEditBatch *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcEditBatch, ic_edit_batch_free)
gboolean ic_edit_batch_empty(const IcEditBatch *b);
/* Set (replace or add) attribute name on element. */
void ic_edit_set_attr(IcEditBatch *b, xmlNodePtr el, const char *name, const char *value);
/* Append a child element.  fragment is XML with "\n" between lines and two
 * spaces per nesting level; it is re-indented like the siblings. */
void ic_edit_append_child(IcEditBatch *b, xmlNodePtr parent, const char *fragment);
/* Remove an element (and the whitespace/line it stood on). */
void ic_edit_remove(IcEditBatch *b, xmlNodePtr el);
/* Replace an element's whole text by fragment (re-indented). */
void ic_edit_replace(IcEditBatch *b, xmlNodePtr el, const char *fragment);
/* Apply, re-parse, rebuild the view.  On failure doc is unchanged. */
gboolean ic_edit_batch_commit(IcEditBatch *b, GError **error);
/* The quote character new attributes should use. */
char ic_domain_doc_quote(const IcDomainDoc *doc);
/* The quote new attributes near node should use: node's own, else its last
 * child element's, else the document's. */
char ic_domain_quote_near(const IcDomainDoc *doc, xmlNodePtr node);

/* domain-def.c */
IcDomainDef *ic_domain_def_build(IcDomainDoc *doc, GError **error);
void ic_domain_def_free(IcDomainDef *def);
IcTristate ic_tristate_parse(const char *text);
/* Attribute value as a string owned by def (NULL when absent). */
xmlNodePtr ic_xml_child(xmlNodePtr parent, const char *name);
