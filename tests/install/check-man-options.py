#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man pages agree with the binary's --help.

The verbs and their options are read from the built binary ($IOMMUCTL) at
test time: 'iommuctl help' lists the commands, 'iommuctl CMD --help' either
lists a group's verbs ("Verbs:") or a command's options.  So a verb or an
option another change adds shows up here as a failure that names it.

Each verb is documented in a subsection titled "iommuctl VERB" ("## iommuctl
VERB" in man/*.8.scd) of one page.  Every option its --help lists must
appear in that subsection or in the page's text outside the verb
subsections (options several verbs share), not counting NAME, SYNOPSIS,
EXAMPLES and SEE ALSO.  The options of every command and GLib's help
options belong in iommuctl(8).  A long option a verb's subsection names
that its --help-all does not list is stale and fails too.
"""
import os
import re
import subprocess
import sys

SKIP_SECTIONS = {"NAME", "SYNOPSIS", "EXAMPLES", "SEE ALSO"}
OPT_LINE = re.compile(r"^\s+(?:(-[A-Za-z0-9]), )?(--[A-Za-z0-9][\w-]*)")


def run(binary, *args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def help_list(text, header):
    """Names listed under HEADER; a header ending in "commands" also takes
    the other command groups of 'iommuctl help' ("Fleet commands (...):")."""
    names, on = [], False
    for line in text.splitlines():
        if line == header or (header == "Commands:" and re.match(r"^[A-Z][a-z]* commands\b.*:$", line)):
            on = True
            continue
        if on and not line.strip():
            on = False
            continue
        if on and re.match(r"^  [a-z]", line):
            names.append(line.split()[0])
    return names


def help_options(text, sections):
    """Options listed in the given option groups of GLib's help output."""
    opts, on = [], False
    for line in text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            on = line in sections
            continue
        m = OPT_LINE.match(line) if on else None
        if m:
            opts += [o for o in m.groups() if o]
    return opts


def verbs(binary):
    """[(words, help text)], e.g. (('domain', 'lint'), '...')."""
    rc, out, err = run(binary, "help")
    commands = help_list(out, "Commands:")
    if rc != 0 or not commands:
        raise SystemExit(f"Bail out! '{binary} help' listed no commands (rc {rc}): {err}")
    result = []
    for c in commands:
        _, out, _ = run(binary, c, "--help")
        subs = help_list(out, "Verbs:")
        if subs:
            for s in subs:
                _, sub_out, _ = run(binary, c, s, "--help")
                result.append(((c, s), sub_out))
        else:
            result.append(((c,), out))
    return result


def clean_roff(line):
    line = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", line)
    line = line.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    line = re.sub(r"\\\((..)", "", line)
    return line


class Page:
    """A built man page: its verb subsections and its shared text."""

    def __init__(self, name, path):
        self.name, self.path = name, path
        self.verb_text = {}     # "iommuctl detach" -> text
        self.shared = []        # lines outside verb subsections and SKIP_SECTIONS
        section, verb = None, None
        with open(path, encoding="utf-8") as f:
            for raw in f:
                raw = raw.rstrip("\n")
                if raw.startswith(".SH"):
                    section, verb = clean_roff(raw[3:]).strip().strip('"'), None
                    continue
                if raw.startswith(".SS"):
                    title = clean_roff(raw[3:]).strip().strip('"')
                    verb = title if title.startswith("iommuctl ") else None
                    if verb:
                        self.verb_text.setdefault(verb, [])
                    continue
                if raw.startswith(".") and not raw.startswith(".\\"):
                    continue  # a request; its arguments are layout
                line = clean_roff(raw)
                if verb:
                    self.verb_text[verb].append(line)
                elif section not in SKIP_SECTIONS:
                    self.shared.append(line)
        self.verb_text = {k: "\n".join(v) for k, v in self.verb_text.items()}
        self.shared = "\n".join(self.shared)

    @property
    def source(self):
        return f"man/{self.name}.scd"


def mentions(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


def main():
    binary = os.environ["IOMMUCTL"]
    builddir = os.environ["IOMMUCTL_BUILDDIR"]
    pages = []
    for name in os.environ.get("IC_MAN_PAGES", "").split():
        path = os.path.join(builddir, "man", name)
        if not os.path.exists(path):
            print(f"Bail out! {path} was not built (is scdoc installed? "
                  ".ci/packages.d/test-install.txt)")
            return 1
        pages.append(Page(name, path))
    main_page = next(p for p in pages if p.name.startswith("iommuctl."))

    results = []  # (description, [problems])

    # options of every command, and GLib's help options: iommuctl(8)
    _, out, _ = run(binary, "report", "--help-all")
    common = help_options(out, {"Options of every command:", "Help Options:"}) + ["--version"]
    problems = [f"option {o} (listed by 'iommuctl report --help-all') is missing from "
                f"{main_page.name} ({main_page.source}): document it in OPTIONS"
                for o in common if not mentions(main_page.shared, o)]
    results.append((f"{main_page.name} lists the {len(common)} options of every command", problems))

    for words, text in verbs(binary):
        verb = "iommuctl " + " ".join(words)
        home = [p for p in pages if verb in p.verb_text]
        if not home:
            results.append((f"'{verb}' has a man page", [
                f"'{verb}' is documented in no man page: add a '## {verb}' section "
                f"with its options to one of " + ", ".join(p.source for p in pages) +
                " (or to a new page man/iommuctl-GROUP.8.scd, added to ic_man_pages in man/meson.build)"]))
            continue
        page = home[0]
        scope = page.verb_text[verb] + "\n" + page.shared
        opts = help_options(text, {"Application Options:"})
        problems = [f"option {o} of '{verb}' (its --help lists it) is missing from {page.name} "
                    f"({page.source}, section '{verb}')" for o in opts if not mentions(scope, o)]
        # stale: long options named in the verb's own subsection it does not take
        _, all_text, _ = run(binary, *words, "--help-all")
        known = set(help_options(all_text, {"Application Options:", "Options of every command:",
                                            "Help Options:"}))
        known |= {"--help", "--version"}  # the program's own: iommuctl --help, --version
        named = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", page.verb_text[verb]))
        problems += [f"{page.name} ({page.source}, section '{verb}') names option {o}, which "
                     f"'{verb} --help-all' does not list" for o in sorted(named - known)]
        results.append((f"{page.name} documents the {len(opts)} options of '{verb}'", problems))

    print(f"1..{len(results)}")
    failed = 0
    for i, (desc, problems) in enumerate(results, 1):
        if problems:
            failed += 1
            print(f"not ok {i} - {desc}")
            for p in problems:
                print(f"#   {p}")
                print(p, file=sys.stderr)
        else:
            print(f"ok {i} - {desc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
