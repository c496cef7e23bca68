/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Byte-preserving edits of a parsed domain document.
 *
 * Every domain-layer edit (protect, viommu, hostdev, ...) and the QEMU
 * layer's `domain bypass` go through this: edits are spliced into the
 * original text at the elements' byte offsets, so comments, unknown
 * elements, attribute order, quoting, indentation and line ends stay as
 * they were, and an untouched document re-serializes byte for byte. */
#pragma once

#include <iommuctl/domain.h>

G_BEGIN_DECLS

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

G_END_DECLS
