"""Lesson: both ends of a connection are the same kind of socket; the protocol says
who speaks first."""

GREETING_LEN = 16  # the protocol: the client opens with a greeting this long...
WELCOME = b"welcome, client\n"  # ...and the server answers with this


# ANCHOR: recv_exact
def recv_exact(sock, n):
    """Calls recv() until n bytes have come; a close before that is an error."""
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if chunk == b'':
            raise EOFError("the peer closed before the whole message arrived")
        data += chunk
    return data
# ANCHOR_END: recv_exact


# The naive and correct anchors overlap: both show the server, which is the same.

# ANCHOR: naive
def naive_client(sock, greetings):
    """The client waits for the server to say something first."""
    recv_exact(sock, len(WELCOME))  # "the server will greet me"
    for greeting in greetings:
        sock.sendall(greeting)


# ANCHOR: correct
def server(sock):
    """The server waits for the client's greeting, then answers it."""
    greeting = recv_exact(sock, GREETING_LEN)  # "the client will greet me"
    yield greeting
    sock.sendall(WELCOME)
# ANCHOR_END: naive


def client(sock, greetings):
    """The client speaks first, as the protocol says, then waits for the answer."""
    for greeting in greetings:
        sock.sendall(greeting)
    if recv_exact(sock, len(WELCOME)) != WELCOME:
        raise ValueError("the server answered something else")
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (naive_client, server), "correct": (client, server)}
