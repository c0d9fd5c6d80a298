#!/usr/bin/env python3
# notify.py PATH OUT - a NOTIFY_SOCKET for sd_notify(3) senders: binds the
# datagram socket PATH and appends each datagram to OUT as one line (its
# newlines shown as " | "), with the sender's pid (SO_PASSCRED) first:
#   PID READY=1 | STATUS=2 workers ready
# Runs until killed.
import os
import socket
import struct
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
with open(out, "a") as f:
    f.write("bound\n")
    f.flush()
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        f.write("%d %s\n" % (pid, msg.decode("utf-8", "replace").replace("\n", " | ")))
        f.flush()
