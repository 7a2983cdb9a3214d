#!/usr/bin/env python3
"""HTTP load through mn's discovery, for the traffic-safe stop tests.

Follows `mnctl service watch NAME --output json` (a blocking query: one line per change of
the passing primaries) and sends GET / requests, round robin over the instances it knows,
from several threads, each on a new connection (busybox httpd closes every one). A request
that gets no 200 — refused, reset, timed out, an error status — is a failure. It runs until
the stop file exists and at least --min-requests were sent, then prints one JSON line:
{"requests", "failed", "errors" (by kind), "no_instance_ms", "instances_seen", "rate"}. Each
failure also goes to stderr with the instance discovery named at that address and when it
appeared in and left discovery (a drained instance still served, or a new one not yet reachable).

Usage: loadgen.py --mnctl PATH --service NAME --stop-file F [--ready-file F] [--min-requests N]
                  [--threads N] [--connect-host H] [--lag-ms MS]
"""
import argparse, http.client, json, os, queue, subprocess, sys, threading, time

parser = argparse.ArgumentParser()
parser.add_argument("--mnctl", required=True)
parser.add_argument("--service", required=True)
parser.add_argument("--stop-file", required=True)
parser.add_argument("--ready-file")
parser.add_argument("--min-requests", type=int, default=10_000)
parser.add_argument("--threads", type=int, default=4)
parser.add_argument("--connect-host", help="connect here instead of each instance's address (its port kept)")
parser.add_argument("--lag-ms", type=int, default=0,
                    help="apply each change this late, as a client with a cache (DNS TTL, a proxy's reload) would")
args = parser.parse_args()

lock = threading.Lock()
targets = []          # [(address, port)] of the current passing primaries
seen = set()
stats = {"requests": 0, "failed": 0, "errors": {}, "no_instance_ms": 0}
done = threading.Event()
next_target = [0]

watch = subprocess.Popen([args.mnctl, "service", "watch", args.service, "--output", "json"],
                         stdout=subprocess.PIPE, text=True)

# What discovery said of each target: its instance and node, when it appeared in an answer and
# when it left one (for a failure's line on stderr: a target that had left, or had just come).
history = {}
previous = set()

def apply(found):
    with lock:
        targets[:] = found
        seen.update(found)

def remember(answer):
    now = time.time()
    current = set()
    with lock:
        for i in answer["instances"]:
            if not i.get("port"):
                continue
            key = (i["address"], i["port"])
            current.add(key)
            if key not in history or history[key]["left"] is not None:
                history[key] = {"instance": "%s on %s" % (i.get("instance"), i.get("node")), "appeared": now, "left": None}
        for key in previous - current:
            history[key]["left"] = now
        previous.clear()
        previous.update(current)

def describe(target):
    entry = history.get(target)
    if not entry:
        return "never in discovery"
    now = time.time()
    text = "%s, appeared in discovery %d ms before" % (entry["instance"], (now - entry["appeared"]) * 1000)
    if entry["left"] is not None:
        text += ", left it %d ms before" % ((now - entry["left"]) * 1000)
    return text

# Changes waiting for their lag, applied in the order they came by one thread (a timer thread
# per change could run out of order on a starved CPU and bring back an instance that had left).
lagged = queue.Queue()

def apply_lagged():
    while True:
        due, found = lagged.get()
        if found is None:
            return
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        apply(found)

def follow():
    first = True
    for line in watch.stdout:
        answer = json.loads(line)
        remember(answer)
        found = [(i["address"], i["port"]) for i in answer["instances"] if i.get("port")]
        if first or not args.lag_ms:
            apply(found)
        else:
            lagged.put((time.monotonic() + args.lag_ms / 1000, found))
        first = False
    lagged.put((0, None))
    done.set()

def pick():
    with lock:
        if not targets:
            return None
        next_target[0] = (next_target[0] + 1) % len(targets)
        return targets[next_target[0]]

def work():
    while not done.is_set():
        target = pick()
        if target is None:
            time.sleep(0.001)
            with lock:
                stats["no_instance_ms"] += 1
            continue
        host = args.connect_host or target[0]
        error = None
        try:
            connection = http.client.HTTPConnection(host, target[1], timeout=5)
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                error = "status %d" % response.status
        except Exception as e:  # refused, reset, timeout: all failures
            error = type(e).__name__
        with lock:
            stats["requests"] += 1
            ready = stats["requests"] - stats["failed"] == 1 and not error
            if error:
                stats["failed"] += 1
                stats["errors"][error] = stats["errors"].get(error, 0) + 1
                print("loadgen: %s:%s %s (%s)" % (host, target[1], error, describe(target)), file=sys.stderr)
        if args.ready_file and ready:
            open(args.ready_file, "w").close()

started = time.time()
threading.Thread(target=follow, daemon=True).start()
threading.Thread(target=apply_lagged, daemon=True).start()
workers = [threading.Thread(target=work) for _ in range(args.threads)]
for w in workers:
    w.start()
while not (os.path.exists(args.stop_file) and stats["requests"] >= args.min_requests):
    if watch.poll() is not None:
        print("loadgen: mnctl service watch ended", file=sys.stderr)
        break
    time.sleep(0.05)
done.set()
for w in workers:
    w.join()
watch.terminate()
stats["instances_seen"] = len(seen)
stats["rate"] = round(stats["requests"] / max(0.001, time.time() - started))
print(json.dumps(stats, sort_keys=True))
