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
import hashlib, os


def engine_state_dir(build_dir, suffix=""):
    key = hashlib.sha256(os.path.realpath(build_dir).encode()).hexdigest()[:12]
    path = "/tmp/iommuctl-engine-%s%s" % (key, "-" + suffix if suffix else "")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path
