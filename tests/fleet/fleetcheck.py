# SPDX-License-Identifier: LGPL-2.1-or-later
"""What every fleet test script shares: the binary under test, the captured
fixture tree, check() that records a failure, run() of iommuctl."""
import os
import subprocess

IOMMUCTL = os.environ["IOMMUCTL"]
SRC = os.environ["IOMMUCTL_SRCDIR"]
FIXTURE = os.path.join(SRC, "tests", "fixtures", "host-guest-intel-pxb")
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def run(*args, timeout=120):
    """iommuctl ARGS: (exit status, stdout, stderr)."""
    p = subprocess.run([IOMMUCTL, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr
