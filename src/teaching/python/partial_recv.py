"""Lesson: a recv() returns what has arrived, not a message."""

GREETING_LEN = 32  # the protocol: one greeting of exactly this many bytes


# ANCHOR: send
def send(sock, messages):
    for message in messages:
        sock.sendall(message)  # loops until the kernel took every byte
# ANCHOR_END: send


# ANCHOR: naive
def naive(sock):
    # One recv() for one message: it returns whatever has arrived so far.
    greeting = sock.recv(GREETING_LEN)
    yield greeting
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock):
    greeting = b''
    while len(greeting) < GREETING_LEN:
        # Ask only for the bytes still missing, and add them after the others. (No
        # retry for a signal: Python retries an interrupted recv() itself, PEP 475.)
        chunk = sock.recv(GREETING_LEN - len(greeting))
        if chunk == b'':  # recv() returns b'' once the peer has closed
            raise EOFError("the peer closed before the whole greeting arrived")
        greeting += chunk
    yield greeting
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
