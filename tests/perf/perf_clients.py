#!/usr/bin/python3
"""Many-connection SMTP clients for the performance scripts in tests/perf/.

  perf_clients.py idle --port=P --count=N --server-pid=PID
      Opens N connections one after another, reads each one's 220 greeting,
      then reads the server's resident memory (VmRSS in /proc/PID/status) and
      socket count before and after, and prints KEY=VALUE lines (see below).
      Exit 0 only if every connection was established, greeted and still
      open when the memory was read.

  perf_clients.py slow --port=P --count=N
      Opens N connections, reads each 220, prints "ready ..." and then sends
      each connection one byte per second of an EHLO line that grows towards
      the 512-octet limit (slowloris-style), until SIGTERM; then prints
      KEY=VALUE lines. Exit 0 only if no connection was lost.

  perf_clients.py api --port=P --path=PATH [--path=PATH ...]
      GETs the PATHs in turn, one request at a time on one keep-alive
      connection to fakemx's HTTP API on 127.0.0.1:P, pausing --interval
      seconds after each answer, until SIGTERM, and
      prints the latency percentiles (p50, p99, max, in ms) and the count of
      requests and of errors (a status other than 200, a broken connection).
      The load a test suite puts on the API while mail flows: it asks, reads
      the answer, asks again.

KEY=VALUE lines go to stdout, one per line, so a shell script can read them
without parsing JSON; diagnostics go to stderr. Every wait is bounded.

The per-connection sockets need file descriptors: RLIMIT_NOFILE is raised
(resource.setrlimit) to what N needs, up to the hard limit, or the hard limit
too when running as root.
"""

import argparse
import os
import re
import resource
import select
import signal
import socket
import sys
import time

# A connection that does not get its greeting within this time counts as
# failed rather than stalling the script (RFC 5321 §4.5.3.2.1 lets a client
# wait 5 minutes for a 220; a local test server answers in microseconds).
GREETING_TIMEOUT_S = 10.0
# Longer than any real greeting; a server sending more without a final line
# is broken, and we stop reading rather than buffering without bound.
MAX_GREETING_BYTES = 4096
# RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with CRLF. The
# slow clients end their line before it so the server never has reason to
# close them for an overlong line; the figure is about slowness, not size.
SLOW_LINE_LIMIT = 500
# Descriptors beyond the N sockets: stdio, /proc reads, Python's own.
FD_MARGIN = 64


def raise_nofile(count):
    need = count + FD_MARGIN
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return
        except (ValueError, OSError) as e:
            sys.exit(f"perf_clients: need {need} file descriptors for {count} connections, "
                     f"the hard limit is {hard} and raising it failed ({e}); run as root "
                     f"or raise it (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def read_greeting(sock):
    """Reads one complete reply; returns its code, or None (with why) if it
    is not a complete 220 reply within GREETING_TIMEOUT_S."""
    deadline = time.monotonic() + GREETING_TIMEOUT_S
    buf = b""
    while True:
        # A reply ends with a line "DDD text" (no '-' after the code), RFC 5321 §4.2.1.
        for line in buf.split(b"\r\n")[:-1]:
            if re.match(rb"^\d{3}(?: |$)", line):
                code = line[:3].decode()
                return (code, None) if code == "220" else (None, f"greeting {line[:80]!r}")
        if len(buf) > MAX_GREETING_BYTES:
            return None, f"no final greeting line in {len(buf)} bytes"
        left = deadline - time.monotonic()
        if left <= 0:
            return None, "no greeting within %.0f s" % GREETING_TIMEOUT_S
        sock.settimeout(left)
        try:
            chunk = sock.recv(MAX_GREETING_BYTES)
        except socket.timeout:
            continue
        except OSError as e:
            return None, f"reading the greeting: {e}"
        if not chunk:
            return None, "closed before the greeting"
        buf += chunk


def open_greeted(port, count, label):
    """Opens `count` connections sequentially (one outstanding handshake at a
    time, so the listen backlog never overflows and no SYN is retried a
    second later) and reads each 220. Returns (sockets, failures)."""
    socks, failures = [], []
    for i in range(count):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=GREETING_TIMEOUT_S)
        except OSError as e:
            failures.append(f"connection {i}: connect: {e}")
            if len(failures) >= 10:
                break
            continue
        code, why = read_greeting(s)
        if code is None:
            failures.append(f"connection {i}: {why}")
            s.close()
            if len(failures) >= 10:
                break
            continue
        s.setblocking(False)
        socks.append(s)
        if (i + 1) % 2000 == 0:
            print(f"perf_clients: {label}: {i + 1} of {count} greeted", file=sys.stderr)
    return socks, failures


def proc_status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # "VmRSS:   12345 kB"
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def socket_fds(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass  # closed while we looked
    return n


def still_open(socks):
    """Sockets on which nothing has arrived: no EOF, no reset, no data (an
    idle connection after its greeting gets nothing until it speaks)."""
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
    return len(socks) - len(p.poll(0))


def emit(**kv):
    for k, v in kv.items():
        print(f"{k}={v}")
    sys.stdout.flush()


def cmd_idle(args):
    raise_nofile(args.count)
    pid = args.server_pid
    # Warm-up: whatever the server allocates once, on its first connections
    # (pools, the first capture records, lazily built tables), is not a
    # per-connection cost; take the baseline after it.
    warm, failures = open_greeted(args.port, args.warmup, "warm-up")
    if failures:
        sys.exit("perf_clients: warm-up failed: " + "; ".join(failures))
    for s in warm:
        s.close()
    time.sleep(args.settle)
    rss_before = proc_status_kib(pid, "VmRSS")
    fds_before = socket_fds(pid)
    started = time.monotonic()
    socks, failures = open_greeted(args.port, args.count, "idle")
    open_s = time.monotonic() - started
    time.sleep(args.settle)
    alive = still_open(socks)
    rss_after = proc_status_kib(pid, "VmRSS")
    fds_after = socket_fds(pid)
    for f in failures:
        print(f"perf_clients: {f}", file=sys.stderr)
    emit(requested=args.count, greeted=len(socks), open_after_settle=alive,
         open_seconds=f"{open_s:.1f}", rss_before_kib=rss_before, rss_after_kib=rss_after,
         server_sockets_before=fds_before, server_sockets_after=fds_after)
    for s in socks:
        s.close()
    return 0 if len(socks) == args.count and alive == args.count else 1


class Stop(Exception):
    pass


def cmd_slow(args):
    raise_nofile(args.count)

    def on_term(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    socks, failures = open_greeted(args.port, args.count, "slow")
    if failures or len(socks) != args.count:
        for f in failures:
            print(f"perf_clients: {f}", file=sys.stderr)
        emit(requested=args.count, greeted=len(socks))
        return 1
    print(f"ready {len(socks)} greeted in {time.monotonic() - started:.1f} s")
    sys.stdout.flush()

    # Each connection gets one byte per interval, spread evenly over the
    # interval (tick buckets) rather than 1,000 writes in one burst.
    ticks = 100
    line_pos = [0] * len(socks)
    alive = [True] * len(socks)
    lost = []
    bytes_sent = 0
    replies_bytes = 0
    index_of = {s.fileno(): i for i, s in enumerate(socks)}
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)

    def lose(i, why):
        if alive[i]:
            alive[i] = False
            lost.append(f"connection {i}: {why}")
            poller.unregister(socks[i])

    def next_byte(i):
        # "EHLO " then x's, ended with CRLF before the command-line limit,
        # then again: a client typing an endless greeting, slowly.
        pos = line_pos[i]
        line_pos[i] = (pos + 1) % (SLOW_LINE_LIMIT + 2)
        if pos < 5:
            return b"EHLO "[pos:pos + 1]
        if pos < SLOW_LINE_LIMIT:
            return b"x"
        return b"\r" if pos == SLOW_LINE_LIMIT else b"\n"

    tick = 0
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < args.max_seconds:
            for i in range(tick % ticks, len(socks), ticks):
                if not alive[i]:
                    continue
                try:
                    if socks[i].send(next_byte(i)) == 1:
                        bytes_sent += 1
                except BlockingIOError:
                    pass  # a full send buffer: this client is just slower
                except OSError as e:
                    lose(i, f"send: {e}")
            # Replies are rare (one per ~500 s per client) and EOF needs no
            # faster notice: poll ten times a second, not every tick, to keep
            # this process's own CPU use (it shares the machine) small.
            events = poller.poll(0) if tick % 10 == 0 else []
            for fd, ev in events:
                i = index_of[fd]
                try:
                    data = socks[i].recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    lose(i, f"recv: {e}")
                    continue
                if not data:
                    lose(i, "closed by the server")
                else:
                    replies_bytes += len(data)  # a reply to a completed EHLO line
            tick += 1
            sleep = t0 + tick * args.interval / ticks - time.monotonic()
            if sleep > 0:
                time.sleep(sleep)
    except Stop:
        pass
    elapsed = time.monotonic() - t0
    for why in lost[:10]:
        print(f"perf_clients: {why}", file=sys.stderr)
    cpu = os.times()
    emit(requested=args.count, greeted=len(socks), still_open=sum(alive), lost=len(lost),
         dribble_seconds=f"{elapsed:.1f}", bytes_sent=bytes_sent, reply_bytes=replies_bytes,
         bytes_per_second=f"{bytes_sent / elapsed if elapsed > 0 else 0:.0f}",
         client_cpu_seconds=f"{cpu.user + cpu.system:.1f}")
    for s in socks:
        s.close()
    return 0 if not lost else 1


def cmd_api(args):
    import http.client

    def on_term(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    latencies = []
    errors = []
    conn = None
    i = 0
    deadline = time.monotonic() + args.max_seconds
    try:
        while time.monotonic() < deadline:
            path = args.path[i % len(args.path)]
            i += 1
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as e:
                errors.append(f"{path}: {e!r}")
                conn.close()
                conn = None
                continue
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(f"{path}: HTTP {status}")
            if args.interval > 0:
                time.sleep(args.interval)
    except Stop:
        pass
    if conn is not None:
        conn.close()
    latencies.sort()

    def pct(q):
        if not latencies:
            return "nan"
        return f"{latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000:.2f}"

    for e in errors[:5]:
        print(f"perf_clients: {e}", file=sys.stderr)
    emit(requests=len(latencies), errors=len(errors), p50_ms=pct(0.50), p99_ms=pct(0.99),
         max_ms=f"{latencies[-1] * 1000:.2f}" if latencies else "nan")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    idle = sub.add_parser("idle", help="N idle greeted connections; server memory growth")
    idle.add_argument("--port", type=int, required=True)
    idle.add_argument("--count", type=int, required=True)
    idle.add_argument("--server-pid", type=int, required=True)
    idle.add_argument("--warmup", type=int, default=20)
    idle.add_argument("--settle", type=float, default=2.0,
                      help="seconds to wait before each memory reading")
    slow = sub.add_parser("slow", help="N connections dribbling one byte per interval")
    slow.add_argument("--port", type=int, required=True)
    slow.add_argument("--count", type=int, required=True)
    slow.add_argument("--interval", type=float, default=1.0, help="seconds between bytes")
    slow.add_argument("--max-seconds", type=float, default=1800,
                      help="stop on its own after this long (a bound if nobody sends SIGTERM)")
    api = sub.add_parser("api", help="GET API paths in turn until SIGTERM; latency percentiles")
    api.add_argument("--port", type=int, required=True)
    api.add_argument("--path", action="append", required=True)
    api.add_argument("--max-seconds", type=float, default=1800)
    api.add_argument("--interval", type=float, default=0.0,
                     help="seconds to pause after each answer (0: ask again at once)")
    args = p.parse_args()
    if args.cmd == "api":
        return cmd_api(args)
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    if not 1 <= args.count <= hi - lo:
        sys.exit(f"perf_clients: --count={args.count}: must be 1..{hi - lo}, the ephemeral "
                 f"ports of one source address (/proc/sys/net/ipv4/ip_local_port_range)")
    return cmd_idle(args) if args.cmd == "idle" else cmd_slow(args)


if __name__ == "__main__":
    sys.exit(main())
