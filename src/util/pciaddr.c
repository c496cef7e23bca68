/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl/pciaddr.h"
#include "iommuctl/error.h"

#include <stdio.h>
#include <string.h>

static gboolean
parse_hex_field(const char **p, char stop, guint max_digits, guint32 max, guint32 *out)
{
  guint32 v = 0;
  guint digits = 0;
  while (g_ascii_isxdigit(**p)) {
    if (++digits > max_digits)
      return FALSE;
    v = v * 16 + (guint32) g_ascii_xdigit_value(**p);
    (*p)++;
  }
  if (digits == 0 || v > max || **p != stop)
    return FALSE;
  if (stop != '\0')
    (*p)++;
  *out = v;
  return TRUE;
}

gboolean
ic_pci_addr_parse(const char *text, IcPciAddr *out, GError **error)
{
  g_autofree char *norm = NULL;
  if (text == NULL)
    text = "";
  if (g_str_has_prefix(text, "pci_")) {
    /* libvirt nodedev name pci_DDDD_BB_SS_F */
    norm = g_strdup(text + 4);
    char *u = norm;
    int n = 0;
    for (; *u; u++)
      if (*u == '_')
        *u = (++n == 3) ? '.' : ':';
  }
  const char *s = norm ? norm : text;
  guint colons = 0;
  for (const char *c = s; *c; c++)
    colons += *c == ':';

  guint32 dom = 0, bus, slot, fn;
  const char *p = s;
  gboolean ok = (colons == 1 || colons == 2) &&
                (colons == 1 || parse_hex_field(&p, ':', 8, 0xffffffffu, &dom)) &&
                parse_hex_field(&p, ':', 2, 0xff, &bus) &&
                parse_hex_field(&p, '.', 2, 0x1f, &slot) &&
                parse_hex_field(&p, '\0', 1, 7, &fn);
  if (!ok) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                "invalid PCI address '%s': expected DDDD:BB:SS.F (hex; slot <= 1f, function <= 7)", text);
    return FALSE;
  }
  out->domain = dom;
  out->bus = (guint8) bus;
  out->slot = (guint8) slot;
  out->function = (guint8) fn;
  return TRUE;
}

char *
ic_pci_addr_format(const IcPciAddr *a, char buf[IC_PCI_ADDR_STRLEN])
{
  /* %04x widens by itself for the 8-digit domains of VMD, as the kernel does */
  g_snprintf(buf, IC_PCI_ADDR_STRLEN, "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot, a->function);
  return buf;
}

char *
ic_pci_addr_to_string(const IcPciAddr *a)
{
  return g_strdup_printf("%04x:%02x:%02x.%x", a->domain, a->bus, a->slot, a->function);
}

int
ic_pci_addr_compare(const IcPciAddr *a, const IcPciAddr *b)
{
  if (a->domain != b->domain)
    return a->domain < b->domain ? -1 : 1;
  if (a->bus != b->bus)
    return a->bus < b->bus ? -1 : 1;
  if (a->slot != b->slot)
    return a->slot < b->slot ? -1 : 1;
  if (a->function != b->function)
    return a->function < b->function ? -1 : 1;
  return 0;
}

gboolean
ic_pci_addr_equal(const IcPciAddr *a, const IcPciAddr *b)
{
  return ic_pci_addr_compare(a, b) == 0;
}

guint
ic_pci_addr_hash(const IcPciAddr *a)
{
  return (a->domain * 31u) ^ ((guint) a->bus << 8) ^ ((guint) a->slot << 3) ^ a->function;
}
