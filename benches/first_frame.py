#!/usr/bin/env python3
"""Launch-to-first-frame of the TUI, measured as a terminal sees it: fork a 120x40
pseudo-terminal, exec the binary, and time until the header ("step 0") is drawn.

    cargo build --release && python3 benches/first_frame.py ./target/release/sockstep tui 1
"""
import os, pty, time, sys, select
args = sys.argv[1:] or ["./target/release/sockstep", "tui", "1"]
t0 = time.time()
pid, fd = pty.fork()
if pid == 0:
    os.environ["SOCKSTEP_STATE_DIR"] = "/tmp/sockstep-first-frame"
    os.execv(args[0], args)
import fcntl, termios, struct
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
buf = b""; first = None
while b"step 0" not in buf:
    r,_,_ = select.select([fd],[],[],5)
    if not r: break
    d = os.read(fd, 65536)
    if first is None: first = time.time()-t0
    buf += d
print("first byte %.1f ms, 'step 0' %.1f ms" % (first*1000, (time.time()-t0)*1000))
os.kill(pid, 9)
