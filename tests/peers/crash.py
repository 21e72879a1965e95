# A peer process that crashes (SIGKILL): what does the other end's recv() see?
# Prints one line per case: with nothing unread in the crashed peer's socket, and
# with bytes it never read. Then what connect() to a port nobody listens on raises.
import os
import signal
import socket
import subprocess
import sys

PEER = """
import socket, sys
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
if sys.argv[2] == "unread":
    sock.recv(1, socket.MSG_PEEK)  # the bytes have arrived, and stay unread
print("ready", flush=True)
sys.stdin.read()  # until it is killed
"""


def crash(case):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    peer = subprocess.Popen(
        [sys.executable, "-c", PEER, str(port), case],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    conn, _ = listener.accept()
    if case == "unread":
        conn.sendall(b"hello")
    assert peer.stdout.readline() == b"ready\n"
    peer.send_signal(signal.SIGKILL)
    peer.wait()
    try:
        print(case, conn.recv(16))
    except OSError as error:
        print(case, type(error).__name__)


crash("clean")
crash("unread")
listener = socket.create_server(("127.0.0.1", 0))
port = listener.getsockname()[1]
listener.close()
try:
    socket.create_connection(("127.0.0.1", port))
except OSError as error:
    print("nobody listening", type(error).__name__)
