/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Config-space parser of the host inventory on arbitrary bytes. */
#include "host/host-private.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  IcPciDevice dev = {0};
  dev.notes = g_ptr_array_new_with_free_func(g_free);
  dev.pcie_type = IC_PCIE_NONE;
  ic_host_parse_config(&dev, data, size > 4096 ? 4096 : size);
  g_ptr_array_unref(dev.notes);
  return 0;
}
