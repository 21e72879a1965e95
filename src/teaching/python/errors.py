"""Lesson: when the network fails, a recv() or a send() raises an exception, and each
one means something different from the end of the stream."""

import socket
import struct

REQUEST_LEN = 16  # the protocol: every request is exactly this many bytes...
REPLY = b"OK\n"  # ...and the server answers each one with this
PATIENCE = 0.1  # seconds the server waits before it asks whether the client is there
ARE_YOU_THERE = b"??\n"  # what it asks
UNFINISHED = b"fetch report 02\n"  # the request the client starts and never finishes


def recv_exact(sock, n):
    """Calls recv() until n bytes have come; a close before that is an error."""
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if chunk == b'':
            raise EOFError("the peer closed before the whole answer arrived")
        data += chunk
    return data


# ANCHOR: client
def client(sock, requests):
    """A client that fails twice: it goes silent in the middle of a request, and when
    the server speaks to it, it sends a few more bytes, then its process dies and its
    kernel resets the connection."""
    for request in requests:
        sock.sendall(request)
        recv_exact(sock, len(REPLY))
    sock.sendall(UNFINISHED[: REQUEST_LEN // 2])  # half a request, then silence
    recv_exact(sock, 1)  # until the server says anything at all
    sock.sendall(UNFINISHED[REQUEST_LEN // 2 :][:4])  # a few more bytes...
    # ...and it dies: SO_LINGER 0, then close: RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
# ANCHOR_END: client


# ANCHOR: naive
def naive(sock):
    sock.settimeout(PATIENCE)
    while True:
        request = b''
        while len(request) < REQUEST_LEN:
            try:
                chunk = sock.recv(REQUEST_LEN - len(request))
            except OSError:
                break  # any exception: "the client has finished"
            if chunk == b'':
                break
            request += chunk
        if request == b'':
            return  # nothing more: the client has gone
        yield request
        sock.sendall(REPLY)
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock):
    # A timeout raises socket.timeout (an alias of TimeoutError since Python 3.10),
    # where Rust returns ErrorKind::WouldBlock on Unix.
    sock.settimeout(PATIENCE)
    request = b''
    asked = False
    while True:
        try:
            chunk = sock.recv(REQUEST_LEN - len(request))
        except socket.timeout as error:
            yield error  # tell the application: the client has gone silent
            if asked:
                return  # a second silence: given up on
            asked = True
            try:
                sock.sendall(ARE_YOU_THERE)  # ask once, and keep waiting
            except OSError as error:
                yield error  # BrokenPipeError or ConnectionResetError: it has gone
                return
            continue
        except OSError as error:
            yield error  # ConnectionResetError: the client died
            return
        if chunk == b'':
            if request == b'':
                return  # a clean close, between requests
            raise EOFError("the client closed in the middle of a request")
        request += chunk
        if len(request) == REQUEST_LEN:
            yield request
            request = b''
            try:
                sock.sendall(REPLY)
            except OSError as error:
                yield error
                return
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (client, naive), "correct": (client, correct)}
