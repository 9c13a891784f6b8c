"""Test hosts on one machine (issue 17): network namespaces joined by a bridge, as `ip netns` + veth make them.

    hosts = Hosts(prefix="bg1234", count=3)     # names derived from the prefix: several runs can coexist
    hosts.setup()                               # bridge 10.X.Y.1/24 in the root namespace, host N at 10.X.Y.(10+N)
    hosts.command(1, ["breakglass", "run", ...])  # argv that runs inside host 1's namespace
    hosts.cut(1) / hosts.heal(1)                # host 1's link down / up (its processes keep running, cut off)
    hosts.kill(1)                               # SIGKILL to every process inside host 1's namespace
    hosts.teardown()                            # kills what is left inside, deletes namespaces, veths and bridge

The root namespace is the "network": the broker nodes, PostgreSQL and the reference environment listen on the
bridge's address (`hosts.gateway`), which every host reaches; a host reaches nothing else, and its own loopback
(chromedriver, the worker's ops port) is its own. Needs root (CAP_NET_ADMIN) and iproute2.
"""
import os
import signal
import subprocess


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class Hosts:
    def __init__(self, prefix, count, subnet=None):
        self.prefix = prefix[:8]
        self.count = count
        # A /24 of its own per run, derived from the prefix (10.(100..199).(0..255).0/24).
        if subnet is None:
            digest = sum(prefix.encode()) * 7919 + len(prefix)
            subnet = f"10.{100 + digest % 100}.{digest // 100 % 256}"
        self.subnet = subnet
        self.bridge = f"{self.prefix}br"
        self.gateway = f"{subnet}.1"

    def namespace(self, index):
        return f"{self.prefix}-h{index}"

    def address(self, index):
        return f"{self.subnet}.{10 + index}"

    def _veth(self, index):
        return f"{self.prefix}v{index}"

    @staticmethod
    def available():
        """Whether namespaces can be made here (root, iproute2)."""
        if os.geteuid() != 0:
            return False
        try:
            return _ip("netns", "list", check=False).returncode == 0
        except FileNotFoundError:
            return False

    def setup(self):
        self.teardown()
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for index in range(1, self.count + 1):
            ns, veth = self.namespace(index), self._veth(index)
            _ip("netns", "add", ns)
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", veth, "master", self.bridge)
            _ip("link", "set", veth, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{self.address(index)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "route", "add", "default", "via", self.gateway)

    def command(self, index, argv):
        """`argv` run inside host `index` (same files, users and processes view; its own network)."""
        return ["ip", "netns", "exec", self.namespace(index), *[str(a) for a in argv]]

    def pids(self, index):
        result = _ip("netns", "pids", self.namespace(index), check=False)
        return [int(p) for p in result.stdout.split() if p.strip().isdigit()]

    def cut(self, index):
        """The host's link goes down: it can reach nothing and nothing reaches it; its processes run on."""
        _ip("link", "set", self._veth(index), "down")

    def heal(self, index):
        _ip("link", "set", self._veth(index), "up")

    def kill(self, index):
        """A whole host dies at once: SIGKILL to every process in its namespace."""
        pids = self.pids(index)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def teardown(self):
        for index in range(1, self.count + 1):
            ns = self.namespace(index)
            if _ip("netns", "pids", ns, check=False).returncode == 0:
                self.kill(index)
                _ip("netns", "delete", ns, check=False)
            _ip("link", "delete", self._veth(index), check=False)
        _ip("link", "delete", self.bridge, check=False)
