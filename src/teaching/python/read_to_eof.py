"""Lesson: when the end of the stream ends the message, the sender must half-close."""

import socket

MAX_REQUEST = 8 * 1024  # the server refuses a request longer than this
RESPONSE = b"HTTP/1.0 200 OK\r\n\r\nHello from the server.\n"  # what it answers


# ANCHOR: read_to_end
def read_to_end(sock, limit):
    """Reads until the peer closes its side, refusing more than `limit` bytes."""
    chunks = []
    got = 0
    while True:
        chunk = sock.recv(512)
        if chunk == b'':
            return b''.join(chunks)  # the end of the stream: the whole message
        got += len(chunk)
        if got > limit:
            raise ValueError("too long")
        chunks.append(chunk)
# ANCHOR_END: read_to_end


# ANCHOR: join_mistake
def read_to_end_as_text(sock):
    """The mistake: joining the chunks with '' as Python 2 code did. In Python 3
    recv() returns bytes, and ''.join() of bytes raises TypeError."""
    chunks = []
    while True:
        chunk = sock.recv(512)
        if chunk == b'':
            return ''.join(chunks)  # TypeError, as soon as one chunk has come
        chunks.append(chunk)
# ANCHOR_END: join_mistake


# The naive and correct anchors overlap: both show the server, which is the same.

# ANCHOR: naive
def naive_client(sock, requests):
    for request in requests:
        sock.sendall(request)
    # The server cannot know the request is over: the stream is still open.
    check(read_to_end(sock, len(RESPONSE)))


# ANCHOR: correct
def server(sock):
    """The request ends where the client's stream ends."""
    request = read_to_end(sock, MAX_REQUEST)
    yield request
    sock.sendall(RESPONSE)  # the client's side is closed; ours is still open
    # Returning closes the connection: that ends the response.
# ANCHOR_END: naive


def client(sock, requests):
    for request in requests:
        sock.sendall(request)
    sock.shutdown(socket.SHUT_WR)  # "that was all": the server's recv() returns b''
    check(read_to_end(sock, len(RESPONSE)))  # still open this way
# ANCHOR_END: correct


def check(response):
    if response != RESPONSE:
        raise ValueError("the response is not the one the server sends")


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (naive_client, server), "correct": (client, server)}
