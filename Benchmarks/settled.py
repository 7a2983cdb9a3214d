#!/usr/bin/env python3
"""Waits until a podman service shows exactly COUNT containers with label mn.deployment.key=KEY,
every one running and labelled mn.deployment.version=VERSION (so none of another version is
left, in any state), and prints the time it saw that (ns since the epoch).

It asks the podman service's REST API directly (one keep-alive connection, every 10 ms), so
the moment is seen within about 10-20 ms; `podman ps` from a shell costs 100-200 ms a look.

Usage: settled.py PODMAN_SOCKET KEY VERSION COUNT [TIMEOUT_S]   (exit 1 on timeout)
"""
import http.client
import json
import socket
import sys
import time
import urllib.parse


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def main():
    path, key, version, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120
    filters = urllib.parse.quote(json.dumps({"label": [f"mn.deployment.key={key}"]}))
    url = f"/v4.0.0/libpod/containers/json?all=true&filters={filters}"
    connection = UnixConnection(path)
    deadline = time.time() + timeout
    while time.time() < deadline:
        connection.request("GET", url)
        containers = json.loads(connection.getresponse().read())
        if len(containers) == count and all(
            c["State"] == "running" and (c.get("Labels") or {}).get("mn.deployment.version") == version for c in containers
        ):
            print(time.time_ns())
            return 0
        time.sleep(0.01)
    print(f"timed out after {timeout} s waiting for {count} running containers of {key} version {version}", file=sys.stderr)
    return 1


sys.exit(main())
