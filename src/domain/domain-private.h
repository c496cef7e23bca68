/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by the domain module's files. */
#pragma once

#include <iommuctl/domain.h>
#include <iommuctl/domain-edit.h>
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

/* domain-def.c */
IcDomainDef *ic_domain_def_build(IcDomainDoc *doc, GError **error);
void ic_domain_def_free(IcDomainDef *def);
IcTristate ic_tristate_parse(const char *text);
/* Attribute value as a string owned by def (NULL when absent). */
xmlNodePtr ic_xml_child(xmlNodePtr parent, const char *name);

/* domain-lint.c: the one rule, shared by lint (QM002, QM006) and protect,
 * of whether QEMU starts a virtio device with iommu_platform=on. */
typedef enum {
  IC_IOMMU_PLATFORM_OK,           /* QEMU starts it with iommu_platform=on */
  IC_IOMMU_PLATFORM_SWITCH_MODEL, /* transitional as written; libvirt's model
                                     'virtio-non-transitional' makes it start */
  IC_IOMMU_PLATFORM_REFUSED,      /* QEMU refuses it and no model fixes that */
} IcIommuPlatform;

typedef struct {
  const char *code;    /* lint rule: QM002 or QM006 */
  const char *message; /* QEMU's own text */
  const char *hint;    /* the fix */
} IcIommuPlatformWhy;

IcIommuPlatform ic_domain_iommu_platform_check(const IcDomainDef *def, const IcDomainDevice *d,
                                               IcIommuPlatformWhy *why);
