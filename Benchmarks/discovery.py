#!/usr/bin/env python3
"""Discovery benchmarks, with the release mnctl (and mnagent + podman for `rollback`).

  discovery.py resolve MNCTL SOCKET [RUNS]   1,000 instances registered (10 nodes × 100) straight
      into a fresh Redis: `mnctl service resolve` end to end (process start included), and the
      wake-up of a running `mnctl service watch` after a role flip is written (SET + PUBLISH on
      one connection), p50/p99.
  discovery.py rollback MNCTL RUNS            against a running mnagent (MN_NODE_ID, MN_STATE_DIR
      set): a canary waits for promotion; from the start of `mnctl deployment rollback` to a
      running `mnctl service watch --all-roles` printing the old primaries (as the new version)
      and no canary, p50/p99; also from the end of the mnctl process.
Prints figures; asserts nothing.
"""
import json, os, socket, subprocess, sys, tempfile, time

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

def report(name, ms):
    print("%-52s p50 %6.2f ms  p99 %6.2f ms  (n=%d)" % (name, pct(ms, 50), pct(ms, 99), len(ms)))

class Redis:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
    def reply(self):
        line = self.f.readline()
        if line[:1] == b"$":
            n = int(line[1:])
            return None if n < 0 else self.f.read(n + 2)[:-2]
        return line
    def call(self, *args):
        self.send(*args)
        return self.reply()

def resolve(mnctl, sock, runs):
    r = Redis(sock)
    url = "unix://" + sock
    nodes = ["bench-%02d" % n for n in range(10)]
    def assignment(node, flipped=False):
        return json.dumps({"instances": [
            {"id": {"key": "bench", "agent": "web", "index": i}, "version": 1,
             "role": "candidate" if flipped and i == 0 else "primary", "spec_hash": "s", "devices": []}
            for i in range(node * 100, node * 100 + 100)], "frozen": [], "checks": []})
    for n, node in enumerate(nodes):
        info = {"id": node, "address": "10.9.0.%d" % (n + 1), "os": "linux", "arch": "x86_64", "hostname": node, "meta": {},
                "capacity": {"cpu_millis": 4000, "memory_mb": 8192}, "devices": [], "eligible": True, "draining": False}
        services = [{"service": "bench", "instance": {"key": "bench", "agent": "web", "index": i}, "spec_hash": "s",
                     "container": "c%d" % i, "host_port": 30000 + i, "container_port": 8080, "tags": ["web"], "passing": True}
                    for i in range(n * 100, n * 100 + 100)]
        r.call("SADD", "mn:registry", node)
        r.call("SET", "mn:node:%s:info" % node, json.dumps(info))
        r.call("SET", "mn:node:%s:alive" % node, "1", "PX", "3600000")
        r.call("SET", "mn:node:%s:expires" % node, str(int(time.time() * 1000) + 3600000))
        r.call("SET", "mn:node:%s:report" % node, json.dumps({"node": node, "at": 0, "instances": [], "records": [], "services": services}))
        r.call("SET", "mn:node:%s:assignment" % node, assignment(n))
    out = subprocess.run([mnctl, "service", "resolve", "bench", "--redis", url, "--output", "json"], capture_output=True, check=True).stdout
    assert len(json.loads(out)["instances"]) == 1000
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([mnctl, "service", "resolve", "bench", "--redis", url, "--output", "json"], capture_output=True, check=True)
        ms.append((time.perf_counter() - t) * 1000)
    report("mnctl service resolve, 1,000 instances (process)", ms)
    t = time.perf_counter()
    subprocess.run([mnctl, "--help"], capture_output=True)
    print("  (an mnctl process that does nothing: %.1f ms)" % ((time.perf_counter() - t) * 1000))
    watch = subprocess.Popen([mnctl, "service", "watch", "bench", "--redis", url, "--output", "json"], stdout=subprocess.PIPE)
    watch.stdout.readline()
    ms = []
    for run in range(runs):
        flipped = run % 2 == 0
        t = time.perf_counter()
        r.send("SET", "mn:node:bench-00:assignment", assignment(0, flipped))
        r.send("PUBLISH", "mn:assigned", "bench-00")
        r.reply(); r.reply()
        line = watch.stdout.readline()
        ms.append((time.perf_counter() - t) * 1000)
        assert len(json.loads(line)["instances"]) == (999 if flipped else 1000)
    watch.terminate()
    report("service watch wakes after a role flip (1,000 inst.)", ms)

def rollback(mnctl, runs):
    d = tempfile.mkdtemp()
    def manifest(greeting, policy):
        path = os.path.join(d, greeting + ".json")
        with open(path, "w") as f:
            json.dump({"deployment": {"key": "rbd"}, "agents": [{"id": "web", "image": "localhost/mn-busybox:1", "count": 2,
                "args": ["httpd", "-f", "-p", "8080", "-h", "/www"], "env": {"GREETING": greeting},
                "ports": [{"name": "http", "container_port": 8080}],
                "health_checks": [{"kind": "http", "port": 8080, "path": "/", "interval_ms": 200, "timeout_ms": 200}],
                "services": [{"name": "rbd", "port": "http"}]}], "policies": {"update": policy}}, f)
        return path
    stable = manifest("stable", {"min_healthy_ms": 0})
    canary = manifest("canary", {"strategy": "canary", "canary": 1, "min_healthy_ms": 0})
    mn = lambda *a: subprocess.run([mnctl] + list(a), capture_output=True, text=True)
    def status():
        return json.loads(mn("deployment", "status", "rbd", "--output", "json").stdout)
    def until(cond, seconds=60):
        end = time.time() + seconds
        while time.time() < end:
            if cond():
                return
            time.sleep(0.05)
        raise SystemExit("timed out waiting: %s" % getattr(cond, "__name__", cond))
    subprocess.run([mnctl, "deployment", "deploy", stable, "--wait"], capture_output=True, check=True)
    watch = subprocess.Popen([mnctl, "service", "watch", "rbd", "--all-roles", "--output", "json"], stdout=subprocess.PIPE, text=True)
    lines = []
    import threading, queue
    q = queue.Queue()
    threading.Thread(target=lambda: [q.put((time.perf_counter(), l)) for l in watch.stdout], daemon=True).start()
    total, after = [], []
    for run in range(runs):
        deployed = mn("deployment", "deploy", canary)
        assert deployed.returncode == 0, deployed.stderr
        until(lambda: (status().get("rollout") or {}).get("awaiting_promotion"))
        until(lambda: any(i["deployment_role"] == "canary" and i["status"] == "passing"
                          for i in json.loads(mn("service", "resolve", "rbd", "--all-roles", "--output", "json").stdout)["instances"]))
        while not q.empty():
            q.get()
        stable_version = status()["stable_version"]
        t = time.perf_counter()
        out = mn("deployment", "rollback", "rbd", "--version", str(stable_version), "--reason", "bench")
        t_end = time.perf_counter()
        assert out.returncode == 0, out.stderr
        while True:
            at, line = q.get(timeout=30)
            instances = json.loads(line)["instances"]
            if len(instances) == 2 and all(i["deployment_role"] == "primary" for i in instances) and \
               all(i["deployment_version"] > stable_version for i in instances):
                break
        total.append((at - t) * 1000)
        after.append((at - t_end) * 1000)
        until(lambda: status()["status"].lower() == "running")
    watch.terminate()
    report("rollback of a canary -> old primaries served (total)", total)
    report("  of which after the mnctl process ended", after)

if __name__ == "__main__":
    if sys.argv[1] == "resolve":
        resolve(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 100)
    else:
        rollback(sys.argv[2], int(sys.argv[3]))
