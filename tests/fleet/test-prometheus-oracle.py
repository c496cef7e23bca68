#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`export prometheus` checked by real `promtool check metrics` (Debian's
prometheus package), plus what node_exporter's textfile collector enforces
and promtool does not: no timestamps, unique series, LF line ends and a final
newline, and an atomic write that never leaves a *.prom temp file.

Fails naming the package when promtool is missing, unless
IOMMUCTL_ALLOW_SKIP=1 (then exit 77 = skipped)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleetcheck import IOMMUCTL, FIXTURE, failures, check  # noqa: E402


def promtool(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


def main():
    if shutil.which("promtool") is None:
        print("promtool is missing: install Debian's prometheus (.ci/packages.d/test-fleet.txt)", file=sys.stderr)
        return 77 if os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1" else 1
    rc, err = promtool("bad-name 1\n")
    check(rc == 1, "control: promtool refuses a bad metric name")
    rc, err = promtool("# HELP x_total X.\n# TYPE x_total gauge\nx_total 1\n")
    check(rc == 3, "control: promtool lints a gauge named _total")

    with tempfile.TemporaryDirectory() as state, tempfile.TemporaryDirectory() as textdir:
        p = subprocess.run([IOMMUCTL, "export", "prometheus", "--sysfs-root", FIXTURE, "--state-dir", state],
                           capture_output=True, text=True, timeout=60)
        text = p.stdout
        check(p.returncode == 0 and text, "export prometheus exits 0")
        rc, err = promtool(text)
        check(rc == 0 and err.strip() == "", "promtool check metrics: clean (%d %s)" % (rc, err.strip()))
        check(text.endswith("\n") and "\r" not in text, "LF line ends and a final newline")
        samples = [line for line in text.splitlines() if line and not line.startswith("#")]
        check(all(re.fullmatch(r'[a-z_]+(\{[^}]*\})? -?[0-9.e+]+', s) for s in samples),
              "every sample is NAME{labels} VALUE, no timestamp")
        series = [s.rsplit(" ", 1)[0] for s in samples]
        check(len(series) == len(set(series)), "no series twice")
        check(all(s.startswith("iommuctl_") for s in samples), "every metric carries the iommuctl_ prefix")
        check('iommuctl_iommu_groups{verdict="not-isolated"} 1' in text, "group 14 counted as not isolated")
        check('iommuctl_readiness_check{check="iommu-enabled",result="pass"} 1' in text, "readiness checks exported")

        p = subprocess.run([IOMMUCTL, "export", "prometheus", "--sysfs-root", FIXTURE, "--state-dir", state,
                            "--textfile", textdir], capture_output=True, text=True, timeout=60)
        names = os.listdir(textdir)
        check(p.returncode == 0 and names == ["iommuctl.prom"], "--textfile writes DIR/iommuctl.prom only: %s" % names)
        with open(os.path.join(textdir, "iommuctl.prom")) as f:
            check(f.read() == text, "the file holds the same metrics")
        p = subprocess.run([IOMMUCTL, "export", "prometheus", "--sysfs-root", FIXTURE, "--textfile",
                            os.path.join(textdir, "nope")], capture_output=True, text=True, timeout=60)
        check(p.returncode == 2 and "not a directory" in p.stderr, "a missing --textfile DIR is invalid input")
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
