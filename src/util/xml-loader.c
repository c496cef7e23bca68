/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libxml2, loaded on first use instead of at every start of iommuctl.
 *
 * Only the domain, QEMU and policy code reads or writes XML, but linking
 * libxml2 made every command map and relocate it and what Debian builds it
 * with (ICU's libicuuc + libicudata, libstdc++, liblzma): about 4 of the
 * 9 million instructions of `iommuctl --version`, and 6 of its 24
 * libraries, paid twice per detach + reattach cycle (bench/assign-cycle).
 *
 * The callers keep calling libxml2 by its own names through its own
 * headers: this file forwards each function the library uses (see
 * lazy-lib.h).  A libxml2 call not listed here fails to link ("undefined
 * reference to xmlFoo"): add it to IC_XML_FUNCS.  libxml2 is
 * still a hard dependency (packages must depend on it, the linker no
 * longer records it); a process that cannot load it stops with a message
 * at its first XML call, as the dynamic loader would have at its start. */
#include "util/lazy-lib.h"

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlstring.h>

#define IC_XML_SONAME "libxml2.so.2"

/* X(return type, name, (parameters), (arguments)) for functions returning a
 * value, V(...) for void ones. */
#define IC_XML_FUNCS(X, V)                                                                        \
  X(xmlNodePtr, xmlAddChild, (xmlNodePtr parent, xmlNodePtr cur), (parent, cur))                  \
  X(xmlNodePtr, xmlAddPrevSibling, (xmlNodePtr cur, xmlNodePtr elem), (cur, elem))                \
  X(const xmlChar *, xmlBufferContent, (const xmlBuffer *buf), (buf))                             \
  X(xmlBufferPtr, xmlBufferCreate, (void), ())                                                    \
  V(xmlBufferFree, (xmlBufferPtr buf), (buf))                                                     \
  X(xmlErrorPtr, xmlCtxtGetLastError, (void *ctx), (ctx))                                         \
  X(xmlDocPtr, xmlCtxtReadMemory,                                                                 \
    (xmlParserCtxtPtr ctxt, const char *buffer, int size, const char *URL, const char *encoding,  \
     int options),                                                                                \
    (ctxt, buffer, size, URL, encoding, options))                                                 \
  X(xmlDocPtr, xmlCopyDoc, (xmlDocPtr doc, int recursive), (doc, recursive))                     \
  V(xmlDocDumpMemoryEnc, (xmlDocPtr out_doc, xmlChar **doc_txt_ptr, int *doc_txt_len,             \
                          const char *txt_encoding),                                              \
    (out_doc, doc_txt_ptr, doc_txt_len, txt_encoding))                                            \
  X(xmlNodePtr, xmlDocGetRootElement, (const xmlDoc *doc), (doc))                                 \
  X(xmlNodePtr, xmlDocSetRootElement, (xmlDocPtr doc, xmlNodePtr root), (doc, root))              \
  V(xmlFreeDoc, (xmlDocPtr cur), (cur))                                                           \
  V(xmlFreeNode, (xmlNodePtr cur), (cur))                                                         \
  V(xmlFreeParserCtxt, (xmlParserCtxtPtr ctxt), (ctxt))                                           \
  X(long, xmlGetLineNo, (const xmlNode *node), (node))                                            \
  X(xmlChar *, xmlGetNoNsProp, (const xmlNode *node, const xmlChar *name), (node, name))          \
  X(xmlAttrPtr, xmlHasNsProp, (const xmlNode *node, const xmlChar *name, const xmlChar *ns),     \
    (node, name, ns))                                                                             \
  X(xmlChar *, xmlGetProp, (const xmlNode *node, const xmlChar *name), (node, name))              \
  X(xmlNodePtr, xmlNewChild,                                                                      \
    (xmlNodePtr parent, xmlNsPtr ns, const xmlChar *name, const xmlChar *content),                \
    (parent, ns, name, content))                                                                  \
  X(xmlDocPtr, xmlNewDoc, (const xmlChar *version), (version))                                    \
  X(xmlNodePtr, xmlNewNode, (xmlNsPtr ns, const xmlChar *name), (ns, name))                       \
  X(xmlParserCtxtPtr, xmlNewParserCtxt, (void), ())                                               \
  X(xmlAttrPtr, xmlNewProp, (xmlNodePtr node, const xmlChar *name, const xmlChar *value),         \
    (node, name, value))                                                                          \
  X(xmlNodePtr, xmlNewTextChild,                                                                  \
    (xmlNodePtr parent, xmlNsPtr ns, const xmlChar *name, const xmlChar *content),                \
    (parent, ns, name, content))                                                                  \
  X(int, xmlNodeDump, (xmlBufferPtr buf, xmlDocPtr doc, xmlNodePtr cur, int level, int format),   \
    (buf, doc, cur, level, format))                                                               \
  V(xmlNodeAddContent, (xmlNodePtr cur, const xmlChar *content), (cur, content))                  \
  V(xmlNodeSetContent, (xmlNodePtr cur, const xmlChar *content), (cur, content))                  \
  X(xmlChar *, xmlNodeGetContent, (const xmlNode *cur), (cur))                                    \
  X(xmlDocPtr, xmlReadMemory,                                                                     \
    (const char *buffer, int size, const char *URL, const char *encoding, int options),           \
    (buffer, size, URL, encoding, options))                                                       \
  X(xmlNsPtr, xmlSearchNs, (xmlDocPtr doc, xmlNodePtr node, const xmlChar *nameSpace),            \
    (doc, node, nameSpace))                                                                       \
  X(xmlNsPtr, xmlSearchNsByHref, (xmlDocPtr doc, xmlNodePtr node, const xmlChar *href),           \
    (doc, node, href))                                                                            \
  X(xmlAttrPtr, xmlSetProp, (xmlNodePtr node, const xmlChar *name, const xmlChar *value),         \
    (node, name, value))                                                                          \
  V(xmlSetGenericErrorFunc, (void *ctx, xmlGenericErrorFunc handler), (ctx, handler))             \
  V(xmlSetStructuredErrorFunc, (void *ctx, xmlStructuredErrorFunc handler), (ctx, handler))       \
  V(xmlUnlinkNode, (xmlNodePtr cur), (cur))                                                       \
  X(int, xmlStrEqual, (const xmlChar *str1, const xmlChar *str2), (str1, str2))                   \
  X(int, xmlStrcmp, (const xmlChar *str1, const xmlChar *str2), (str1, str2))                     \
  /* behind the xmlGenericError / xmlStructuredError macros (per-thread state) */                 \
  X(xmlGenericErrorFunc *, __xmlGenericError, (void), ())                                         \
  X(void **, __xmlGenericErrorContext, (void), ())                                                \
  X(xmlStructuredErrorFunc *, __xmlStructuredError, (void), ())                                   \
  X(void **, __xmlStructuredErrorContext, (void), ())

enum { IC_XML_FUNCS(IC_LAZY_SLOT, IC_LAZY_SLOT_V) IC_LAZY_xmlFree, IC_XML_N };

static const char *const xml_names[IC_XML_N] = {IC_XML_FUNCS(IC_LAZY_NAME, IC_LAZY_NAME_V) "xmlFree"};
IC_LAZY_LIB_DEFINE(xml_lib, IC_XML_SONAME, "libxml2", xml_names, IC_XML_N);

#define IC_LAZY_LIB xml_lib
IC_XML_FUNCS(IC_LAZY_FORWARD, IC_LAZY_FORWARD_V)

/* xmlFree is a variable (the deallocator libxml2 was configured with); ours
 * calls libxml2's, whatever it is. */
static void
forward_free(void *mem)
{
  (*(xmlFreeFunc *) ic_lazy_lib_sym(&xml_lib, IC_LAZY_xmlFree))(mem);
}

xmlFreeFunc xmlFree = forward_free;
