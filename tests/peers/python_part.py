# Runs one part of a lesson's Python code over one plain loopback connection: no
# relay, no shim, no step gate. Used by tests/python_plain_peers.rs.
#
#   PORT=N python3 python_part.py FILE ROLE SIDE
#
# Connects to 127.0.0.1:PORT, imports FILE by path and runs
# PARTS[SIDE][0 if ROLE == "sender" else 1] with the connected socket. A sender reads
# its messages from stdin as JSON (a list of hex strings). A receiver prints each item
# it yields as one JSON line: {"message": "<hex>"} or {"report": "<kind>"}.
# Exit status 0 when the function returned; 1, with the exception on stderr, when it
# raised. The socket is closed when the function has returned.
#
# Optional, for the scenarios that tune the sender's socket (set before connect):
#   SOCKSTEP_SNDBUF=bytes  SOCKSTEP_RCVBUF=bytes  SOCKSTEP_SNDTIMEO_MS=ms
# and SOCKSTEP_INTERRUPT=1, which interrupts every blocking call with a signal every
# millisecond (Python retries them: PEP 475).
import importlib.util
import json
import os
import signal
import socket
import struct
import sys
import traceback

# The report each exception a receiver yields stands for, as src/engine/report.rs
# names them (a read timeout: WouldBlock on Unix, which Rust reports as timed-out).
REPORTS = [
    (socket.timeout, "timed-out"),
    (TimeoutError, "timed-out"),
    (BlockingIOError, "timed-out"),
    (ConnectionResetError, "connection-reset"),
    (BrokenPipeError, "broken-pipe"),
    (ConnectionAbortedError, "connection-aborted"),
    (ConnectionRefusedError, "connection-refused"),
]


def load(path):
    sys.dont_write_bytecode = True  # no __pycache__ next to the lesson files
    spec = importlib.util.spec_from_file_location("lesson", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def connect():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if "SOCKSTEP_SNDBUF" in os.environ:
        size = int(os.environ["SOCKSTEP_SNDBUF"])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    if "SOCKSTEP_RCVBUF" in os.environ:
        size = int(os.environ["SOCKSTEP_RCVBUF"])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    if "SOCKSTEP_SNDTIMEO_MS" in os.environ:
        ms = int(os.environ["SOCKSTEP_SNDTIMEO_MS"])
        timeval = struct.pack("ll", ms // 1000, (ms % 1000) * 1000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    sock.connect(("127.0.0.1", int(os.environ["PORT"])))
    # Small pieces leave at once, as on sockstep's connections.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def item(value):
    if isinstance(value, bytes):
        return {"message": value.hex()}
    for kind, name in REPORTS:
        if isinstance(value, kind):
            return {"report": name}
    raise TypeError(f"a receiver yielded {value!r}, neither bytes nor a network error")


def main():
    path, role, side = sys.argv[1:4]
    sender, receiver = load(path).PARTS[side]
    messages = None
    if role == "sender":
        messages = [bytes.fromhex(m) for m in json.load(sys.stdin)]
    elif role != "receiver":
        raise ValueError(f"ROLE is sender or receiver, not {role!r}")
    sock = connect()
    if os.environ.get("SOCKSTEP_INTERRUPT") == "1":
        signal.signal(signal.SIGALRM, lambda signum, frame: None)
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    try:
        if role == "sender":
            sender(sock, messages)
        else:
            for value in receiver(sock):
                print(json.dumps(item(value)), flush=True)
    finally:
        # Before Python restores the default action (which ends the process).
        signal.setitimer(signal.ITIMER_REAL, 0)
        sock.close()


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
