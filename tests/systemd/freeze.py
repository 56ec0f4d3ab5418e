#!/usr/bin/env python3
"""Stops one thread (TID) of another process for SECONDS with ptrace, the
rest of the process running on, then lets it go: a data-plane loop stuck
for a while, as a blocking call or a deadlock would leave it. Exits 3 when
ptrace is not allowed here."""
import ctypes
import os
import sys
import time

PTRACE_SEIZE, PTRACE_INTERRUPT, PTRACE_DETACH = 0x4206, 0x4207, 17
WALL = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)
tid, seconds = int(sys.argv[1]), float(sys.argv[2])
if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
    print("ptrace: %s" % os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(3)
libc.ptrace(PTRACE_INTERRUPT, tid, None, None)
os.waitpid(tid, WALL)
print("frozen", flush=True)
time.sleep(seconds)
libc.ptrace(PTRACE_DETACH, tid, None, 0)
print("thawed", flush=True)
