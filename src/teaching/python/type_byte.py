"""Lesson: a type byte says how long the rest of the message is; it can arrive alone."""


# ANCHOR: types
# The protocol: how many body bytes follow each type byte.
BODY_LEN = {
    b"P": 0,  # ping: the type byte alone
    b"T": 8,  # time of day, "HH:MM:SS"
    b"N": 20,  # a note of exactly 20 bytes
}
LONGEST = 1 + 20  # the longest message: a type byte and the longest body


def body_len(kind):
    if kind not in BODY_LEN:
        raise ValueError(f"unknown message type {kind!r}")
    return BODY_LEN[kind]
# ANCHOR_END: types


# ANCHOR: send
def send(sock, messages):
    for message in messages:
        if message == b'':
            raise ValueError("a message starts with its type byte")
        if len(message) != 1 + body_len(message[:1]):
            raise ValueError("the body's length does not match its type")
        sock.sendall(message)  # the type byte and the body, back to back
# ANCHOR_END: send


# ANCHOR: naive
def naive(sock):
    while True:
        # One recv() for the type byte and its body: they were sent together...
        data = sock.recv(LONGEST)
        if data == b'':
            return
        length = body_len(data[:1])
        yield data[: 1 + length]  # ...so surely they arrived together
# ANCHOR_END: naive


# ANCHOR: correct
def recv_exact(sock, n):
    """Calls recv() until n bytes have come; a close before that is an error."""
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if chunk == b'':
            raise EOFError("the peer closed in the middle of a message")
        data += chunk
    return data


def correct(sock):
    while True:
        # Step one: the type byte. One byte cannot be split, but it can come alone.
        kind = sock.recv(1)
        if kind == b'':
            return  # closed between messages
        # Step two: exactly as many bytes as the type says, however they arrive.
        body = recv_exact(sock, body_len(kind))
        yield kind + body
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
