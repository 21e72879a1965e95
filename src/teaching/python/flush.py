"""Lesson: a buffered writer keeps what you write in your own memory until it is
flushed."""

REQUEST_LEN = 8  # the protocol: every request is exactly this many bytes...
REPLY = b"OK\n"  # ...and the server answers each one with this


# ANCHOR: recv_exact
def recv_exact(sock, n):
    """Calls recv() until n bytes have come; a close before that is an error."""
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if chunk == b'':
            raise EOFError("the peer closed before the whole reply arrived")
        data += chunk
    return data
# ANCHOR_END: recv_exact


# ANCHOR: naive
def naive(sock, requests):
    out = sock.makefile('wb')  # a buffered writer, like Rust's BufWriter
    for request in requests:
        out.write(request)  # copied into the buffer: nothing is sent yet
    for _ in requests:
        # Waits for answers to requests that are still in our own buffer.
        recv_exact(sock, len(REPLY))
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock, requests):
    out = sock.makefile('wb')
    for request in requests:
        out.write(request)
    out.flush()  # one send() for all the requests, before waiting for answers
    for _ in requests:
        if recv_exact(sock, len(REPLY)) != REPLY:
            raise ValueError("the server did not answer OK")
# ANCHOR_END: correct


# ANCHOR: server
def server(sock):
    """Reads one request at a time and answers it, until the client closes."""
    while True:
        request = b''
        while len(request) < REQUEST_LEN:
            # No retry for a signal here: Python retries an interrupted recv() itself
            # (PEP 475), where Rust returns ErrorKind::Interrupted.
            chunk = sock.recv(REQUEST_LEN - len(request))
            if chunk == b'':
                if request == b'':
                    return  # closed between requests: done
                raise EOFError("the client closed in the middle of a request")
            request += chunk
        yield request
        sock.sendall(REPLY)
# ANCHOR_END: server


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (naive, server), "correct": (correct, server)}
