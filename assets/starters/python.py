# A server for sockstep's challenge level "@LEVEL@":
#   @SUMMARY@
# The protocol, exactly:  sockstep challenge @LEVEL@ --spec
# Run the challenge:      sockstep challenge @LEVEL@ -- python3 server.py {port}
# (sockstep puts a free port in {port}; it is in SOCKSTEP_PORT too.)
#
# This skeleton listens and accepts connections, one at a time. The framing is
# yours: fill in handle().

import os
import socket
import sys


def handle(conn):
    """Serves one connection: reads the requests, sends the replies, and returns
    when the connection is done (the caller then closes it)."""
    # ---- YOUR CODE HERE -------------------------------------------------------
    # conn.recv(n) returns at most n bytes (b"" once the client has closed);
    # conn.sendall(data) sends all of data.
    pass
    # ---------------------------------------------------------------------------


def main():
    port = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SOCKSTEP_PORT")
    if port is None:
        sys.exit("usage: python3 server.py PORT (or set SOCKSTEP_PORT)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        # Lets the server listen again at once on a port it used before.
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", int(port)))
        server.listen()
        while True:
            conn, _address = server.accept()
            with conn:
                handle(conn)


if __name__ == "__main__":
    main()
