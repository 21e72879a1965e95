"""Lesson: a tour of the screen, with two short words and one cut."""

# The protocol: the client sends words of exactly this many bytes.
WORD_LEN = 5


# ANCHOR: send
def send(sock, words):
    for word in words:
        if len(word) != WORD_LEN:
            raise ValueError("every word must be exactly five bytes")
        sock.sendall(word)
    # returning closes the connection
# ANCHOR_END: send


# ANCHOR: naive
def naive(sock):
    while True:
        word = sock.recv(WORD_LEN)  # one recv() per word
        if word == b'':
            return  # the client closed: no more words
        yield word
# ANCHOR_END: naive


# ANCHOR: correct
def correct(sock):
    while True:
        word = b''
        while len(word) < WORD_LEN:
            # As many recv() calls as it takes, each asking for what is missing.
            chunk = sock.recv(WORD_LEN - len(word))
            if chunk == b'':
                if word == b'':
                    return  # closed between words: the end
                raise EOFError("the client closed in the middle of a word")
            word += chunk
        yield word
# ANCHOR_END: correct


# Which function plays each part: read by sockstep, not part of the lesson.
PARTS = {"naive": (send, naive), "correct": (send, correct)}
