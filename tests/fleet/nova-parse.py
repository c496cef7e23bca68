# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run by Debian's /usr/bin/python3 (python3-nova): parse a nova.conf with
Nova's own code, as nova-compute and nova-api do, and answer as JSON which
of the devices given on stdin Nova would pass through, and the aliases."""
import json
import sys

import nova.conf
from nova import exception
from nova.pci import request, whitelist


def main():
    conf_path = sys.argv[1]
    devices = json.load(sys.stdin)
    CONF = nova.conf.CONF
    out = {}
    try:
        CONF(["--config-file", conf_path], project="nova")
        wl = whitelist.Whitelist(CONF.pci.device_spec)
        out["assignable"] = sorted(d["address"] for d in devices if wl.device_assignable(d))
        aliases = request._get_alias_from_config()
        out["aliases"] = {name: [dict(s) for s in specs] for name, (policy, specs) in aliases.items()}
        out["error"] = None
    except (exception.NovaException, ValueError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    json.dump(out, sys.stdout)


main()
