"""Lesson: a small request/response protocol that survives every cut."""

import json
import struct

# ANCHOR: header
FIXED = struct.Struct("!H")  # the protocol: 2 bytes, the JSON header's length...
CONTENT_TYPE = "text/plain; charset=utf-8"  # ...the JSON header: length and type...
MAX_BODY = 1 << 20  # ...then the body, never longer than this
# The JSON header is a dict: {"content-length": 5, "content-type": CONTENT_TYPE}.
# ANCHOR_END: header


# ANCHOR: write_message
def write_message(sock, body):
    """Writes one message: fixed header, JSON header, body."""
    header = {"content-length": len(body), "content-type": CONTENT_TYPE}
    # separators: no spaces, the same bytes as Rust's serde_json writes.
    header = json.dumps(header, separators=(",", ":")).encode()
    sock.sendall(FIXED.pack(len(header)) + header + body)  # struct.error past 65535
# ANCHOR_END: write_message


# ANCHOR: send
def send(sock, requests):
    """The client: a request, then the whole answer, then the next request."""
    for request in requests:
        write_message(sock, request)
        if read_message(sock) is None:
            raise EOFError("the server hung up without answering")
# ANCHOR_END: send


# ANCHOR: recv_all
def recv_all(sock, n):
    """Calls recv() until n bytes have come or the peer closes; returns them."""
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if chunk == b'':
            break  # closed
        data += chunk
    return data


def closed_mid_message():
    return EOFError("the peer closed in the middle of a message")
# ANCHOR_END: recv_all


# ANCHOR: naive
def naive(sock):
    while True:
        # One recv() per part, as if each part arrived whole.
        fixed = sock.recv(FIXED.size)
        if fixed == b'':
            return
        (header_len,) = FIXED.unpack(fixed)
        header = json.loads(sock.recv(header_len))
        if header["content-length"] > MAX_BODY:
            raise ValueError("body too long")
        body = sock.recv(header["content-length"])
        yield body
        write_message(sock, f"got {len(body)} bytes".encode())
# ANCHOR_END: naive


# ANCHOR: correct
def read_message(sock):
    """Reads one message, with a loop for each part. None: the peer closed between
    messages."""
    # Part one: the fixed header, the JSON header's length.
    fixed = recv_all(sock, FIXED.size)
    if fixed == b'':
        return None
    if len(fixed) < FIXED.size:
        raise closed_mid_message()
    (header_len,) = FIXED.unpack(fixed)
    # Part two: the JSON header (two bytes of length: never more than 65,535).
    header = recv_all(sock, header_len)
    if len(header) < header_len:
        raise closed_mid_message()
    header = json.loads(header)
    length = header["content-length"]
    if length > MAX_BODY:
        raise ValueError(f"a body of {length} bytes is over the limit")
    # Part three: exactly as many body bytes as the header says.
    body = recv_all(sock, length)
    if len(body) < length:
        raise closed_mid_message()
    return header, body


def correct(sock):
    while True:
        message = read_message(sock)
        if message is None:
            return  # the client closed between requests
        _header, request = message
        yield request
        write_message(sock, f"got {len(request)} bytes".encode())
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
