"""Lesson: one send() can take fewer bytes than it was given."""

import select
import socket

UPLOAD_LEN = 9_000  # a few times what the small socket buffers hold
MAX_UPLOAD = 64 * 1024  # the receiver refuses an upload longer than this


# ANCHOR: naive
def naive(sock, uploads):
    for upload in uploads:
        sock.send(upload)  # returns how many bytes it took; ignored
    # Returning closes the connection: that ends the upload.
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock, uploads):
    # sendall() is this loop, but where a send timeout (SO_SNDTIMEO) passes it raises
    # BlockingIOError and cannot say how much it sent: so here the loop is written out.
    for upload in uploads:
        sent = 0
        while sent < len(upload):
            try:
                sent += sock.send(upload[sent:])  # a short count: send the rest next
            except (BlockingIOError, socket.timeout):
                # No room at all before the send timeout: wait for room, then again.
                select.select([], [sock], [])
            # A signal needs no case: Python retries an interrupted call (PEP 475).
            # Any other OSError (ConnectionResetError, BrokenPipeError) is a real
            # failure and goes up to the caller.
# ANCHOR_END: correct


# ANCHOR: receiver
def receive_upload(sock):
    """One upload per connection: everything until the sender closes."""
    upload = b''
    while True:
        chunk = sock.recv(4096)
        if chunk == b'':
            break  # the sender closed: the upload is complete
        if len(upload) + len(chunk) > MAX_UPLOAD:
            raise ValueError("an upload longer than 64 KiB")
        upload += chunk
    yield upload
# ANCHOR_END: receiver


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (naive, receive_upload), "correct": (correct, receive_upload)}
