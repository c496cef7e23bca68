/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One error domain for the whole library.  The code decides the CLI's exit
 * status (see ic_error_exit_status()), so pick it for what the caller should
 * do, not for where the error happened. */
#define IC_ERROR (ic_error_quark())
GQuark ic_error_quark(void);

typedef enum {
  IC_ERROR_FAILED,       /* generic operational failure               -> 3 */
  IC_ERROR_INVALID_ARG,  /* bad user input: address, option, value    -> 2 */
  IC_ERROR_PARSE,        /* malformed input file (XML, JSON, fixture) -> 2 */
  IC_ERROR_NOT_FOUND,    /* device, group, file that should exist     -> 2 */
  IC_ERROR_IO,           /* read/write of a host or state file failed -> 3 */
  IC_ERROR_PERMISSION,   /* not root, read-only sysfs                 -> 3 */
  IC_ERROR_UNSUPPORTED,  /* host/QEMU/libvirt lacks what is needed    -> 3 */
  IC_ERROR_BLOCKED,      /* refused for safety (host in use, split)   -> 1 */
  IC_ERROR_TIMEOUT,      /* a bounded wait expired                    -> 3 */
  IC_ERROR_BUSY,         /* another operation holds the lock          -> 3 */
  IC_ERROR_CONFLICT,     /* inputs contradict each other (policy)     -> 2 */
} IcErrorCode;

/* Exit status conventions shared by every command:
 * 0 success, 1 negative result (check FAIL, plan blocked, lint errors,
 * --check would change), 2 invalid input, 3 operational failure. */
enum {
  IC_EXIT_OK = 0,
  IC_EXIT_NEGATIVE = 1,
  IC_EXIT_USAGE = 2,
  IC_EXIT_FAILURE = 3,
};

int ic_error_exit_status(const GError *error);

G_END_DECLS
