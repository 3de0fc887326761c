#!/usr/bin/env python3
"""udpdrop.py - a TFTP-aware UDP relay that drops every Nth datagram.

    udpdrop.py --listen ADDR:PORT --connect ADDR:PORT --every N [--pidfile F]

A client's first datagram to --listen opens a session: the relay sends it
on to --connect from a socket of its own (U).  The server answers U from a
new port (its transfer ID); the relay answers the client from another
socket of its own (C), so the client sees a transfer ID too, and relays
both ways from then on.  Every Nth datagram the relay receives (both
directions counted together) is dropped, so both DATA and ACKs get lost.
Sessions idle for 30 s are forgotten.  Bounded: at most 256 sessions.
"""
import argparse
import os
import select
import socket
import sys
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=addr, required=True)
    ap.add_argument("--connect", type=addr, required=True)
    ap.add_argument("--every", type=int, required=True)
    ap.add_argument("--pidfile")
    a = ap.parse_args()

    lsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lsock.bind(a.listen)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    # client addr -> session; socket -> (session, side)
    sessions = {}
    owner = {}
    count = 0
    dropped = 0

    def drop():
        nonlocal count, dropped
        count += 1
        if count % a.every == 0:
            dropped += 1
            print("dropped %d of %d" % (dropped, count), file=sys.stderr,
                  flush=True)
            return True
        return False

    while True:
        socks = [lsock] + list(owner.keys())
        r, _, _ = select.select(socks, [], [], 1.0)
        now = time.monotonic()
        for s in r:
            data, src = s.recvfrom(70000)
            if s is lsock:
                sess = sessions.get(src)
                if sess is None:
                    if len(sessions) >= 256:
                        continue
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    u.bind((a.listen[0], 0))
                    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    c.bind((a.listen[0], 0))
                    sess = {"client": src, "u": u, "c": c, "server": None,
                            "seen": now}
                    sessions[src] = sess
                    owner[u] = sess
                    owner[c] = sess
                sess["seen"] = now
                if not drop():
                    sess["u"].sendto(data, a.connect)
                continue
            sess = owner[s]
            sess["seen"] = now
            if s is sess["u"]:  # from the server
                sess["server"] = src
                if not drop():
                    sess["c"].sendto(data, sess["client"])
            elif src == sess["client"] and sess["server"] is not None:
                if not drop():
                    sess["u"].sendto(data, sess["server"])
        for k, sess in list(sessions.items()):
            if now - sess["seen"] > 30:
                for s in (sess["u"], sess["c"]):
                    owner.pop(s, None)
                    s.close()
                del sessions[k]


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
