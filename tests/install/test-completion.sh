#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed bash completion completes verbs, sub-verbs, options, option
# values, PCI addresses and IOMMU group numbers (from a fixture tree through
# IOMMUCTL_SYSFS_ROOT or --sysfs-root), driven the way bash drives it:
# COMP_WORDS split at bash's word breaks (':' and '=' included), COMP_CWORD,
# COMP_LINE, COMP_POINT; then COMPREPLY is what readline inserts.
. "$(dirname "$0")/lib.sh"
need bash
bc=/usr/share/bash-completion/bash_completion
if [ ! -f "$bc" ]; then
  need bash-completion-is-missing
fi
work=$(workdir completion)
dest=$work/dest
stage "$dest"
script=$dest$IC_BASHCOMPDIR/iommuctl
# the staged binary, found by name as an operator's shell would
PATH=$dest$IC_BINDIR:$PATH

# shellcheck disable=SC1090
. "$bc"
# shellcheck disable=SC1090
. "$script"
if [ "$(complete -p iommuctl 2>/dev/null)" = "complete -F _iommuctl iommuctl" ]; then
  ok "sourcing the installed script registers _iommuctl"
else
  not_ok "sourcing the installed script registers _iommuctl" "$(complete -p iommuctl 2>&1)"
fi

# complete LINE: split LINE like bash (blanks, then ':' and '=' as separate
# words), complete the last word, leave the replies in REPLY (sorted, one per line).
complete_line() {
  local line=$1
  COMP_LINE=$line
  COMP_POINT=${#line}
  COMP_WORDS=()
  local w
  # bash splits at COMP_WORDBREAKS; the breaks are words of their own
  for w in $line; do
    while [[ $w =~ ^([^:=]*)([:=])(.*)$ ]]; do
      [[ -n ${BASH_REMATCH[1]} ]] && COMP_WORDS+=("${BASH_REMATCH[1]}")
      COMP_WORDS+=("${BASH_REMATCH[2]}")
      w=${BASH_REMATCH[3]}
    done
    [[ -n $w ]] && COMP_WORDS+=("$w")
  done
  if [[ $line == *" " ]]; then
    COMP_WORDS+=("")
  fi
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _iommuctl iommuctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  REPLY=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
}

# expect DESCRIPTION LINE WORD...: the replies include every WORD
expect() {
  local desc=$1 line=$2 missing="" w
  shift 2
  complete_line "$line"
  for w in "$@"; do
    grep -qxF -- "$w" <<<"$REPLY" || missing="$missing $w"
  done
  if [[ -z $missing ]]; then ok "$desc"
  else not_ok "$desc" "'$line<TAB>' offered:" "$REPLY" "missing:$missing"; fi
}

# expect_exactly DESCRIPTION LINE WORD...
expect_exactly() {
  local desc=$1 line=$2
  shift 2
  complete_line "$line"
  local want
  want=$(printf '%s\n' "$@" | sort)
  if [[ $REPLY == "$want" ]]; then ok "$desc"
  else not_ok "$desc" "'$line<TAB>' offered:" "$REPLY" "expected:" "$want"; fi
}

unset IOMMUCTL_SYSFS_ROOT
expect_exactly "a verb: 'iommuctl det' -> detach" "iommuctl det" detach
expect "every verb after 'iommuctl '" "iommuctl " report groups show check snapshot plan detach reattach \
  status recover domain run policy traits place
expect_exactly "a sub-verb: 'iommuctl domain qemu' -> qemu-args" "iommuctl domain qemu" qemu-args
expect "options of detach, from its --help" "iommuctl detach --" --driver= --force --poll-timeout= \
  --lock-timeout= --sysfs-root= --json
expect_exactly "an option value: --model=sm" "iommuctl domain viommu --model=sm" smmuv3
expect_exactly "an option value: --managed " "iommuctl domain hostdev --managed " no yes

export IOMMUCTL_SYSFS_ROOT=$fixture
# bash splits 0000:00:0 at the colons; readline replaces only after the last
# one, so the replies are the rest of each address
expect_exactly "an address (IOMMUCTL_SYSFS_ROOT): 'detach 0000:00:0'" "iommuctl detach 0000:00:0" \
  $(cd "$fixture/sys/bus/pci/devices" && ls -d 0000:00:0* | sed 's/^0000:00://')
expect_exactly "a group number: 'show 1'" "iommuctl show 1" \
  $(cd "$fixture/sys/kernel/iommu_groups" && ls | grep '^1')
expect "an address after the domain hostdev FILE" "iommuctl domain hostdev guest.xml 0000:01:0" 00.0
unset IOMMUCTL_SYSFS_ROOT
expect_exactly "an address from --sysfs-root on the command line" \
  "iommuctl --sysfs-root $fixture plan 0000:01:00." 00.0
expect_exactly "an address from --sysfs-root=DIR after the verb" \
  "iommuctl reattach --sysfs-root=$fixture 0000:00:06." 06.0 06.1

# ---- zsh: the installed function, with the completion system's builtins
# stubbed to print what they would offer (no terminal needed) -------------------
zfunc=$dest$IC_ZSHCOMPDIR/_iommuctl
if ! command -v zsh >/dev/null 2>&1; then
  if [ "${IOMMUCTL_ALLOW_SKIP:-0}" = 1 ]; then ok "# SKIP zsh is not installed"
  else not_ok "zsh is installed (.ci/packages.d/test-install.txt)"; fi
  done_testing
  exit $?
fi
check "zsh -n _iommuctl" zsh -n "$zfunc"
zsh_offers() { # zsh_offers CURRENT-WORD WORD...: what _iommuctl offers for the last word
  IOMMUCTL_SYSFS_ROOT=${ZROOT:-} zsh -f -c '
    compadd() { while [[ $# -gt 0 && $1 != -- ]]; do shift; done; shift; print -rl -- "$@"; }
    _describe() { local n=${@[-1]}; print -rl -- ${(P)n}; }
    _files() { print -r -- "_files $*"; }
    _call_program() { shift; "$@"; }
    words=("${@:2}"); CURRENT=$#words; PREFIX=$1
    source "$ZFUNC"' zsh "$@"
}
export ZFUNC=$zfunc
out=$(zsh_offers det iommuctl det 2>&1)
if printf '%s\n' "$out" | grep -q '^detach:bind whole groups'; then ok "zsh: verbs with their summaries"
else not_ok "zsh: verbs with their summaries" "$out"; fi
out=$(ZROOT=$fixture zsh_offers 0000:00:0 iommuctl detach 0000:00:0 2>&1)
if printf '%s\n' "$out" | grep -qx '0000:00:02.0'; then ok "zsh: addresses from IOMMUCTL_SYSFS_ROOT"
else not_ok "zsh: addresses from IOMMUCTL_SYSFS_ROOT" "$out"; fi
out=$(zsh_offers 1 iommuctl --sysfs-root "$fixture" show 1 2>&1)
if printf '%s\n' "$out" | grep -qx '11' && printf '%s\n' "$out" | grep -qx '0000:01:00.0'; then
  ok "zsh: addresses and groups from --sysfs-root"
else not_ok "zsh: addresses and groups from --sysfs-root" "$out"; fi
out=$(zsh_offers --dr iommuctl detach --dr 2>&1)
if printf '%s\n' "$out" | grep -qx -- '--driver'; then ok "zsh: options from --help-all"
else not_ok "zsh: options from --help-all" "$out"; fi

done_testing
