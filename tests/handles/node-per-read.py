#!/usr/bin/env python3
# The oracle for hraw per-read: how Node itself binds received fds.
#   node-per-read.py NODE CHILD_JS
# A raw parent sends Node a stray fd with a plain line, then three handles
# each with its own fd, then a handle whose fd rides on the first fragment
# of its line.  Node must bind B, C, D, E to their own lines (the stray A
# is dropped, not carried to B), as the library does (childproc-ipc(7),
# "Handle passing").
import array, json, os, select, socket, subprocess, sys, time

node, child = sys.argv[1], sys.argv[2]
p, c = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
env = dict(os.environ, NODE_CHANNEL_FD='3', NODE_CHANNEL_SERIALIZATION_MODE='json')
proc = subprocess.Popen([node, child], env=env, close_fds=False,
                        preexec_fn=lambda: os.dup2(c.fileno(), 3))
c.close()

def pair(tag):
    a, b = socket.socketpair()
    b.sendall(tag.encode())
    b.close()
    return a

def send(line, fds=()):
    anc = []
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                array.array('i', [f.fileno() for f in fds]))]
    p.sendmsg([line.encode()], anc)
    for f in fds:
        f.close()

buf = b''
def lines(n, timeout=30):
    global buf
    end = time.time() + timeout
    while buf.count(b'\n') < n and time.time() < end:
        r, _, _ = select.select([p], [], [], 0.5)
        if r:
            d = p.recv(65536)
            if not d:
                break
            buf += d
    out = buf.decode().split('\n')[:n]
    buf = b'\n'.join(buf.split(b'\n')[n:])
    return [json.loads(l) for l in out]

def handle(tag):
    return json.dumps({'cmd': 'NODE_HANDLE', 'type': 'net.Socket', 'msg': tag},
                      separators=(',', ':')) + '\n'

fails = 0
def check(got, want):
    global fails
    if got != want:
        print('FAIL: got %r, want %r' % (got, want))
        fails += 1

send('"plain"\n', [pair('A')])
check(lines(1), [{'got': 'plain', 'handle': False}])
for t in 'BCD':
    send(handle(t), [pair(t)])
    check(sorted(lines(2), key=str), sorted([{'cmd': 'NODE_HANDLE_ACK'}, {'got': t, 'data': t}], key=str))
line = handle('E')
send(line[:20], [pair('E')])
time.sleep(0.3)
send(line[20:])
check(sorted(lines(2), key=str), sorted([{'cmd': 'NODE_HANDLE_ACK'}, {'got': 'E', 'data': 'E'}], key=str))
p.close()
proc.wait(timeout=30)
sys.exit(1 if fails else 0)
