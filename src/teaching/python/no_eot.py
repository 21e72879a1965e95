"""Lesson: on a connection that stays open, nothing marks where a message ends."""

NEWLINE = b"\n"  # the protocol: a request is one line of text, and so is the answer
MAX_LINE = 1024  # longest line either side accepts, so a line cannot grow forever


# ANCHOR: send
def send(sock, requests):
    """The client: one request, then it waits for the answer before the next one.
    The connection stays open the whole time."""
    for request in requests:
        if NEWLINE in request:
            raise ValueError("a request cannot contain a newline")
        sock.sendall(request + NEWLINE)
        if read_line(sock) is None:
            raise EOFError("the server hung up without answering")
    # Only now does the client close.
# ANCHOR_END: send


# ANCHOR: read_line
def read_line(sock):
    """Reads one line, one byte per recv(), so it never takes a byte of the next line.
    None: the peer closed before the line began."""
    line = b''
    while True:
        byte = sock.recv(1)
        if byte == b'':
            if line == b'':
                return None
            raise EOFError("the peer closed in the middle of a line")
        if byte == NEWLINE:
            return line
        if len(line) == MAX_LINE:
            raise ValueError("a line longer than 1024 bytes")
        line += byte
# ANCHOR_END: read_line


# ANCHOR: naive
def naive(sock):
    # Read the request: everything the client sends, until it is done.
    request = b''
    while True:
        chunk = sock.recv(1024)  # "done" is recv() returning b'': a close
        if chunk == b'':
            break
        request += chunk
    for line in request.split(NEWLINE):
        if line:
            yield line
            sock.sendall(b"OK\n")
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock):
    # The newline, not the connection, ends each request.
    while True:
        request = read_line(sock)
        if request is None:
            return  # the client closed between requests: it has nothing more to ask
        yield request
        sock.sendall(b"OK\n")
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
