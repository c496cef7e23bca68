# bash completion for iommuctl                            -*- shell-script -*-
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Verbs and options come from the binary's own help ('iommuctl help',
# 'iommuctl VERB --help-all'), so completion follows the binary it completes
# for.  PCI addresses and IOMMU group numbers come from the live inventory:
# /sys/bus/pci/devices and /sys/kernel/iommu_groups below the sysfs root
# given with --sysfs-root on the command line, else IOMMUCTL_SYSFS_ROOT,
# else /.

# The program being completed: the word typed, if it runs, else iommuctl.
_iommuctl_prog()
{
    local p=${1/#\~/$HOME}
    if [[ $p == */* && -x $p ]] || type -P -- "$p" &>/dev/null; then
        printf '%s\n' "$p"
    else
        printf '%s\n' iommuctl
    fi
}

# Names of the entries of a list in help output: the indented first words
# after the line HEADER, up to the next empty line.  'Commands:' also takes
# the other command groups of 'iommuctl help' ("Fleet commands (...):").
_iommuctl_help_list()
{
    awk -v h="$1" '$0 == h || (h == "Commands:" && /^[A-Z][a-z]* commands.*:$/) { f = 1; next }
        /^$/ { f = 0 } f && /^  [a-z]/ { print $1 }'
}

# Long and short options of a help text; options that take a value end
# in '='.
_iommuctl_help_options()
{
    awk '/^ +-/ {
        for (i = 1; i <= NF; i++) {
            w = $i; sub(/,$/, "", w)
            if (w !~ /^-/) break
            if (w ~ /^--[a-z]/ && w ~ /=/) w = substr(w, 1, index(w, "="))
            print w
        }
    }'
}

_iommuctl_addresses()
{
    local d
    for d in "$1"/sys/bus/pci/devices/*; do
        [[ -e $d ]] && printf '%s\n' "${d##*/}"
    done
}

_iommuctl_groups()
{
    local d
    for d in "$1"/sys/kernel/iommu_groups/*; do
        [[ -d $d ]] && printf '%s\n' "${d##*/}"
    done
}

_iommuctl_drivers()
{
    local d
    for d in "$1"/sys/bus/pci/drivers/*; do
        [[ -d $d ]] && printf '%s\n' "${d##*/}"
    done
}

# Add the words of a list (blank-separated; none contains a blank or a
# glob character) that complete $cur.
_iommuctl_add()
{
    COMPREPLY+=($(compgen -W "$1" -- "$cur"))
}

_iommuctl()
{
    local cur prev words cword split
    # '=' and ':' stay inside words here (--opt=value, 0000:00:02.0);
    # -s splits --opt=value in the current word into prev and cur.
    _init_completion -s -n =: || return

    local prog root=${IOMMUCTL_SYSFS_ROOT:-} verb="" sub="" group_help=""
    prog=$(_iommuctl_prog "${words[0]}")
    local -a positional=()
    local i w
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
            --sysfs-root=*) root=${w#*=} ;;
            --sysfs-root) root=${words[i + 1]}; ((i++)) ;;
            --proc-root | --state-dir) ((i++)) ;;
            --) ;;
            -*)
                # a command option whose value is the next word
                if [[ -n $verb && $w != *=* ]] &&
                    "$prog" $verb $sub --help-all 2>/dev/null |
                    grep -qE -- "^ +(-[A-Za-z], )?$w="; then
                    ((i++))
                fi
                ;;
            *)
                if [[ -z $verb ]]; then
                    verb=$w
                    group_help=$("$prog" "$verb" --help 2>/dev/null)
                    [[ $group_help == *$'\nVerbs:\n'* ]] || group_help=""
                elif [[ -n $group_help && -z $sub ]]; then
                    sub=$w
                else
                    positional+=("$w")
                fi
                ;;
        esac
    done
    root=${root/#\~/$HOME}
    [[ -n $root ]] || root=/

    # the value of an option
    case $prev in
        --sysfs-root | --proc-root | --state-dir | --config-root)
            _filedir -d
            return
            ;;
        --hosts)
            _filedir
            return
            ;;
        --qemu | --qemu-caps | --host-json | --requests | --domain | --output | -o)
            _filedir
            return
            ;;
        --model | -m)
            _iommuctl_add "intel smmuv3 virtio amd auto"
            return
            ;;
        --managed | --iommufd)
            _iommuctl_add "yes no"
            return
            ;;
        --default-bus)
            _iommuctl_add "on off"
            return
            ;;
        --driver)
            _iommuctl_add "$(_iommuctl_drivers "$root")"
            __ltrim_colon_completions "$cur"
            return
            ;;
    esac
    # any other option that takes a value: nothing to offer
    [[ $split == true ]] && return

    if [[ $cur == -* ]]; then
        local help
        if [[ -z $verb ]]; then
            help=$("$prog" report --help-all 2>/dev/null)
            help+=$'\n  --help\n  --version'
        elif [[ -n $group_help && -z $sub ]]; then
            help=$'  --help'
        else
            help=$("$prog" $verb $sub --help-all 2>/dev/null)
        fi
        _iommuctl_add "$(_iommuctl_help_options <<<"$help")"
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
        return
    fi

    if [[ -z $verb ]]; then
        _iommuctl_add "$("$prog" help 2>/dev/null | _iommuctl_help_list 'Commands:')"
        return
    fi
    if [[ -n $group_help && -z $sub ]]; then
        _iommuctl_add "$(_iommuctl_help_list 'Verbs:' <<<"$group_help")"
        return
    fi

    case $verb${sub:+ $sub} in
        show)
            _iommuctl_add "$(_iommuctl_addresses "$root")"$'\n'"$(_iommuctl_groups "$root")"
            ;;
        plan | detach | reattach | persist | unpersist)
            _iommuctl_add "$(_iommuctl_addresses "$root")"
            ;;
        "domain hostdev")
            if ((${#positional[@]} == 0)); then
                _filedir xml
            else
                _iommuctl_add "$(_iommuctl_addresses "$root")"
            fi
            ;;
        snapshot)
            _filedir -d
            ;;
        domain\ * | run)
            _filedir xml
            ;;
    esac
    __ltrim_colon_completions "$cur"
} &&
    complete -F _iommuctl iommuctl

# ex: filetype=sh
