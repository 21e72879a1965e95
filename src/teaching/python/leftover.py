"""Lesson: a recv() can return the end of one message and the start of the next."""

NEWLINE = b"\n"  # the protocol: each message is a line, ended by this byte
CHUNK = 4096  # how much each recv() asks for
MAX_LINE = 8192  # longest line the receiver keeps, so it cannot buffer forever


# ANCHOR: send
def send(sock, lines):
    # All the lines in one go: back to back on the wire.
    stream = b''
    for line in lines:
        if NEWLINE in line:
            raise ValueError("a line cannot contain a newline")
        stream += line + NEWLINE
    sock.sendall(stream)
# ANCHOR_END: send


# ANCHOR: errors
def too_long():
    return ValueError("a line longer than 8192 bytes")


def closed_mid_line():
    return EOFError("the peer closed in the middle of a line")
# ANCHOR_END: errors


# ANCHOR: naive
def read_line(sock):
    """Reads one line. Its buffer lives only as long as the call."""
    buf = b''
    while True:
        if NEWLINE in buf:
            line, _, _ = buf.partition(NEWLINE)  # what came after it is dropped
            return line
        if len(buf) > MAX_LINE:
            raise too_long()
        chunk = sock.recv(CHUNK)
        if chunk == b'':
            if buf == b'':
                return None
            raise closed_mid_line()
        buf += chunk


def naive(sock):
    while True:
        line = read_line(sock)
        if line is None:
            return
        yield line
# ANCHOR_END: naive


# ANCHOR: correct
class LineReader:
    """Reads lines, and keeps what it received after each one for the next call.
    (sock.makefile('rb') does the same: one file per connection, whose readline()
    keeps the rest in its buffer.)"""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''  # received, not yet returned: the leftover

    def read_line(self):
        while True:
            line, newline, rest = self.buf.partition(NEWLINE)
            if newline:
                if len(line) > MAX_LINE:
                    raise too_long()  # the limit is on the line, not on a recv()
                self.buf = rest  # the leftover stays, for the next call
                return line
            if len(self.buf) > MAX_LINE:
                raise too_long()
            chunk = self.sock.recv(CHUNK)
            if chunk == b'':
                if self.buf == b'':
                    return None
                raise closed_mid_line()
            self.buf += chunk


def correct(sock):
    lines = LineReader(sock)  # one reader for the whole connection
    while True:
        line = lines.read_line()
        if line is None:
            return
        yield line
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
