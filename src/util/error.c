/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl/error.h"

G_DEFINE_QUARK(iommuctl-error-quark, ic_error)

int
ic_error_exit_status(const GError *error)
{
  if (error == NULL)
    return IC_EXIT_OK;
  if (error->domain != IC_ERROR)
    return IC_EXIT_FAILURE;
  switch ((IcErrorCode) error->code) {
  case IC_ERROR_INVALID_ARG:
  case IC_ERROR_PARSE:
  case IC_ERROR_NOT_FOUND:
  case IC_ERROR_CONFLICT:
    return IC_EXIT_USAGE;
  case IC_ERROR_BLOCKED:
    return IC_EXIT_NEGATIVE;
  case IC_ERROR_FAILED:
  case IC_ERROR_IO:
  case IC_ERROR_PERMISSION:
  case IC_ERROR_UNSUPPORTED:
  case IC_ERROR_TIMEOUT:
  case IC_ERROR_BUSY:
  default:
    return IC_EXIT_FAILURE;
  }
}
