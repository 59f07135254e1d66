"""A real, throwaway Redis Cluster: 3 masters with one replica each, from the machine's ``redis-server`` 7
(for the tests and ``python -m bench realtime --redis-shards 3``).

``RedisCluster.start`` runs six ``redis-server`` processes with ``cluster-enabled yes`` on ephemeral
loopback ports (bus ports chosen too), in a temporary directory, joins them with ``redis-cli --cluster
create ... --cluster-replicas 1``, and waits until every node reports ``cluster_state:ok``. A short
``cluster-node-timeout`` makes a killed master's replica take over within about two seconds. Tests kill
a master (SIGKILL), fail over, and move slots between masters with the helpers here.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis
from redis.crc import key_slot

from delete_api.start_banner import free_port

NODE_TIMEOUT_MS = 1000
READY_TIMEOUT_S = 30.0
START_ATTEMPTS = 5  # spawns of one node on fresh ports
MIN_MAJOR = 7


def _fresh_port(taken: set[int]) -> int:
    """A free loopback port none of this cluster's nodes was given."""
    while True:
        port = free_port("127.0.0.1")
        if port not in taken:
            taken.add(port)
            return port


def _pongs(port: int) -> bool:
    """True if a Redis answers PING on ``port`` within half a second (a plain socket: no client retries, so a
    port some other process took answers False quickly)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _log_tail(directory: Path, lines: int = 5) -> str:
    try:
        return " | ".join((directory / "redis.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def redis_server_binary() -> str | None:
    """The ``redis-server`` binary if it is version 7 or later (sharded pub/sub), else None."""
    path = shutil.which("redis-server")
    if path is None or shutil.which("redis-cli") is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True,  # noqa: S603 - fixed argv
                         check=False).stdout
    found = re.search(r"v=(\d+)\.", out)
    return path if found and int(found.group(1)) >= MIN_MAJOR else None


@dataclass
class ClusterNode:
    """One ``redis-server`` of the cluster."""

    port: int
    bus_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, socket_timeout=5, decode_responses=True)

    def command(self, *args: Any) -> Any:
        """One command on this node, over a short-lived connection (the node may have been restarted)."""
        with self.client() as client:
            return client.execute_command(*args)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class RedisClusterHarness:
    """Six nodes (3 masters, 3 replicas) under ``root``; ``url`` is the ``redis+cluster://`` URL of all of them."""

    root: Path
    binary: str
    nodes: list[ClusterNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(n.address for n in self.nodes)

    def start(self, count: int = 6) -> None:
        """Start the servers, create the cluster and wait until it is healthy."""
        taken: set[int] = set()
        for i in range(count):
            directory = self.root / f"node-{i}"
            directory.mkdir(parents=True, exist_ok=True)
            self.nodes.append(self._started(directory, taken))
        subprocess.run([shutil.which("redis-cli") or "redis-cli", "--cluster", "create",  # noqa: S603 - fixed argv
                        *(n.address for n in self.nodes),
                        "--cluster-replicas", "1", "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)
        self.wait_healthy()

    def _spawn(self, node: ClusterNode) -> None:
        log = (node.directory / "redis.log").open("ab")
        node.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [self.binary, "--port", str(node.port), "--cluster-port", str(node.bus_port), "--bind", "127.0.0.1",
             "--cluster-enabled", "yes", "--cluster-config-file", str(node.directory / "nodes.conf"),
             "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--cluster-replica-validity-factor", "0",
             "--dir", str(node.directory), "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def _started(self, directory: Path, taken: set[int]) -> ClusterNode:
        """A node answering on two ports picked free; spawned again on others when it exits at start (a port was
        taken by another process between the pick and the bind, or picked twice)."""
        for _ in range(START_ATTEMPTS):
            node = ClusterNode(_fresh_port(taken), _fresh_port(taken), directory)
            self._spawn(node)
            if self._answers(node):
                return node
            if node.running:  # up but silent for READY_TIMEOUT_S: not a port clash
                break
        raise AssertionError(f"redis-server in {directory} did not start: {_log_tail(directory)}")

    def _wait_ping(self, node: ClusterNode) -> None:
        if not self._answers(node):
            raise AssertionError(f"redis-server on {node.port} did not start: {_log_tail(node.directory)}")

    def _answers(self, node: ClusterNode) -> bool:
        """True once the node answers PING; False if it exits first or stays silent for READY_TIMEOUT_S."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if _pongs(node.port):
                return True
            if not node.running:
                return False
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        for node in self.nodes:
            if node.running:
                assert node.process is not None
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait(5)

    # -- topology ------------------------------------------------------------------------------------

    def running_nodes(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.running]

    def node_at(self, port: int) -> ClusterNode:
        return next(n for n in self.nodes if n.port == port)

    def slot_owner(self, slot: int) -> ClusterNode:
        """The master that serves ``slot`` now (as a running node sees it)."""
        for host_ports in self.running_nodes()[0].command("CLUSTER", "SLOTS"):
            start, end, master = int(host_ports[0]), int(host_ports[1]), host_ports[2]
            if start <= slot <= end:
                return self.node_at(int(master[1]))
        raise AssertionError(f"slot {slot} is served by no master")

    def owner_of(self, key: str) -> ClusterNode:
        return self.slot_owner(key_slot(key.encode()))

    def masters(self) -> list[ClusterNode]:
        return [n for n in self.running_nodes() if _role(n) == "master"]

    def node_id(self, node: ClusterNode) -> str:
        return str(node.command("CLUSTER", "MYID"))

    def wait_healthy(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until every running node says ``cluster_state:ok`` and every slot has a master that answers."""
        deadline = time.monotonic() + timeout_s
        last = ""
        while time.monotonic() < deadline:
            try:
                states = [n.command("CLUSTER", "INFO") for n in self.running_nodes()]
                last = " / ".join(s.split("\r\n")[0] for s in states)
                if all("cluster_state:ok" in s for s in states) and len(self.masters()) >= 3:
                    return
            except Exception as exc:  # a node that is still failing over
                last = repr(exc)
            time.sleep(0.1)
        raise AssertionError(f"cluster not healthy within {timeout_s:.0f}s: {last}")

    def kill(self, node: ClusterNode) -> None:
        """SIGKILL one node (no goodbye to anyone)."""
        assert node.process is not None
        node.process.kill()
        node.process.wait(5)

    def restart(self, node: ClusterNode) -> None:
        """Start a killed node again with its cluster config (it rejoins, as a replica if it was replaced)."""
        self._spawn(node)
        self._wait_ping(node)

    def replica_of(self, master: ClusterNode) -> ClusterNode:
        master_id = self.node_id(master)
        for line in master.command("CLUSTER", "NODES").splitlines():
            parts = line.split()
            if "slave" in parts[2] and parts[3] == master_id and "fail" not in parts[2]:
                return self.node_at(int(parts[1].split("@")[0].rsplit(":", 1)[1]))
        raise AssertionError(f"no replica of {master.address}")

    def wait_promoted(self, replica: ClusterNode, timeout_s: float = 15.0) -> None:
        """Wait until ``replica`` took over as master and the cluster is healthy again."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _role(replica) == "master":
                self.wait_healthy(max(1.0, deadline - time.monotonic()))
                return
            time.sleep(0.05)
        raise AssertionError(f"{replica.address} was not promoted within {timeout_s:.0f}s")

    def migrate_slot(self, slot: int, target: ClusterNode) -> ClusterNode:
        """Move ``slot`` (and its keys) to master ``target`` the way ``redis-cli --cluster reshard`` does."""
        source = self.slot_owner(slot)
        assert source.port != target.port, "the slot is already there"
        source_id, target_id = self.node_id(source), self.node_id(target)
        target.command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while keys := source.command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            source.command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
        others = [m for m in self.masters() if m.port not in (source.port, target.port)]
        for node in (target, source, *others):
            node.command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        return source


def _role(node: ClusterNode) -> str:
    try:
        return str(node.command("ROLE")[0])
    except Exception:
        return "down"
