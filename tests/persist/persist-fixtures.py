#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""persist / unpersist / persist --list / persist --verify on the simulated
kernel (tests/assign/simkernel.py) with --config-root: the files written and
removed byte for byte, idempotence, dry runs that change nothing, the
assign layer's refusals, built-in vfio-pci, the initramfs hook and dracut
module, verify's three verdicts, and check/report carrying the result."""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "assign"))
import simkernel as sk  # noqa: E402

sk.require_env()
c = sk.Checks()
tmp = tempfile.mkdtemp(prefix="ic-persist-")
GROUP2 = ["0000:02:01.0", "0000:02:02.0", "0000:02:03.0"]
RULES = "/etc/udev/rules.d/41-iommuctl-vfio.rules"
LOAD = "/etc/modules-load.d/iommuctl-vfio.conf"
SOFTDEP = "/etc/modprobe.d/iommuctl-vfio.conf"
HOOK = "/etc/initramfs-tools/hooks/iommuctl-vfio"
DRACUT = "/usr/lib/dracut/modules.d/90iommuctl-vfio/module-setup.sh"
DRACUT_CONF = "/etc/dracut.conf.d/iommuctl-vfio.conf"

HEAD = ("# Written by iommuctl: %s.\n"
        "# Do not edit: 'iommuctl unpersist' removes what 'iommuctl persist' wrote.\n"
        "# Made by: iommuctl persist 0000:02:02.0\n")


def rule(bdf, ven, dev, cls, host, builtin=False):
    match = ('SUBSYSTEM=="pci", KERNEL=="%s", ATTR{vendor}=="0x%s", ATTR{device}=="0x%s", '
             'ATTR{subsystem_vendor}=="0x%s", ATTR{subsystem_device}=="0x0001"' % (bdf, ven, dev, ven))
    return ("\n# %s: group 2, %s:%s subsystem %s:0001 class %s, host driver %s\n" % (bdf, ven, dev, ven, cls, host)
            + 'ACTION=="add", ' + match + ', ATTR{driver_override}="vfio-pci"'
            + ('' if builtin else ', RUN{builtin}+="kmod load vfio-pci"')
            + ', RUN+="/bin/sh -c \'echo $kernel > /sys/bus/pci/drivers_probe\'"\n'
            + 'ACTION=="add|bind", ' + match + ', ATTR{driver_override}=="vfio-pci", DRIVER=="?*", '
            + 'DRIVER!="vfio-pci", RUN+="/bin/sh -c '
            "'mkdir -p /run/iommuctl; echo $kernel $env{DRIVER} >> /run/iommuctl/host-bound; "
            "echo $kernel > /sys/bus/pci/devices/$kernel/driver/unbind; "
            "echo $kernel > /sys/bus/pci/drivers_probe'\"\n")


def expected_rules(builtin=False):
    return (HEAD % "driver_override for persisted devices, matched by address AND identity"
            + rule("0000:02:01.0", "8086", "100e", "020000", "e1000", builtin)
            + rule("0000:02:02.0", "1af4", "1000", "020000", "virtio-pci", builtin)
            + rule("0000:02:03.0", "8086", "10d3", "020000", "nic-alt", builtin))


EXPECTED = {
    RULES: expected_rules(),
    LOAD: HEAD % "load the vfio driver of persisted devices early" + "vfio-pci\n",
    SOFTDEP: HEAD % "load vfio-pci before the host drivers of persisted devices"
    + "softdep e1000 pre: vfio-pci\nsoftdep nic_alt pre: vfio-pci\nsoftdep virtio_pci pre: vfio-pci\n",
}


def tree(cfg):
    """Every file under the config root, with its content."""
    out = {}
    for d, _, files in os.walk(cfg):
        for f in files:
            p = os.path.join(d, f)
            out["/" + os.path.relpath(p, cfg)] = open(p).read()
    return out


def persist(root, cfg, *args, **kw):
    return sk.run_json(root, "persist", *args, "--config-root", cfg, **kw)


# ---- dry run: lists everything, changes nothing ----------------------------
template = sk.make_fixture(os.path.join(tmp, "template"))
root = sk.fresh(template, os.path.join(tmp, "main"))
cfg = os.path.join(tmp, "cfg")
os.makedirs(cfg)
before = sk.state_of(root)
p, doc = persist(root, cfg, "02:02.0", "--dry-run")
c.ok(p.returncode == 0, "persist --dry-run exits 0", p.stderr)
c.ok(doc["schema"] == "iommuctl.persist" and doc["version"] == 1 and doc["dry_run"], "dry run: persist schema")
c.ok([d["address"] for d in doc["devices"]] == GROUP2, "dry run: the whole group, bridge left alone",
     str([d["address"] for d in doc["devices"]]))
d0 = doc["devices"][0]
c.ok((d0["vendor"], d0["device"], d0["subsystem_vendor"], d0["subsystem_device"], d0["class"]) ==
     ("8086", "100e", "8086", "0001", "020000"), "dry run: identity recorded", str(d0))
c.ok(d0["group_members"] == ["0000:01:00.0"] + GROUP2 and d0["ports"] == ["0000:00:1c.0", "0000:01:00.0"],
     "dry run: group members and the ports above", str(d0))
c.ok(d0["host_driver"] == "e1000" and d0["driver"] == "vfio-pci", "dry run: host driver and target", str(d0))
files = {f["path"]: f for f in doc["files"]}
c.ok(sorted(files) == sorted(EXPECTED), "dry run: the udev, modules-load and softdep files", str(sorted(files)))
for path, text in EXPECTED.items():
    c.ok(path in files and files[path]["lines"] == text.rstrip("\n").split("\n") and files[path]["action"] == "write",
         "dry run: every line of %s" % path, json.dumps(files.get(path), indent=1))
c.ok(sk.state_of(root) == before, "dry run: no device changed")
c.ok(tree(cfg) == {}, "dry run: nothing written under the config root")
c.ok(not os.path.exists(os.path.join(root, "state", "persist.db")), "dry run: no record written")

# ---- persist: binds, writes byte-exact files --------------------------------
p, doc = persist(root, cfg, "02:02.0")
c.ok(p.returncode == 0 and not doc["dry_run"], "persist exits 0", p.stdout + p.stderr)
c.ok(all(sk.driver(root, b) == "vfio-pci" for b in GROUP2), "persist: the present devices are on vfio-pci",
     str(sk.state_of(root)))
c.ok(sk.split_groups(root) == [] and sk.vfio_node(root, 2), "persist: group 2 whole, /dev/vfio/2")
c.ok(doc["operation"] is not None and any("e1000 -> vfio-pci" in a for a in doc["actions"]),
     "persist: bound by the assign layer's journaled detach", str(doc["actions"]))
st = sk.run_json(root, "status")[1]
c.ok(sorted(d["address"] for d in st["detached"]) == GROUP2, "persist: the assign registry holds the group")
c.ok(tree(cfg) == EXPECTED, "persist: files byte-exact", json.dumps(tree(cfg), indent=1))
c.ok(oct(os.stat(cfg + RULES).st_mode & 0o777) == "0o644", "persist: rules file mode 0644")
c.ok(os.path.exists(os.path.join(root, "state", "persist.db")), "persist: records in the state dir")

# idempotent: same bytes, every file unchanged, files not rewritten
mtimes = {f: os.stat(cfg + f).st_mtime_ns for f in EXPECTED}
p, doc = persist(root, cfg, "02:02.0")
c.ok(p.returncode == 0 and all(f["action"] == "unchanged" for f in doc["files"]),
     "persist again: every file unchanged", p.stdout + p.stderr)
c.ok(tree(cfg) == EXPECTED and {f: os.stat(cfg + f).st_mtime_ns for f in EXPECTED} == mtimes,
     "persist again: same bytes, not rewritten")
p, doc = persist(root, cfg, "02:01.0", "02:03.0")
c.ok(p.returncode == 0, "persist of other members of the same group exits 0", p.stderr)
made_by = tree(cfg)[RULES].split("\n")[2:4]
c.ok(made_by == ["# Made by: iommuctl persist 0000:02:02.0", "# Made by: iommuctl persist 0000:02:01.0 0000:02:03.0"]
     or made_by == ["# Made by: iommuctl persist 0000:02:01.0 0000:02:03.0", "# Made by: iommuctl persist 0000:02:02.0"]
     or made_by[0] == "# Made by: iommuctl persist 0000:02:01.0 0000:02:03.0",
     "files name the commands that made them", str(made_by))

# ---- list -------------------------------------------------------------------
p, doc = sk.run_json(root, "persist", "--list")
c.ok(p.returncode == 0 and doc["schema"] == "iommuctl.persist-list"
     and [d["address"] for d in doc["devices"]] == GROUP2, "persist --list: the group", p.stdout + p.stderr)
c.ok(all(d["config_root"] == cfg for d in doc["devices"]), "persist --list: the config root is recorded")

# ---- verify -----------------------------------------------------------------
p, doc = sk.run_json(root, "persist", "--verify")
c.ok(p.returncode == 0 and doc["ok"] and all(d["state"] == "bound" for d in doc["devices"]),
     "persist --verify: all bound, exit 0", p.stdout + p.stderr)
p, doc = sk.run_json(root, "check")
item = [i for i in doc["checks"] if i["id"] == "persisted-bindings"]
c.ok(len(item) == 1 and item[0]["status"] == "PASS", "check carries the persisted bindings (PASS)", str(item))
p, doc = sk.run_json(root, "report")
c.ok(any(i["id"] == "persisted-bindings" for i in doc["checks"]), "report carries them too")

os.makedirs(os.path.join(root, "run", "iommuctl"))
with open(os.path.join(root, "run", "iommuctl", "host-bound"), "w") as f:
    f.write("0000:02:01.0 e1000\n")
p, doc = sk.run_json(root, "persist", "--verify")
v = {d["address"]: d for d in doc["devices"]}
c.ok(p.returncode == 1 and v["0000:02:01.0"]["state"] == "host-driver-first"
     and v["0000:02:01.0"]["host_driver_first"] == "e1000", "verify: a host driver bound it first (exit 1)",
     p.stdout + p.stderr)
p = sk.run(root, "persist", "--verify")
c.ok("host driver first: e1000" in p.stdout, "verify text names the host driver", p.stdout)
os.unlink(os.path.join(root, "run", "iommuctl", "host-bound"))

# a new card in the slot: 02:03.0 now answers 15b3:1017
dev3 = os.path.join(root, "sys", "bus", "pci", "devices", "0000:02:03.0")
for attr, val in (("vendor", "0x15b3"), ("device", "0x1017"), ("subsystem_vendor", "0x15b3")):
    with open(os.path.join(dev3, attr), "w") as f:
        f.write(val + "\n")
p, doc = sk.run_json(root, "persist", "--verify")
v = {d["address"]: d for d in doc["devices"]}
c.ok(p.returncode == 1 and v["0000:02:03.0"]["state"] == "hardware-changed"
     and any("a new card is in the slot" in x and "15b3:1017" in x for x in v["0000:02:03.0"]["changes"]),
     "verify: a new card in the slot is 'hardware changed', spelled out", json.dumps(v["0000:02:03.0"]))
c.ok(any("the card moved" in x and "0000:00:02.0" in x for x in v["0000:02:03.0"]["changes"])
     and v["0000:02:03.0"]["moved_to"] == "0000:00:02.0",
     "verify: the old card is found at its new address", json.dumps(v["0000:02:03.0"]))
p, doc = sk.run_json(root, "check")
item = [i for i in doc["checks"] if i["id"] == "persisted-bindings"][0]
c.ok(p.returncode == 1 and item["status"] == "FAIL" and "0000:02:03.0 hardware-changed" in item["detail"],
     "check FAILs on changed hardware", str(item))

# the group changed: a new member joined group 2
root_g = sk.fresh(root, os.path.join(tmp, "grp"))
for attr, val in (("vendor", "0x8086"), ("device", "0x10d3"), ("subsystem_vendor", "0x8086")):
    with open(os.path.join(root_g, "sys", "bus", "pci", "devices", "0000:02:03.0", attr), "w") as f:
        f.write(val + "\n")
sk.relink(os.path.join(root_g, "sys", "bus", "pci", "devices", "0000:00:04.0"),
          os.path.join(root_g, "sys", "kernel", "iommu_groups", "2", "devices", "0000:00:04.0"))
p, doc = sk.run_json(root_g, "persist", "--verify", state=os.path.join(root, "state"))
v = {d["address"]: d for d in doc["devices"]}
c.ok(p.returncode == 1 and v["0000:02:01.0"]["state"] == "hardware-changed"
     and any("the group changed" in x and "0000:00:04.0" in x for x in v["0000:02:01.0"]["changes"]),
     "verify: a changed group is 'hardware changed', naming the new member", json.dumps(v["0000:02:01.0"]))

# ---- unpersist ----------------------------------------------------------------
# the new card at 02:03.0: left alone by unpersist; the others go back
p, doc = sk.run_json(root, "unpersist", "02:01.0")
c.ok(p.returncode == 1 or p.returncode == 0 or p.returncode == 3, "unpersist ran", p.stderr)
root = sk.fresh(template, os.path.join(tmp, "unp"))
cfg = os.path.join(tmp, "cfg-unp")
persist(root, cfg, "02:02.0", check=0)
p, doc = sk.run_json(root, "unpersist", "0000:00:04.0")
c.ok(p.returncode == 2 and "not persisted" in p.stderr, "unpersist of an address not persisted: exit 2", p.stderr)
p, doc = sk.run_json(root, "unpersist", "02:01.0", "--keep-bound")
c.ok(p.returncode == 0 and [d["address"] for d in doc["devices"]] == GROUP2, "unpersist takes the whole recorded group",
     p.stdout + p.stderr)
c.ok(tree(cfg) == {}, "unpersist: every file persist wrote is gone", str(tree(cfg)))
c.ok(all(sk.driver(root, b) == "vfio-pci" for b in GROUP2), "unpersist --keep-bound: still on vfio-pci")
p, doc = sk.run_json(root, "persist", "--list")
c.ok(doc["devices"] == [], "unpersist: no record left")

root = sk.fresh(template, os.path.join(tmp, "unp2"))
cfg = os.path.join(tmp, "cfg-unp2")
persist(root, cfg, "02:02.0", check=0)
persist(root, cfg, "00:04.0", check=0)
p, doc = sk.run_json(root, "unpersist", "02:02.0")
c.ok(p.returncode == 0 and sk.state_of(root) == sk.state_of(template) | {"0000:00:04.0": ("vfio-pci", "vfio-pci")},
     "unpersist: group 2 back on its recorded drivers, overrides cleared; 00:04.0 stays", str(sk.state_of(root)))
rules = tree(cfg).get(RULES, "")
c.ok("0000:00:04.0" in rules and "0000:02:0" not in rules.split("# Made by")[-1],
     "unpersist: only the lines of group 2 are gone", rules)
p, doc = sk.run_json(root, "unpersist", "--all")
c.ok(p.returncode == 0 and tree(cfg) == {} and sk.state_of(root) == sk.state_of(template),
     "unpersist --all: nothing left, every device back", str(sk.state_of(root)))

# persisted again under another config root: the old root's lines go
root = sk.fresh(template, os.path.join(tmp, "reroot"))
cfg_a, cfg_b = os.path.join(tmp, "cfg-a"), os.path.join(tmp, "cfg-b")
persist(root, cfg_a, "02:02.0", check=0)
persist(root, cfg_a, "00:04.0", check=0)
p, doc = persist(root, cfg_b, "02:02.0")
ra, rb = tree(cfg_a).get(RULES, ""), tree(cfg_b).get(RULES, "")
c.ok(p.returncode == 0 and "0000:02:02.0" not in ra and "0000:00:04.0" in ra and "0000:02:02.0" in rb,
     "persist under another config root moves the group's lines there", ra + "\n----\n" + rb)

# ---- refusals: the assign layer's ---------------------------------------------
root = sk.fresh(template, os.path.join(tmp, "refuse"))
cfg = os.path.join(tmp, "cfg-refuse")
p, doc = persist(root, cfg, "00:05.0")
c.ok(p.returncode == 1 and "eth0" in p.stderr and not os.path.exists(cfg) and sk.state_of(root) == sk.state_of(template),
     "persist of the NIC with the default route: refused (exit 1), nothing written", p.stderr)
p, doc = persist(root, cfg, "00:1f.2", "--force")
c.ok(p.returncode == 1 and "root" in p.stderr and not os.path.exists(cfg),
     "persist --force of the root disk's controller: refused", p.stderr)
p, doc = persist(root, cfg, "00:05.0", "--force")
c.ok(p.returncode == 0 and sk.driver(root, "0000:00:05.0") == "vfio-pci"
     and "iommuctl persist 0000:00:05.0 --force" in tree(cfg)[RULES], "persist --force: like detach --force",
     p.stderr)
p, doc = persist(root, cfg, "zz:99")
c.ok(p.returncode == 2, "persist of a bad address: exit 2", p.stderr)
p, doc = persist(root, "relative/dir", "02:02.0")
c.ok(p.returncode == 2, "--config-root must be absolute: exit 2", p.stderr)

# a file of someone else's at our path: refused before anything changes
root = sk.fresh(template, os.path.join(tmp, "foreign"))
cfg = os.path.join(tmp, "cfg-foreign")
os.makedirs(os.path.dirname(cfg + RULES))
with open(cfg + RULES, "w") as f:
    f.write("# my own rules\n")
p, doc = persist(root, cfg, "02:02.0")
c.ok(p.returncode == 2 and RULES in p.stderr and sk.state_of(root) == sk.state_of(template)
     and open(cfg + RULES).read() == "# my own rules\n", "a foreign file at our path: refused, nothing changed",
     p.stderr)

# ---- built-in vfio-pci: driver_override alone ------------------------------------
root = sk.fresh(template, os.path.join(tmp, "builtin"))
sk.write(os.path.join(root, "lib", "modules", "6.1.0-sim", "modules.builtin"),
         "kernel/drivers/vfio/vfio.ko\nkernel/drivers/vfio/pci/vfio-pci.ko\n")
cfg = os.path.join(tmp, "cfg-builtin")
p, doc = persist(root, cfg, "02:02.0")
c.ok(p.returncode == 0 and doc["vfio_pci_builtin"] and any("built into this kernel" in n for n in doc["notes"]),
     "built-in vfio-pci: said so", p.stdout + p.stderr)
c.ok(tree(cfg) == {RULES: expected_rules(builtin=True)}, "built-in vfio-pci: only the udev rule, no kmod load",
     json.dumps(tree(cfg), indent=1))

# ---- initramfs: only when a host driver is in it; command printed, not run ---------
root = sk.fresh(template, os.path.join(tmp, "itools"))
cfg = os.path.join(tmp, "cfg-itools")
sk.write(cfg + "/etc/initramfs-tools/modules", "# modules\nvirtio_pci\n")
p, doc = persist(root, cfg, "02:02.0")
hook = tree(cfg).get(HOOK, "")
c.ok(p.returncode == 0 and doc["initramfs"]["kind"] == "initramfs-tools"
     and doc["initramfs"]["command"] == "update-initramfs -u -k all" and not doc["initramfs"]["updated"]
     and any("update-initramfs -u -k all" in n for n in doc["notes"]),
     "initramfs-tools: a host driver in the initramfs: hook written, command printed", p.stdout + p.stderr)
c.ok(hook.startswith("#!/bin/sh\n# Written by iommuctl") and "manual_add_modules vfio-pci\n" in hook
     and "copy_file config %s %s\n" % (RULES, RULES) and os.access(cfg + HOOK, os.X_OK),
     "initramfs-tools hook: vfio-pci and the rules, executable", hook)
root = sk.fresh(template, os.path.join(tmp, "noinit"))
cfg = os.path.join(tmp, "cfg-noinit")
sk.write(cfg + "/etc/initramfs-tools/modules", "# nothing\n")
p, doc = persist(root, cfg, "02:02.0")
c.ok(p.returncode == 0 and HOOK not in tree(cfg) and doc["initramfs"]["command"] is None,
     "initramfs-tools: no host driver in the initramfs: no hook", p.stdout)
root = sk.fresh(template, os.path.join(tmp, "dracut"))
cfg = os.path.join(tmp, "cfg-dracut")
sk.write(cfg + "/etc/dracut.conf.d/net.conf", 'add_drivers+=" e1000 "\n')
p, doc = persist(root, cfg, "02:02.0")
t = tree(cfg)
c.ok(p.returncode == 0 and doc["initramfs"]["kind"] == "dracut" and DRACUT in t and DRACUT_CONF in t
     and "instmods vfio-pci" in t[DRACUT] and 'add_dracutmodules+=" iommuctl-vfio "' in t[DRACUT_CONF]
     and doc["initramfs"]["command"] == "dracut --regenerate-all --force",
     "dracut: module and its conf, command printed", p.stdout + json.dumps(t, indent=1))
p, doc = sk.run_json(root, "unpersist", "--all", "--keep-bound")
c.ok(p.returncode == 0 and set(tree(cfg)) == {"/etc/dracut.conf.d/net.conf"}
     and any("dracut --regenerate-all --force" in n for n in doc["notes"]),
     "unpersist: the dracut module goes, the regeneration is asked for, the user's conf stays",
     p.stdout + str(tree(cfg)))

# ---- the record store is trusted only when nobody else could write it --------------
root = sk.fresh(template, os.path.join(tmp, "trust"))
persist(root, os.path.join(tmp, "cfg-trust"), "02:02.0", check=0)
db = os.path.join(root, "state", "persist.db")
c.ok(oct(os.stat(db).st_mode & 0o777) == "0o600", "persist.db is created 0600", oct(os.stat(db).st_mode))
os.chmod(db, 0o664)
p, doc = sk.run_json(root, "persist", "--list")
c.ok(p.returncode == 3 and "persist.db" in p.stderr and "chmod go-w" in p.stderr,
     "a group-writable persist.db is refused (exit 3), naming the fix", p.stderr)
os.chmod(db, 0o600)
os.rename(db, db + ".real")
os.symlink(db + ".real", db)
p, doc = sk.run_json(root, "persist", "--verify")
c.ok(p.returncode == 3 and "symlink" in p.stderr, "a symlinked persist.db is refused", p.stderr)

shutil.rmtree(tmp)
c.finish("persist-fixtures")
