"""Lesson: a recv() that returns b'' means the peer has closed its side."""


# ANCHOR: send
def send(sock, messages):
    for message in messages:
        sock.sendall(message)
    # Returning closes the socket: the peer's next recv() returns b''.
# ANCHOR_END: send


# ANCHOR: naive
def naive(sock):
    data = b''
    while True:
        chunk = sock.recv(16)
        # recv() returns bytes, and b'' == '' is False in Python 3: this test never
        # passes, so after the close the loop calls recv() forever.
        if chunk == '':
            break
        data += chunk
    yield data
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock):
    data = b''
    while True:
        chunk = sock.recv(16)
        if chunk == b'':
            break  # the peer closed: nothing more will ever come
        data += chunk
    yield data
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
