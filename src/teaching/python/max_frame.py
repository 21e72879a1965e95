"""Lesson: a length prefix comes from the peer; check it before you believe it."""

import struct

PREFIX = struct.Struct("!I")  # the protocol: a 4-byte big-endian length...
MAX_FRAME = 64 * 1024  # ...and no frame may be longer than this

CLAIMED = 4_000_000_000  # what the lying prefix claims: almost 4 GB
SENT_OF_IT = b"the first bytes of a 4 GB frame, and then nothing"


def the_lie():
    """The bytes after the honest frames: the lying prefix and the start of its
    "frame"."""
    return PREFIX.pack(CLAIMED) + SENT_OF_IT


# ANCHOR: send
def send(sock, messages):
    """A peer that sends honest frames, then a prefix that claims CLAIMED bytes and a
    few of them, and then waits for an answer with the connection open."""
    for message in messages:
        sock.sendall(PREFIX.pack(len(message)))  # struct.error past 4 GB
        sock.sendall(message)
    sock.sendall(the_lie())
    # Wait for the answer: a line, or the server hanging up. A server that hangs up
    # with our bytes unread resets the connection: that is hanging up too.
    answer = b''
    while b"\n" not in answer and len(answer) < 1024:
        try:
            chunk = sock.recv(256)
        except ConnectionResetError:
            break
        if chunk == b'':
            break
        answer += chunk
# ANCHOR_END: send


# ANCHOR: prefix
def read_prefix(sock):
    """Reads the 4-byte prefix in as many recv() calls as it takes.
    None: the peer closed between frames."""
    prefix = b''
    while len(prefix) < PREFIX.size:
        chunk = sock.recv(PREFIX.size - len(prefix))
        if chunk == b'':
            if prefix == b'':
                return None
            raise EOFError("the peer closed in the middle of a length prefix")
        prefix += chunk
    (length,) = PREFIX.unpack(prefix)
    return length
# ANCHOR_END: prefix


# ANCHOR: naive
def naive(sock):
    while True:
        length = read_prefix(sock)
        if length is None:
            return
        # Believes the prefix, whatever it says, and collects that many bytes.
        body = b''
        while len(body) < length:
            chunk = sock.recv(min(length - len(body), 4096))
            if chunk == b'':
                raise EOFError("the peer closed in the middle of a frame")
            body += chunk  # grows with every byte that comes
        yield body
# ANCHOR_END: naive


# ANCHOR: correct
def read_frame(sock):
    """Reads one frame, refusing any prefix over MAX_FRAME before reading its body."""
    length = read_prefix(sock)
    if length is None:
        return None
    if length > MAX_FRAME:
        raise ValueError(
            f"a frame of {length} bytes is over the limit of {MAX_FRAME}"
        )
    body = b''  # at most MAX_FRAME
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if chunk == b'':
            raise EOFError("the peer closed in the middle of a frame")
        body += chunk
    return body


def correct(sock):
    while True:
        try:
            body = read_frame(sock)
        except ValueError as error:
            # The peer broke the protocol. Say why, and hang up: after a bad
            # prefix, nothing tells where the next frame would start.
            sock.sendall(f"ERR {error}\n".encode())
            return
        if body is None:
            return  # closed between frames
        yield body
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
