"""Where tests keep iommuctl's state directory when they use its QEMU engine.

The engine's root (libvirt's embedded QEMU driver) lives in the state
directory, and a QEMU it starts runs as libvirt-qemu: every directory above
the root must let QEMU's group pass, and its monitor and agent sockets must
stay under the 107-byte limit of a UNIX socket path.  A build directory
inside a private (0700) or deep directory satisfies neither, so the state
directory is a short one under /tmp, named after the build directory it
belongs to and kept between runs (it holds libvirt's QEMU capability cache,
a few seconds per emulator to rebuild).
"""
import hashlib, os, subprocess


def ensure():
    """libvirt's QEMU driver refuses to start as root unless its compiled-in
    user exists ('Failed to parse user libvirt-qemu'); Debian creates it in
    libvirt-daemon-system, which the tests do not need otherwise.  Returns
    why it could not be created, or None."""
    if subprocess.run(["id", "libvirt-qemu"], capture_output=True).returncode == 0:
        return None
    subprocess.run(["groupadd", "--system", "libvirt-qemu"], capture_output=True)
    groups = ["--groups", "kvm"] if subprocess.run(["getent", "group", "kvm"], capture_output=True).returncode == 0 else []
    r = subprocess.run(["useradd", "--system", "--gid", "libvirt-qemu", *groups, "--home-dir", "/var/lib/libvirt",
                        "--no-create-home", "--shell", "/usr/sbin/nologin", "libvirt-qemu"], capture_output=True, text=True)
    if r.returncode not in (0, 9):
        return "cannot create the libvirt-qemu user: " + r.stderr.strip()
    return None


def engine_state_dir(build_dir, suffix=""):
    """The state directory, with the user the engine's QEMU runs as (a test
    of the unit suite alone must not depend on the oracle having made it)."""
    err = ensure()
    if err:
        raise SystemExit(err)
    key = hashlib.sha256(os.path.realpath(build_dir).encode()).hexdigest()[:12]
    path = "/tmp/iommuctl-engine-%s%s" % (key, "-" + suffix if suffix else "")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path
