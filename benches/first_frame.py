#!/usr/bin/env python3
"""Launch-to-first-frame of the TUI, measured as a terminal sees it: fork a 120x40
pseudo-terminal, exec the binary, and time until the header ("step 0") is drawn.
Runs several launches (a fresh process each) and prints each one and a summary.

    cargo build --release && python3 benches/first_frame.py [-n 20] [./target/release/sockstep tui 1]
"""
import fcntl, os, pty, select, struct, sys, termios, time

args = sys.argv[1:]
launches = 20
if args[:1] == ["-n"]:
    launches, args = int(args[1]), args[2:]
args = args or ["./target/release/sockstep", "tui", "1"]


def launch():
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        # The size is set before exec: set from the parent, it races the child's
        # first look at the terminal, which may then draw a 0x0 screen first.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.environ["SOCKSTEP_STATE_DIR"] = "/tmp/sockstep-first-frame"
        os.execv(args[0], args)
    buf, first = b"", None
    while b"step 0" not in buf:
        ready, _, _ = select.select([fd], [], [], 5)
        if not ready:
            break
        data = os.read(fd, 65536)
        if first is None:
            first = time.monotonic() - t0
        buf += data
    frame = time.monotonic() - t0 if b"step 0" in buf else None
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    os.close(fd)
    return first, frame


times = []
for _ in range(launches):
    first, frame = launch()
    if frame is None:
        sys.exit("no 'step 0' within 5 s")
    print("first byte %.1f ms, 'step 0' %.1f ms" % (first * 1000, frame * 1000))
    times.append(frame * 1000)
times.sort()
print(
    "%d launches: min %.1f, median %.1f, max %.1f ms; %d over 15 ms"
    % (len(times), times[0], times[len(times) // 2], times[-1], sum(t > 15 for t in times))
)
