#!/bin/sh
# lint agrees with upstream libvirt on its own IOMMU test cases (issue 13):
# every case of tests/domain/qemuxmlconfdata (copied as-is from libvirt's
# tests/qemuxmlconfdata, see its README.md) is linted with
# --libvirt-version 12.1, the version of those files; a libvirt error from
# lint <=> upstream refuses the case (.err), with upstream's text.  QEMU's own
# refusals (lint's origin "qemu") are checked too: exactly the rules
# verdicts.txt names, since libvirt's test only builds the argv.
set -u
: "${IOMMUCTL:?}" "${IOMMUCTL_SRCDIR:?}"
exec python3 - "$IOMMUCTL" "$IOMMUCTL_SRCDIR/tests/domain/qemuxmlconfdata" <<'PY'
import json, os, subprocess, sys
iommuctl, data = sys.argv[1], sys.argv[2]
n = fails = agree = 0
def tap(ok, what):
    global n, fails
    n += 1
    if not ok:
        fails += 1
    print(("ok" if ok else "not ok"), n, "-", what)
cases = []
for line in open(os.path.join(data, "verdicts.txt")):
    if line.startswith("#") or not line.strip():
        continue
    f, verdict, text, evidence, qemu = [x.strip() for x in line.split("|")]
    cases.append((f, verdict, text, qemu))
listed = {c[0] for c in cases}
on_disk = {f for f in os.listdir(data) if f.endswith(".xml")}
tap(listed == on_disk, "verdicts.txt lists every case file (missing: %s, extra: %s)" %
    (sorted(on_disk - listed), sorted(listed - on_disk)))
for f, verdict, text, qemu in cases:
    r = subprocess.run([iommuctl, "domain", "lint", "--libvirt-version", "12.1", "--json", os.path.join(data, f)],
                       capture_output=True, text=True)
    try:
        found = json.loads(r.stdout)["files"][0]["findings"]
    except (ValueError, KeyError, IndexError):
        tap(False, f"{f}: no JSON from lint (exit {r.returncode}): {r.stderr.strip()}")
        continue
    errors = [x for x in found if x["severity"] == "error"]
    lv = [x for x in errors if x["origin"].startswith("libvirt")]
    qm = sorted({x["code"] for x in errors if x["origin"] == "qemu"})
    want_qm = [] if qemu == "-" else qemu.split(",")
    if verdict == "accept":
        ok = not lv
        tap(ok, f"{f}: libvirt accepts it, lint has no libvirt error" +
            ("" if ok else ": " + "; ".join(x["code"] + " " + x["message"] for x in lv)))
    else:
        ok = any(x["message"] == text for x in lv)
        tap(ok, f"{f}: libvirt refuses it with \"{text}\"" +
            ("" if ok else "; lint: " + ("; ".join(x["code"] + " " + x["message"] for x in lv) or "no libvirt error")))
    agree += ok
    tap(qm == want_qm, f"{f}: QEMU's refusals {want_qm or 'none'} (lint: {qm or 'none'})")
print(f"# lint agrees with upstream libvirt on {agree} of {len(cases)} cases")
print(f"1..{n}")
sys.exit(1 if fails else 0)
PY
