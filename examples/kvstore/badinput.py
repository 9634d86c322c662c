#!/usr/bin/env python3
"""Bad input against a running kvstore cluster: malformed and truncated
peer frames, frames from unknown node ids or for another node, oversized
values and lines, NUL bytes, clients that disconnect mid-command. Each must
get a clear error or a dropped connection; afterwards every server is still
running and every acknowledged write is still there.

  badinput.py --bin build/kvstore [--port 17350]

Prints one line per check and ends with "N passed, N failed".
"""
import argparse
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import free_base  # noqa: E402

N = 3


def frame(ftype, frm, to, body, version=1, flags=0):
    return struct.pack(">IBBHii", 12 + len(body), version, ftype, flags, frm, to) + body


def appendentries(term=1, leader=99, entries=()):
    body = struct.pack(">iQqqqqI", leader, 1, term, 0, 0, 0, len(entries))
    for (t, data) in entries:
        body += struct.pack(">qihI", t, 7, 0, len(data)) + data
    return body


class T:
    def __init__(self, a):
        self.port = a.port
        self.data = tempfile.mkdtemp(prefix="kvbad.")
        self.procs = {}
        self.passed = self.failed = 0
        peers = ",".join("%d=127.0.0.1:%d" % (i, a.port + i - 1) for i in range(1, N + 1))
        for i in range(1, N + 1):
            log = open(os.path.join(self.data, "%d.log" % i), "w")
            self.procs[i] = subprocess.Popen(
                [os.path.join(a.bin, "kvserver"), "--id", str(i), "--dir", os.path.join(self.data, str(i)),
                 "--peers", peers, "--election-timeout", "300", "--request-timeout", "60"],
                stdout=log, stderr=log)

    def close(self):
        for p in self.procs.values():
            p.kill()
            p.wait()
        shutil.rmtree(self.data, ignore_errors=True)

    def check(self, name, cond):
        print("kv-badinput: %-60s %s" % (name, "ok" if cond else "FAILED"))
        if cond:
            self.passed += 1
        else:
            self.failed += 1

    def conn(self, i):
        s = socket.create_connection(("127.0.0.1", self.port + i - 1), timeout=3)
        s.settimeout(3)
        return s

    def cmd(self, i, line, timeout=10):
        """Sends to node i, following redirects; returns the reply line."""
        end = time.time() + timeout
        while time.time() < end:
            try:
                with self.conn(i) as s:
                    s.sendall(line if isinstance(line, bytes) else (line + "\n").encode())
                    buf = b""
                    while not buf.endswith(b"\n"):
                        c = s.recv(65536)
                        if not c:
                            break
                        buf += c
                    r = buf.decode(errors="replace").strip()
            except OSError:
                r = ""
            if r.startswith("REDIRECT "):
                i = int(r.split()[1])
                continue
            if r in ("", "ERR no leader"):
                time.sleep(0.1)
                i = i % N + 1
                continue
            return r
        return None

    def closed_by_server(self, s):
        """True when the server closes the connection (EOF or reset)."""
        try:
            s.settimeout(3)
            while True:
                c = s.recv(4096)
                if not c:
                    return True
        except ConnectionResetError:
            return True
        except OSError:
            return False

    def alive(self):
        return all(p.poll() is None for p in self.procs.values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/kvstore")
    ap.add_argument("--port", type=int, default=0, help="base port (0: pick free ports)")
    a = ap.parse_args()
    if a.port == 0:
        a.port = free_base(N)
    t = T(a)
    try:
        ok = t.cmd(1, "SET before acked", timeout=20)
        t.check("cluster accepts a write", ok == "OK")
        rng = random.Random(1)
        victim = 1

        for name, payload in [
            ("frame with an unknown version", frame(3, 2, victim, appendentries(), version=9)),
            ("frame with an unknown type", frame(42, 2, victim, b"")),
            ("frame with reserved flags set", frame(7, 2, victim, b"", flags=1)),
            ("frame whose length is below the header", struct.pack(">I", 3) + b"\x01\x07\x00\x00"),
            ("frame over the size limit", struct.pack(">I", 0x00ffffff) + b"\x01\x03" + b"\0" * 30),
            ("appendentries with a lying entry count",
             frame(3, 2, victim, appendentries()[:-4] + struct.pack(">I", 1000000))),
            ("appendentries with a negative term", frame(3, 2, victim, appendentries(term=-5))),
            ("frame addressed to another node", frame(7, 2, 3 if victim != 3 else 2, b"")),
        ]:
            s = t.conn(victim)
            s.sendall(payload)
            t.check(name + ": connection dropped", t.closed_by_server(s))
            s.close()

        s = t.conn(victim)
        s.sendall(frame(3, 2, victim, appendentries())[:20])
        s.close()
        t.check("truncated frame, then the peer disconnects", t.alive())

        for k in range(200):
            s = t.conn(rng.randint(1, N))
            s.sendall(b"\0" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))))
            s.close()
        t.check("200 connections of random bytes after a 0 byte", t.alive())

        s = t.conn(victim)
        s.sendall(frame(1, 77, victim, struct.pack(">BqiqqI", 0, 99, 77, 0, 0, 0)[:29]))
        s.sendall(frame(3, 77, victim, appendentries(term=1, leader=77, entries=[(1, b"Sjunk\0x")])))
        time.sleep(0.5)
        s.close()
        st = t.cmd(victim, "STATUS")
        t.check("votes and entries from unknown node id 77 change nothing",
                t.alive() and st is not None and "term=99" not in st)

        r = t.cmd(1, "SET big " + "x" * (600 * 1024))
        t.check("oversized value: clear error", r is not None and r.startswith("ERR value too large"))
        s = t.conn(1)
        s.sendall(b"SET huge " + b"y" * (1100 * 1024))
        try:
            buf = s.recv(4096)
        except OSError:
            buf = b""
        t.check("line over 1 MiB: error, then the connection is closed",
                buf.startswith(b"ERR line too long") and t.closed_by_server(s))
        s.close()
        r = t.cmd(1, b"GET a\0b\n")
        t.check("NUL byte in a command: clear error", r == "ERR NUL byte in command")
        r = t.cmd(1, "FROB x")
        t.check("unknown command: clear error", r == "ERR unknown command")
        r = t.cmd(1, "REMOVE-NODE 55")
        t.check("REMOVE-NODE of an unknown node id: clear error", r == "ERR unknown node 55")
        r = t.cmd(1, "ADD-NODE 5 nowhere")
        t.check("ADD-NODE with a bad address: clear error", r is not None and r.startswith("ERR usage"))

        for k in range(50):
            s = t.conn(rng.randint(1, N))
            s.sendall(b"SET half%d value-without-newline" % k)
            s.close()
        s = t.conn(1)
        s.sendall(b"SET a 1\nGET a\nSET b")
        s.close()
        t.check("clients disconnecting mid-command", t.alive())

        lead = None
        for i in range(1, N + 1):
            st = t.cmd(i, "STATUS")
            if st and " state=leader " in st:
                lead = i
        replies = []
        if lead:
            s = t.conn(lead)
            s.sendall(b"SET p 1\nGET p\nSET p 2\nGET p\nDEL p\nGET p\n")
            buf = b""
            try:
                while buf.count(b"\n") < 6:
                    c = s.recv(4096)
                    if not c:
                        break
                    buf += c
            except OSError:
                pass
            s.close()
            replies = buf.decode().split("\n")[:6]
        t.check("pipelined commands get their replies in order",
                replies == ["OK", "VALUE 1", "OK", "VALUE 2", "OK", "NOTFOUND"])

        r1 = t.cmd(2, "SET after ok")
        r2 = t.cmd(3, "GET before")
        r3 = t.cmd(1, "GET after")
        t.check("afterwards the cluster works and kept the acknowledged write",
                r1 == "OK" and r2 == "VALUE acked" and r3 == "VALUE ok")
        t.check("every server is still running", t.alive())
    finally:
        t.close()
    print("kv-badinput: %d passed, %d failed" % (t.passed, t.failed))
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
