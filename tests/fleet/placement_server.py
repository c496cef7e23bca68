# SPDX-License-Identifier: LGPL-2.1-or-later
"""Start Debian's OpenStack Placement (python3-placement) on loopback for a
test or a benchmark: noauth2, SQLite in a temporary directory, the
single-threaded wsgiref server `placement-api` runs as a script.  The server
stays a child of the caller, which kills and waits for it."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

PACKAGE = "python3-placement"
HEADERS = {"X-Auth-Token": "admin", "OpenStack-API-Version": "placement 1.39",
           "Accept": "application/json"}


class Missing(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Placement:
    def __init__(self, db=None):
        self.api = shutil.which("placement-api")
        self.manage = shutil.which("placement-manage")
        if not self.api or not self.manage:
            raise Missing("placement-api not found: install Debian's %s "
                          "(.ci/packages.d/test-fleet.txt)" % PACKAGE)
        self.dir = tempfile.mkdtemp(prefix="iommuctl-placement-")
        self.db = db or os.path.join(self.dir, "placement.db")
        with open(os.path.join(self.dir, "placement.conf"), "w") as f:
            f.write("[api]\nauth_strategy = noauth2\n[placement_database]\n"
                    "connection = sqlite:///%s\n" % self.db)
        self.proc = None
        self.url = None

    def start(self):
        if not os.path.exists(self.db):
            subprocess.run([self.manage, "--config-file", os.path.join(self.dir, "placement.conf"),
                            "db", "sync"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        env = dict(os.environ, OS_PLACEMENT_CONFIG_DIR=self.dir)
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([self.api, "--host", "127.0.0.1", "--port", str(port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = "http://127.0.0.1:%d" % port
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Missing("placement-api exited with %d; see %s" % (self.proc.returncode, self.log.name))
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).read()
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise Missing("placement-api did not answer within 60 s")

    def halt(self):
        """Stop the server and keep its database (start() serves it again)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=dict(HEADERS))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        if status not in expect:
            raise AssertionError("%s %s -> %d %s" % (method, path, status, raw[:300]))
        return json.loads(raw) if raw else None

    def provider(self, name):
        rps = self.call("GET", "/resource_providers?name=" + name)["resource_providers"]
        return rps[0] if rps else None

    def traits(self, uuid):
        return self.call("GET", "/resource_providers/%s/traits" % uuid)

    def add_provider(self, name, traits=(), vcpu=8, parent=None):
        body = {"name": name}
        if parent:
            body["parent_provider_uuid"] = parent
        rp = self.call("POST", "/resource_providers", body)
        gen = rp["generation"]
        if vcpu:
            inv = self.call("PUT", "/resource_providers/%s/inventories" % rp["uuid"],
                            {"resource_provider_generation": gen, "inventories": {"VCPU": {"total": vcpu}}})
            gen = inv["resource_provider_generation"]
        for t in traits:
            if t.startswith("CUSTOM_"):
                self.call("PUT", "/traits/" + t)
        if traits:
            self.call("PUT", "/resource_providers/%s/traits" % rp["uuid"],
                      {"resource_provider_generation": gen, "traits": sorted(set(traits))})
        return rp["uuid"]
