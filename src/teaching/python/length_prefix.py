"""Lesson: a length prefix is bytes on a stream too, and can arrive split."""

# The protocol: each message is preceded by its length in five ASCII digits.
PREFIX_LEN = 5


# ANCHOR: send
def send(sock, messages):
    for message in messages:
        if len(message) > 99_999:
            raise ValueError("a message longer than 99,999 bytes does not fit five digits")
        sock.sendall(b'%05d' % len(message))
        sock.sendall(message)
# ANCHOR_END: send


# ANCHOR: parse
def parse_length(digits):
    if not digits.isdigit():
        raise ValueError(f"bad length {digits!r}")
    return int(digits)
# ANCHOR_END: parse


# ANCHOR: recv_all
def recv_all(sock, n):
    """Calls recv() until n bytes have arrived or the peer closes; returns them."""
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if chunk == b'':
            break  # closed
        data += chunk
    return data
# ANCHOR_END: recv_all


# ANCHOR: naive
def naive(sock):
    while True:
        prefix = sock.recv(PREFIX_LEN)  # assumes all five digits come in one recv()
        if prefix == b'':
            return
        length = parse_length(prefix)
        body = recv_all(sock, length)
        if len(body) < length:
            raise EOFError("the peer closed in the middle of a message")
        yield body
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock):
    while True:
        prefix = recv_all(sock, PREFIX_LEN)  # loop one: the whole prefix
        if prefix == b'':
            return  # closed between messages: a clean end
        if len(prefix) < PREFIX_LEN:
            raise EOFError("the peer closed in the middle of a length prefix")
        length = parse_length(prefix)  # five digits: never more than 99,999
        body = recv_all(sock, length)  # loop two: the whole body
        if len(body) < length:
            raise EOFError("the peer closed in the middle of a message")
        yield body
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
