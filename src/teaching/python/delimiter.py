"""Lesson: messages end with a delimiter, and a recv() can end anywhere."""

DELIMITER = b"\n"  # the protocol: each message is a line, ended by this byte
CHUNK = 4096  # how much each recv() asks for
MAX_LINE = 8192  # longest line the receiver keeps, so it cannot buffer forever


# ANCHOR: send
def send(sock, lines):
    for line in lines:
        if DELIMITER in line:
            raise ValueError("a line cannot contain the delimiter")
        sock.sendall(line + DELIMITER)
# ANCHOR_END: send


# ANCHOR: naive
def naive(sock):
    while True:
        chunk = sock.recv(CHUNK)
        if chunk == b'':
            return
        # Takes each chunk for one whole line, with the delimiter at its end.
        yield chunk[:-1] if chunk.endswith(DELIMITER) else chunk
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock):
    buf = b''  # received, not yet delivered
    while True:
        chunk = sock.recv(CHUNK)
        if chunk == b'':
            if buf == b'':
                return  # closed between lines
            raise EOFError("the peer closed in the middle of a line")
        # Every delimiter ends a line; what follows the last one is the start of a
        # line still to come, kept for the next recv().
        *lines, buf = (buf + chunk).split(DELIMITER)
        for line in lines:
            check_length(line)
            yield line
        check_length(buf)  # already too long, before its end arrives?


def check_length(line):
    """Refuses a line longer than MAX_LINE: the limit is on the line, not a recv()."""
    if len(line) > MAX_LINE:
        raise ValueError("a line longer than 8192 bytes")
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
