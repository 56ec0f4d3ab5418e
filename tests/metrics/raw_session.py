#!/usr/bin/env python3
"""A normal session held open on a raw socket, for tests/metrics/run.sh.

Logs in (security stage straight to the full feature phase, AuthMethod=None),
prints "logged-in", waits for a line on stdin, then sends a PDU with a
vendor-specific opcode, which lunard answers with a Reject (RFC 7143 §11.17),
prints "reject 0xNN" with its reason, and closes.

Usage: raw_session.py HOST PORT TARGET INITIATOR
"""
import socket
import struct
import sys


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def recv_pdu(sock):
    bhs = recv_exact(sock, 48)
    dlen = int.from_bytes(bhs[5:8], "big")
    recv_exact(sock, (dlen + 3) & ~3)
    return bhs


def main():
    host, port, target, initiator = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sock = socket.create_connection((host, port), timeout=20)
    keys = (f"InitiatorName={initiator}\0SessionType=Normal\0TargetName={target}\0"
            "AuthMethod=None\0").encode()
    bhs = bytearray(48)
    bhs[0] = 0x40 | 0x03                 # immediate Login Request
    bhs[1] = 0x80 | (0 << 2) | 3         # T=1, CSG=security, NSG=full feature
    bhs[5:8] = len(keys).to_bytes(3, "big")
    bhs[8:14] = bytes([0x80, 0, 0, 0, 0x4d, 0x01])  # ISID: random format
    struct.pack_into(">I", bhs, 16, 1)   # ITT
    struct.pack_into(">I", bhs, 24, 1)   # CmdSN
    sock.sendall(bytes(bhs) + keys + b"\0" * (-len(keys) % 4))
    rsp = recv_pdu(sock)
    if rsp[0] & 0x3F != 0x23 or rsp[36] != 0 or not rsp[1] & 0x80 or rsp[1] & 3 != 3:
        print(f"login failed: opcode 0x{rsp[0]:02x} flags 0x{rsp[1]:02x} status {rsp[36]:02x}{rsp[37]:02x}",
              flush=True)
        return 1
    exp_statsn = struct.unpack_from(">I", rsp, 24)[0] + 1
    print("logged-in", flush=True)
    sys.stdin.readline()
    bad = bytearray(48)
    bad[0] = 0x40 | 0x1C                 # vendor-specific: not supported
    bad[1] = 0x80
    struct.pack_into(">I", bad, 16, 2)
    struct.pack_into(">I", bad, 24, 2)
    struct.pack_into(">I", bad, 28, exp_statsn)
    sock.sendall(bytes(bad))
    while True:
        pdu = recv_pdu(sock)
        if pdu[0] & 0x3F == 0x3F:
            print(f"reject 0x{pdu[2]:02x}", flush=True)
            break
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
