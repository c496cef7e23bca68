#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The exported API of libiommuctl.so is exactly what include/iommuctl/ declares.

Three sets must agree:
  declared  functions ic_* declared in the public headers (comments stripped)
            and defined in the library objects (static inline helpers and
            macros are not symbols)
  listed    the global: block of src/libiommuctl.sym (the linker version script)
  exported  the dynamic symbols libiommuctl.so defines

Usage: check-symbols.py SRCDIR INTERNAL_ARCHIVE SHARED_LIB   (TAP)
       check-symbols.py --update SRCDIR INTERNAL_ARCHIVE      rewrite the .sym file

A function added to a public header shows up here as "not listed"; add it to
src/libiommuctl.sym (or run --update) in the same commit, so that the API
change is visible in review.
"""
import glob
import os
import re
import subprocess
import sys

VERSION_NODE = "LIBIOMMUCTL_0"


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    # preprocessor lines (macros may call public functions; they declare nothing)
    return re.sub(r"^\s*#.*?(?<!\\)$", " ", text, flags=re.M | re.S)


def declared_names(srcdir):
    """name -> header file for every ic_* identifier followed by '('."""
    names = {}
    for header in sorted(glob.glob(os.path.join(srcdir, "include", "iommuctl", "*.h"))):
        with open(header, encoding="utf-8") as f:
            text = strip_comments(f.read())
        for name in re.findall(r"\b(ic_[a-z0-9_]+)\s*\(", text):
            names.setdefault(name, os.path.relpath(header, srcdir))
    return names


def defined_symbols(path, dynamic=False):
    cmd = ["nm", "--defined-only", "-g"] + (["-D"] if dynamic else []) + [path]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRWVi":
            syms.add(parts[2].split("@")[0])
    return syms


def listed_symbols(symfile):
    with open(symfile, encoding="utf-8") as f:
        text = strip_comments(f.read())
    m = re.search(r"global:(.*?)local:", text, flags=re.S)
    if not m:
        raise SystemExit(f"{symfile}: no 'global: ... local:' block")
    return {s.strip() for s in m.group(1).split(";") if s.strip()}


def public_api(srcdir, archive):
    declared = declared_names(srcdir)
    defined = defined_symbols(archive)
    return {n: h for n, h in declared.items() if n in defined}


def write_symfile(symfile, api):
    by_header = {}
    for name, header in api.items():
        by_header.setdefault(header, []).append(name)
    lines = [
        "/* SPDX-License-Identifier: LGPL-2.1-or-later */",
        "/* The ABI of libiommuctl.so.0: exactly the functions declared in",
        " * include/iommuctl/*.h.  Checked by tests/install/check-symbols.py, which",
        " * can also rewrite this file (--update).  Removing or changing a symbol",
        " * here is an ABI break: bump the soname. */",
        f"{VERSION_NODE} {{",
        "global:",
    ]
    for header in sorted(by_header):
        lines.append(f"  /* {header} */")
        lines.extend(f"  {n};" for n in sorted(by_header[header]))
    lines += ["local:", "  *;", "};", ""]
    with open(symfile, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv):
    if len(argv) >= 1 and argv[0] == "--update":
        srcdir, archive = argv[1:3]
        symfile = os.path.join(srcdir, "src", "libiommuctl.sym")
        write_symfile(symfile, public_api(srcdir, archive))
        print(f"wrote {symfile}")
        return 0
    srcdir, archive, shlib = argv[:3]
    symfile = os.path.join(srcdir, "src", "libiommuctl.sym")
    api = public_api(srcdir, archive)
    listed = listed_symbols(symfile)
    exported = {s for s in defined_symbols(shlib, dynamic=True) if not s.startswith("_")}
    checks = []

    missing = sorted(set(api) - listed)
    checks.append(("every public function is listed in src/libiommuctl.sym",
                   [f"{n} (declared in {api[n]}) is not listed in src/libiommuctl.sym; "
                    f"add it there" for n in missing]))
    extra = sorted(listed - set(api))
    checks.append(("src/libiommuctl.sym lists only public functions",
                   [f"{n} is listed in src/libiommuctl.sym but no header in include/iommuctl/ "
                    f"declares a function of that name that the library defines" for n in extra]))
    leaked = sorted(exported - listed)
    checks.append(("libiommuctl.so exports nothing beyond the list",
                   [f"{n} is exported by {os.path.basename(shlib)} but is not public API" for n in leaked]))
    absent = sorted(listed - exported)
    checks.append(("libiommuctl.so exports every listed function",
                   [f"{n} is listed but {os.path.basename(shlib)} does not export it" for n in absent]))
    undeclared = sorted(n for n in declared_names(srcdir) if n not in api)
    # Declared without a definition: a link error waiting for a user.  Not
    # an ABI problem of this library, so reported, not failed.
    for n in undeclared:
        print(f"# note: {n} is declared in a public header but defined nowhere")

    print(f"1..{len(checks)}")
    failed = 0
    for i, (name, problems) in enumerate(checks, 1):
        if problems:
            failed += 1
            print(f"not ok {i} - {name}")
            for p in problems:
                print(f"#   {p}")
        else:
            print(f"ok {i} - {name}")
    print(f"# {len(api)} public functions, {len(exported)} exported")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
