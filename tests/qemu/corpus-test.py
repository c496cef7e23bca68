#!/usr/bin/env python3
"""Oracle suite (TAP): the whole virt-install corpus gets libvirt's own argv.

tests/domain/corpus/virt-install*/ holds the domains real `virt-install
--print-xml` made over a matrix of its options (see gen-virt-install.py
there).  `iommuctl domain qemu-args` converts all of them in ONE process (one
engine connection, as an operator's script would), and each file's command
line must equal real libvirt 9.0's (tests/lib/libvirt-oracle argv, the
privileged daemon) line for line, after the masking oracle.py documents.  The
corpus has no iommuctl metadata, so no documented addition applies: any
difference is a failure.  The hostdev domains name devices this host does not
have, so the host's IOMMU groups are not consulted (--no-groups).
"""
import glob, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oracle as o  # noqa: E402  (tap, mask, tcg, the engine's state dir)

CORPUS = os.path.join(o.SRC, "tests", "domain", "corpus")


def split_by_file(stdout):
    """qemu-args prints '# FILE' before each file's command line."""
    out, cur = {}, None
    for line in stdout.splitlines():
        if line.startswith("# "):
            cur = line[2:]
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return out


def main():
    files = sorted(glob.glob(os.path.join(CORPUS, "virt-install", "*.xml")) +
                   glob.glob(os.path.join(CORPUS, "virt-install-hostdev", "*.xml")))
    r = subprocess.run([o.LIBVIRT_ARGV[0], "start"], capture_output=True, text=True)
    if r.returncode != 0:
        print("1..1\nnot ok 1 - the libvirt oracle did not start: " + r.stderr.strip().replace("\n", " "))
        return 1
    print(f"1..{len(files) + 1}")
    used = [o.tcg(f) for f in files]
    mine = subprocess.run([o.IOMMUCTL, "domain", "qemu-args", "--no-groups", *used], capture_output=True, text=True)
    per_file = split_by_file(mine.stdout)
    made = sum(1 for f in used if per_file.get(f))
    o.tap(mine.returncode == 0 and made == len(files),
          f"qemu-args made an argv for {made} of {len(files)} corpus domains in one process",
          f"rc {mine.returncode}: {mine.stderr.strip()[-2000:]}")
    for src, use in zip(files, used):
        name = os.path.relpath(src, CORPUS)
        theirs = subprocess.run(o.LIBVIRT_ARGV + [use], capture_output=True, text=True)
        a = [o.mask(line) for line in per_file.get(use, [])]
        b = theirs.stdout.splitlines()
        diffs = [f"iommuctl: {x}\nlibvirt:  {y}" for x, y in zip(a, b) if x != y]
        if len(a) != len(b):
            diffs.append(f"{len(a)} lines vs {len(b)}: " + "; ".join(sorted(set(a) ^ set(b))))
        if theirs.returncode != 0:
            diffs.append(f"libvirt (rc {theirs.returncode}): {theirs.stderr.strip()}")
        o.tap(not diffs and bool(a), f"{name}: qemu-args is libvirt 9.0's own argv ({len(a)} lines)", "\n".join(diffs[:6]))
    return 1 if o.failures else 0


if __name__ == "__main__":
    sys.exit(main())
