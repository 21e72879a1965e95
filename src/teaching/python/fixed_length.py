"""Lesson: every message is exactly MSGLEN bytes, padded if it is shorter."""

MSGLEN = 16  # the protocol: every message is exactly this many bytes on the wire...
PAD = b"\0"  # ...filled up with this byte, which no message ends with


# ANCHOR: class
class FixedSocket:
    """A socket that sends and receives messages of exactly MSGLEN bytes."""

    def __init__(self, sock):
        self.sock = sock

    def send_message(self, message):
        """Pads `message` to MSGLEN bytes and sends them all."""
        if len(message) > MSGLEN or message.endswith(PAD):
            raise ValueError(
                "a message is at most 16 bytes and does not end in a NUL byte"
            )
        frame = message.ljust(MSGLEN, PAD)
        self.sock.sendall(frame)  # sendall() calls send() until every byte is out
# ANCHOR_END: class

    # ANCHOR: correct
    def recv_message(self):
        """Receives exactly MSGLEN bytes, in as many recv() calls as that takes, and
        strips the padding. None: the peer closed between messages."""
        frame = b''
        while len(frame) < MSGLEN:
            chunk = self.sock.recv(MSGLEN - len(frame))
            if chunk == b'':
                if frame == b'':
                    return None
                raise EOFError("the peer closed in the middle of a message")
            frame += chunk
        return unpad(frame)


def correct(sock):
    sock = FixedSocket(sock)
    while True:
        message = sock.recv_message()
        if message is None:
            return
        yield message
# ANCHOR_END: correct


# ANCHOR: unpad
def unpad(frame):
    """The message without the padding after it."""
    return frame.rstrip(PAD)
# ANCHOR_END: unpad


# ANCHOR: msglen_mistake
def send_unpadded(sock, message):
    """The mistake: a send loop that counts to MSGLEN over the message itself, with no
    padded frame. A shorter message runs out first: the next send() gets b'' and
    returns 0, which this loop takes for a broken connection. A longer one goes out
    whole, and every frame after it is out of step."""
    totalsent = 0
    while totalsent < MSGLEN:
        sent = sock.send(message[totalsent:])
        if sent == 0:
            raise RuntimeError("socket connection broken")
        totalsent += sent
# ANCHOR_END: msglen_mistake


# ANCHOR: send
def send(sock, messages):
    sock = FixedSocket(sock)
    for message in messages:
        sock.send_message(message)
# ANCHOR_END: send


# ANCHOR: naive
def naive(sock):
    while True:
        frame = sock.recv(MSGLEN)  # one recv(), as if it always returned MSGLEN bytes
        if frame == b'':
            return
        yield unpad(frame)
# ANCHOR_END: naive


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
