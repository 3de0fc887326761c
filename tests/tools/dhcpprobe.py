#!/usr/bin/env python3
"""dhcpprobe.py - send one DHCP request the way a PXE client (or a relay)
would, and print every reply that comes back within the timeout as one
JSON object per line.  For the boot tests: run inside the test's network
namespace.

  dhcpprobe.py [--to ADDR] [--port 67] [--src-port 68] [--type discover]
               [--arch N] [--vclass PXEClient:Arch:00000:UNDI:002001]
               [--user-class iPXE] [--ipxe] [--giaddr A] [--opt82 HEX]
               [--uuid HEX] [--ciaddr A] [--server-id A] [--item T]
               [--maxmsg N] [--mac 52:54:00:00:00:01] [--timeout 2]
               [--iface br0] [--raw HEX]   (send these bytes as they are)

Each reply: {"src": "a:p", "op": 2, "xid": .., "yiaddr", "siaddr",
"giaddr", "ciaddr", "file", "sname", "len", "opts": {code: hex}}.
"""
import argparse
import json
import os
import socket
import struct
import sys
import time

TYPES = {"discover": 1, "request": 3, "inform": 8, "release": 7}


def build(a):
    xid = int.from_bytes(os.urandom(4), "big")
    mac = bytes.fromhex(a.mac.replace(":", ""))
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, len(mac), 1 if a.giaddr else 0,
                      xid, 4, 0x8000 if a.broadcast else 0,
                      socket.inet_aton(a.ciaddr), bytes(4), bytes(4),
                      socket.inet_aton(a.giaddr or "0.0.0.0"),
                      mac.ljust(16, b"\0"), b"", b"")
    o = bytearray(b"\x63\x82\x53\x63")

    def opt(code, data):
        o.extend(bytes([code, len(data)]) + data)
    opt(53, bytes([TYPES[a.type]]))
    if a.server_id:
        opt(54, socket.inet_aton(a.server_id))
    if a.maxmsg:
        opt(57, struct.pack("!H", a.maxmsg))
    opt(55, bytes([1, 3, 43, 60, 66, 67, 97, 175]))
    if a.vclass:
        opt(60, a.vclass.encode())
    if a.arch is not None:
        opt(93, struct.pack("!H", a.arch))
        opt(94, bytes([1, 2, 1]))
    if a.uuid:
        opt(97, bytes.fromhex(a.uuid))
    if a.user_class:
        opt(77, a.user_class.encode())
    if a.ipxe:
        opt(175, bytes([19, 1, 1]))  # iPXE: "http" feature
    if a.item is not None:
        opt(43, bytes([71, 4]) + struct.pack("!HH", a.item, 0) + b"\xff")
    if a.opt82:
        opt(82, bytes.fromhex(a.opt82))
    o.append(255)
    return xid, hdr + bytes(o)


def parse(p):
    if len(p) < 240:
        return {"len": len(p), "short": True}
    f = struct.unpack("!BBBBIHH4s4s4s4s16s64s128s", p[:236])
    r = {"len": len(p), "op": f[0], "xid": f[4], "flags": f[6],
         "ciaddr": socket.inet_ntoa(f[7]), "yiaddr": socket.inet_ntoa(f[8]),
         "siaddr": socket.inet_ntoa(f[9]), "giaddr": socket.inet_ntoa(f[10]),
         "sname": f[12].split(b"\0")[0].decode("latin1"),
         "file": f[13].split(b"\0")[0].decode("latin1"), "opts": {}}
    i = 240
    while i < len(p):
        c = p[i]
        if c == 0:
            i += 1
            continue
        if c == 255 or i + 1 >= len(p):
            break
        n = p[i + 1]
        r["opts"][str(c)] = r["opts"].get(str(c), "") + p[i + 2:i + 2 + n].hex()
        i += 2 + n
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", default="255.255.255.255")
    ap.add_argument("--port", type=int, default=67)
    ap.add_argument("--src-port", type=int, default=68)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--iface", help="send and listen on this interface only")
    ap.add_argument("--type", default="discover", choices=TYPES)
    ap.add_argument("--arch", type=int)
    ap.add_argument("--vclass", default="PXEClient:Arch:00000:UNDI:002001")
    ap.add_argument("--user-class")
    ap.add_argument("--ipxe", action="store_true")
    ap.add_argument("--giaddr")
    ap.add_argument("--opt82")
    ap.add_argument("--uuid")
    ap.add_argument("--ciaddr", default="0.0.0.0")
    ap.add_argument("--server-id")
    ap.add_argument("--item", type=int)
    ap.add_argument("--maxmsg", type=int)
    ap.add_argument("--broadcast", action="store_true")
    ap.add_argument("--mac", default="52:54:00:00:00:01")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--count", type=int, default=1, help="requests to send")
    ap.add_argument("--raw")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.iface:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    s.bind((a.bind, a.src_port))
    if a.raw is not None:
        xid, pkt = None, bytes.fromhex(a.raw)
    else:
        xid, pkt = build(a)
    for _ in range(a.count):
        s.sendto(pkt, (a.to, a.port))
    end = time.monotonic() + a.timeout
    got = 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            p, src = s.recvfrom(65535)
        except socket.timeout:
            break
        r = parse(p)
        if xid is not None and r.get("xid") != xid:
            continue
        r["src"] = "%s:%d" % src
        print(json.dumps(r), flush=True)
        got += 1
    return 0 if got else 1


if __name__ == "__main__":
    sys.exit(main())
