# The peer resets the connection; what does a Python client see? Prints how SIGPIPE
# is handled, then the exception of a recv() and of the send() after it.
import signal
import socket
import struct

print(signal.getsignal(signal.SIGPIPE).name)
listener = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(listener.getsockname())
server, _ = listener.accept()
server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
server.close()  # SO_LINGER 0: a reset
for call in (lambda: client.recv(16), lambda: client.send(b"more")):
    try:
        call()
        print("no error")
    except OSError as error:
        print(type(error).__name__, isinstance(error, ConnectionError))
