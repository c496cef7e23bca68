#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`placement sync` and `place --placement` against the real OpenStack
Placement 8.0 (Debian's python3-placement, noauth2, SQLite), started here on
loopback and killed at the end.  A small proxy in front of it provokes a
real 409 generation conflict from Placement itself.

Fails naming the package when Placement cannot start, unless
IOMMUCTL_ALLOW_SKIP=1 (then exit 77 = skipped)."""
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from placement_server import Placement, Missing, HEADERS  # noqa: E402
from fleetcheck import IOMMUCTL, FIXTURE, failures, check, run as run_iommuctl  # noqa: E402

HOST = ["--sysfs-root", FIXTURE, "--host-arch", "x86_64", "--libvirt-version", "9.0.0",
        "--qemu-version", "7.2.0"]


def run(*args):
    return run_iommuctl(*args, timeout=300)


def sync(url, *extra):
    rc, out, err = run("placement", "sync", "--url", url, "--token", "admin", "--host-name", "node-a",
                       "--json", *HOST, *extra)
    return rc, (json.loads(out) if rc == 0 else None), err


class ConflictProxy(http.server.BaseHTTPRequestHandler):
    """Forwards to Placement; before the first PUT of a provider's traits it
    changes that provider itself, so the client's generation is stale."""
    upstream = None
    placement = None
    armed = False

    def log_message(self, *a):
        pass

    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.command == "PUT" and self.path.endswith("/traits") and ConflictProxy.armed:
            ConflictProxy.armed = False
            uuid = self.path.split("/")[2]
            cur = ConflictProxy.placement.traits(uuid)
            ConflictProxy.placement.call("PUT", "/resource_providers/%s/traits" % uuid, {
                "resource_provider_generation": cur["resource_provider_generation"],
                "traits": sorted(set(cur["traits"]) | {"HW_CPU_X86_AVX2"})})
        req = urllib.request.Request(ConflictProxy.upstream + self.path, data=body, method=self.command)
        for k in ("X-Auth-Token", "OpenStack-API-Version", "Accept", "Content-Type"):
            if self.headers.get(k):
                req.add_header(k, self.headers[k])
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                status, raw, ctype = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type")
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_PUT = do_POST = do_DELETE = forward


def main():
    try:
        pl = Placement().start()
    except Missing as e:
        print("Placement cannot start: %s" % e, file=sys.stderr)
        return 77 if os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1" else 1
    try:
        scenarios(pl)
    finally:
        pl.stop()
    print("%d failures" % len(failures))
    return 1 if failures else 0


def scenarios(pl):
    url = pl.url
    # 1. no provider, no --create: an error naming it, nothing written
    rc, doc, err = sync(url)
    check(rc == 2 and "node-a" in err and "--create" in err, "missing provider without --create: exit 2 naming it")
    check(pl.provider("node-a") is None, "... and no provider was created")

    # 2. --create --dry-run: only reads
    rc, doc, err = sync(url, "--create", "--dry-run")
    check(rc == 0 and doc["changed"] and doc["requests"]["write"] == 0, "dry run: changes pending, no write")
    check(pl.provider("node-a") is None, "dry run created nothing")
    check("CUSTOM_IOMMU_INTERRUPT_REMAPPING" in doc["traits_created"], "dry run lists the custom traits to create")

    # 3. --create: provider, traits, one child per assignable group
    rc, doc, err = sync(url, "--create")
    check(rc == 0 and doc["provider"]["created"], "create: provider created (%s)" % err.strip())
    rp = pl.provider("node-a")
    have = set(pl.traits(rp["uuid"])["traits"])
    rc, out, err = run("traits", "--json", *HOST)
    want = set(json.loads(out)["traits"])
    check(want == have, "Placement holds exactly the traits `iommuctl traits` computes: %s" % sorted(have))
    tree = pl.call("GET", "/resource_providers?in_tree=" + rp["uuid"])["resource_providers"]
    kids = {t["name"]: t for t in tree if t["parent_provider_uuid"] == rp["uuid"]}
    check("node-a_IOMMU_GROUP_10" in kids, "group 10 (three functions) is one child provider")
    check("node-a_IOMMU_GROUP_14" not in kids, "not-isolated group 14 is not offered")
    inv = pl.call("GET", "/resource_providers/%s/inventories" % kids["node-a_IOMMU_GROUP_10"]["uuid"])
    check(list(inv["inventories"]) == ["CUSTOM_IOMMU_GROUP_8086_2918_8086_2922_8086_2930"] and
          inv["inventories"]["CUSTOM_IOMMU_GROUP_8086_2918_8086_2922_8086_2930"]["total"] == 1,
          "group 10 offers one unit of its group class")
    # Placement can now count whole groups
    ac = pl.call("GET", "/allocation_candidates?resources=CUSTOM_IOMMU_GROUP_8086_10D3:1")
    check(len(ac["allocation_requests"]) == 4, "allocation_candidates finds the 4 single-NIC groups")

    # 4. idempotent: nothing changed -> only reads, no generation bump
    gen = pl.traits(rp["uuid"])["resource_provider_generation"]
    rc, doc, err = sync(url)
    check(rc == 0 and not doc["changed"] and doc["requests"]["write"] == 0,
          "unchanged sync makes only read requests (%s)" % (doc and doc["requests"]))
    check(doc and doc["requests"]["read"] <= 4, "... and a handful of them")
    check(pl.traits(rp["uuid"])["resource_provider_generation"] == gen, "... and bumps no generation")

    # 4b. --no-groups offers no group: the children an earlier sync made go
    # (dry run here: the place tests below still need them)
    rc, doc, err = sync(url, "--no-groups", "--dry-run")
    tree = pl.call("GET", "/resource_providers?in_tree=" + rp["uuid"])["resource_providers"]
    check(rc == 0 and doc["changed"] and len(doc["groups_removed"]) == len(kids) and
          len([t for t in tree if t["parent_provider_uuid"] == rp["uuid"]]) == len(kids),
          "--no-groups would delete the %d group providers (dry run deleted none): %s"
          % (len(kids), doc and doc["groups_removed"]))

    # 5. never clobbers others' traits; removes owned ones the host lacks
    cur = pl.traits(rp["uuid"])
    pl.call("PUT", "/traits/CUSTOM_OPERATOR_RACK_7")
    pl.call("PUT", "/resource_providers/%s/traits" % rp["uuid"], {
        "resource_provider_generation": cur["resource_provider_generation"],
        "traits": cur["traits"] + ["HW_CPU_X86_AVX2", "CUSTOM_OPERATOR_RACK_7", "COMPUTE_VIOMMU_MODEL_SMMUV3"]})
    rc, doc, err = sync(url)
    have = set(pl.traits(rp["uuid"])["traits"])
    check({"HW_CPU_X86_AVX2", "CUSTOM_OPERATOR_RACK_7"} <= have, "foreign traits kept")
    check("COMPUTE_VIOMMU_MODEL_SMMUV3" not in have and doc["provider"]["removed"] == ["COMPUTE_VIOMMU_MODEL_SMMUV3"],
          "an owned trait the host lacks is removed")

    # 6. a real 409 from Placement: re-read and retry, keep the other writer's change
    cur = pl.traits(rp["uuid"])
    pl.call("PUT", "/resource_providers/%s/traits" % rp["uuid"], {
        "resource_provider_generation": cur["resource_provider_generation"],
        "traits": [t for t in cur["traits"] if t not in ("HW_CPU_X86_AVX2", "CUSTOM_QEMU_IOMMU_BYPASS")]})
    ConflictProxy.upstream, ConflictProxy.placement, ConflictProxy.armed = url, pl, True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ConflictProxy)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        rc, doc, err = sync("http://127.0.0.1:%d" % srv.server_address[1])
    finally:
        srv.shutdown()
    have = set(pl.traits(rp["uuid"])["traits"])
    check(rc == 0 and doc["requests"]["conflicts_retried"] == 1, "409 conflict re-read and retried once (%s)" % err.strip())
    check({"HW_CPU_X86_AVX2", "CUSTOM_QEMU_IOMMU_BYPASS"} <= have, "after the retry both writers' traits are there")

    # 7. bad token: Placement's 403, exit 3 naming the request
    rc, out, err = run("placement", "sync", "--url", url, "--token", "nobody", "--host-name", "node-a", *HOST)
    check(rc == 3 and "403" in err and "GET /resource_providers" in err, "a refused token: exit 3 naming request and status")
    rc, out, err = run("placement", "sync", "--url", "ftp://x", *HOST)
    check(rc == 2, "a non-http URL is invalid input")

    # 7b. --provider UUID --create: the provider gets that UUID and the host's name
    want_uuid = "5b0e6c1e-2a8f-4c43-9b7e-0f3c2d4e5a61"
    rc, out, err = run("placement", "sync", "--url", url, "--token", "admin", "--host-name", "node-u",
                       "--provider", want_uuid, "--create", "--no-groups", "--json", *HOST)
    rp_u = pl.provider("node-u")
    check(rc == 0 and rp_u is not None and rp_u["uuid"] == want_uuid, "--provider UUID --create makes that provider")
    rc, out, err = run("placement", "sync", "--url", url, "--token", "admin", "--provider", want_uuid,
                       "--no-groups", "--json", *HOST)
    check(rc == 0 and not json.loads(out)["changed"], "... and finds it again by UUID")

    # 8. place --placement: candidates and why the others are not
    pl.add_provider("node-b", ["COMPUTE_VIOMMU_MODEL_SMMUV3", "COMPUTE_VIOMMU_MODEL_VIRTIO"])
    pl.add_provider("node-c", [])
    pl.add_provider("node-d", ["COMPUTE_VIOMMU_MODEL_INTEL", "CUSTOM_IOMMUFD"])
    pl.add_provider("node-e", ["COMPUTE_VIOMMU_MODEL_INTEL"], vcpu=0)
    pl.add_provider("node-f", ["COMPUTE_VIOMMU_MODEL_INTEL", "HW_CPU_X86_AVX2"])
    pl.add_provider("node-g", ["CUSTOM_IOMMUFD"])
    rc, out, err = run("place", "--placement", url, "--token", "admin", "--json",
                       "-r", "hw_viommu_model=intel", "-r", "!trait:CUSTOM_IOMMUFD")
    doc = json.loads(out)
    rej = {r["name"]: r for r in doc["rejected"]}
    check(rc == 0 and [c["name"] for c in doc["candidates"]] == ["node-f"], "intel, not iommufd: node-f only")
    check(rej["node-b"]["lacks"] == ["COMPUTE_VIOMMU_MODEL_INTEL"], "node-b lacks INTEL")
    check(rej["node-d"]["has_forbidden"] == ["CUSTOM_IOMMUFD"], "node-d has forbidden CUSTOM_IOMMUFD")
    check(rej["node-e"]["capacity"] and not rej["node-e"]["lacks"], "node-e has the traits but no VCPU")
    check(rej["node-g"]["lacks"] == ["COMPUTE_VIOMMU_MODEL_INTEL"] and rej["node-g"]["has_forbidden"] == ["CUSTOM_IOMMUFD"],
          "node-g fails both terms and is told both (%s)" % rej["node-g"])
    check(doc["requests"] == 5, "explained from 5 requests: candidates, one listing per combination of failed "
          "terms (3), the passing providers (%d)" % doc["requests"])
    rc, out, err = run("place", "--placement", url, "--token", "admin",
                       "-r", "in:COMPUTE_VIOMMU_MODEL_INTEL,COMPUTE_VIOMMU_MODEL_SMMUV3", "-r", "trait:CUSTOM_UNKNOWN_X")
    # all five go at once (candidates, the three listings of the combinations
    # of failed terms, the passing providers); each names the unknown trait
    # and is refused, then one trait check, the in: listing and the listing
    # of everybody (nobody can pass): no second candidates query
    check(rc == 1 and re.search(r"\((\d+) requests to Placement\)", out).group(1) == "8",
          "an unknown trait costs the refused round, one trait check and two listings (no second query: it cannot match): %s"
          % out.splitlines()[:3])
    check(rc == 1 and "Placement knows no trait CUSTOM_UNKNOWN_X" in out and "node-c: lacks CUSTOM_UNKNOWN_X; has none of "
          "COMPUTE_VIOMMU_MODEL_INTEL|COMPUTE_VIOMMU_MODEL_SMMUV3" in out, "unknown trait and in: group explained")
    # resources from a group child: the candidate is its root, node-a
    rc, out, err = run("place", "--placement", url, "--token", "admin", "--json",
                       "--resources", "CUSTOM_IOMMU_GROUP_8086_10D3:1", "-r", "!trait:CUSTOM_NOT_THERE")
    doc = json.loads(out)
    check(rc == 0 and [c["name"] for c in doc["candidates"]] == ["node-a"] and
          all(r["capacity"] for r in doc["rejected"]), "a group unit makes its host a candidate: %s" % doc["candidates"])
    rc, out, err = run("place", "--placement", url, "--token", "admin", "-r", "in:bad-name")
    check(rc == 2, "a bad in: term is invalid input")


if __name__ == "__main__":
    sys.exit(main())
