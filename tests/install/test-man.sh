#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every installed man page renders without a warning, with man-db (as an
# operator reads it) and with groff's full set of warnings, and every
# iommuctl page one refers to is installed.
. "$(dirname "$0")/lib.sh"
need man groff
work=$(workdir man)
dest=$work/dest
stage "$dest"
mandir=$dest$IC_MANDIR
pages=""
for p in $IC_MAN_PAGES; do
  page=$mandir/man${p##*.}/$p
  if [ ! -f "$page" ]; then
    not_ok "$p is installed" "missing: $page (is scdoc installed? .ci/packages.d/test-install.txt)"
    continue
  fi
  pages="$pages $page"
  err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  if [ -z "$err" ]; then ok "man --warnings -l $p: no warning"; else not_ok "man --warnings -l $p: no warning" "$err"; fi
  err=$(groff -ww -man -z "$page" 2>&1)
  if [ -z "$err" ]; then ok "groff -ww -man -z $p: no warning"; else not_ok "groff -ww -man -z $p: no warning" "$err"; fi
  text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
  case $text in
    *NAME*SYNOPSIS*DESCRIPTION*) ok "$p has NAME, SYNOPSIS, DESCRIPTION" ;;
    *) not_ok "$p has NAME, SYNOPSIS, DESCRIPTION" ;;
  esac
done
# references between the pages
for page in $pages; do
  for ref in $(MANWIDTH=200 man -l "$page" 2>/dev/null | grep -o 'iommuctl[a-z-]*([0-9])' | sort -u); do
    name=${ref%(*}
    sec=${ref#*(}
    sec=${sec%)}
    [ -f "$mandir/man$sec/$name.$sec" ] && continue
    not_ok "${page##*/} refers to $ref, which is installed" "no $IC_MANDIR/man$sec/$name.$sec"
  done
done
ok "references checked"
done_testing
