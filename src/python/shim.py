# sockstep's shim: runs the parts (sender, receiver) of a lesson's Python code, each
# in a process forked from this one on sockstep's request, on a connected socket it
# is handed, and tells sockstep about every call on it over a control channel, one
# JSON object a line (the protocol of src/engine/external.rs). Before each call it
# waits for sockstep's "go": the step gate. Not lesson code: the lesson file never
# sees it, only the socket it wraps.
#
# argv: FILENAME SOURCE. Environment: SOCKSTEP_SERVER_FD, where requests come in.

import array
import fcntl
import io
import json
import os
import signal
import socket
import struct
import sys
import termios

FILENAME, SOURCE = sys.argv[1:3]
# The kernel's queues are measured with Linux's ioctls; elsewhere not at all.
MEASURES_QUEUES = sys.platform.startswith("linux")


class Control:
    """The control channel: reports out, permission to go on in."""

    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.reader = self.sock.makefile("rb")

    def tell(self, **report):
        self.sock.sendall(json.dumps(report).encode() + b"\n")

    def read(self):
        line = self.reader.readline()
        if not line:
            os._exit(3)  # sockstep has gone: nothing left to report to
        return json.loads(line)

    def ask(self, kind, line):
        """Waits at the gate until sockstep lets the call start."""
        self.tell(op="begin", kind=kind, line=line)
        if self.read() != "go":
            os._exit(3)


def lesson_line():
    """The line of the lesson file that made the call being traced."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == FILENAME:
            return frame.f_lineno
        frame = frame.f_back
    return None


def failure(error):
    """How an exception is named in the trace: an OSError by its errno (sockstep
    names it as Rust does), a timeout as timed-out, a few others by what they mean."""
    if isinstance(error, (socket.timeout, BlockingIOError)):
        return {"errno": None, "timeout": True, "error": None, "message": str(error)}
    if isinstance(error, OSError) and error.errno is not None:
        return {"errno": error.errno, "timeout": False, "error": None, "message": str(error)}
    names = {EOFError: "unexpected-eof", ValueError: "invalid-data"}
    name = next((n for t, n in names.items() if isinstance(error, t)), type(error).__name__)
    message = "%s: %s" % (type(error).__name__, error)
    return {"errno": None, "timeout": False, "error": name, "message": message}


def no_flags(flags):
    # MSG_PEEK and the like would move bytes sockstep does not count.
    if flags:
        raise ValueError("sockstep's socket takes no flags (got %r)" % flags)


class TracedSocket:
    """The socket the lesson code is given: each call is the real call on the real
    socket, reported to sockstep, made only when sockstep says go."""

    def __init__(self, sock, control):
        self._sock = sock
        self._control = control
        self._closed = False

    def _queues(self):
        """The socket's kernel queues now: bytes not yet acknowledged (SIOCOUTQ, the
        same number as TIOCOUTQ) and bytes not yet read (FIONREAD)."""
        if not MEASURES_QUEUES or self._closed:
            return None
        try:
            sizes = [struct.unpack("i", fcntl.ioctl(self._sock.fileno(), request, b"\0" * 4))[0]
                     for request in (termios.TIOCOUTQ, termios.FIONREAD)]
        except OSError:
            return None
        return {"send": sizes[0], "recv": sizes[1]}

    def _end(self, **report):
        """Tells sockstep how a call on this socket ended, with its queues after it."""
        self._control.tell(op="end", queues=self._queues(), **report)

    def _call(self, gate, call, asked, line, operation, **effect):
        """Makes one traced call: `operation` returns (result, bytes moved)."""
        self._control.ask(gate, line)
        try:
            result, moved = operation()
        except Exception as error:  # the call failed: recorded, then raised as it was
            self._end(call=call, asked=asked, bytes=[], line=line, failed=failure(error),
                      **effect)
            raise
        self._end(call=call, asked=asked, bytes=list(bytes(moved)), line=line,
                  failed=None, **effect)
        return result

    def _send(self, data, line):
        data = memoryview(data).cast("B")

        def operation():
            n = self._sock.send(data)
            return n, data[:n]
        return self._call("write", "send", len(data), line, operation)

    def _recv_into(self, buffer, nbytes, line):
        view = memoryview(buffer).cast("B")
        asked = nbytes or len(view)

        def operation():
            n = self._sock.recv_into(view, asked)
            return n, view[:n]
        return self._call("read", "recv", asked, line, operation)

    def send(self, data, flags=0):
        no_flags(flags)
        return self._send(data, lesson_line())

    def sendall(self, data, flags=0):
        # Python's sendall is this loop, in C: send() until every byte is taken.
        no_flags(flags)
        line = lesson_line()
        view = memoryview(data).cast("B")
        while view:
            view = view[self._send(view, line):]

    def recv(self, bufsize, flags=0):
        no_flags(flags)
        line = lesson_line()

        def operation():
            data = self._sock.recv(bufsize)
            return data, data
        return self._call("read", "recv", bufsize, line, operation)

    def recv_into(self, buffer, nbytes=0, flags=0):
        no_flags(flags)
        return self._recv_into(buffer, nbytes, lesson_line())

    def shutdown(self, how):
        closes = how in (socket.SHUT_WR, socket.SHUT_RDWR)
        return self._call("other", "shutdown", 0, lesson_line(),
                          lambda: (self._sock.shutdown(how), b""), closes_output=closes)

    def settimeout(self, timeout):
        self._set_timeout(timeout, lesson_line())

    def setblocking(self, flag):
        self._set_timeout(None if flag else 0.0, lesson_line())

    def _set_timeout(self, timeout, line):
        # A read that times out (or does not block) returns by itself: never stuck.
        self._call("other", "set-timeout", 0, line,
                   lambda: (self._sock.settimeout(timeout), b""),
                   timed_reads=timeout is not None)

    def gettimeout(self):
        return self._sock.gettimeout()

    def setsockopt(self, *args):
        return self._sock.setsockopt(*args)

    def getsockopt(self, *args):
        return self._sock.getsockopt(*args)

    def fileno(self):
        return self._sock.fileno()

    def close(self):
        if self._closed:
            return
        line = lesson_line()
        onoff, linger = struct.unpack(
            "ii", self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8))
        aborts = onoff and linger == 0
        if aborts:
            self._control.ask("other", line)
        # sockstep closes its own handles on the socket first, so that this close is
        # the last one and really ends the connection (a FIN, or with SO_LINGER 0 a RST).
        self._control.ask("release", line)
        self._closed = True
        self._sock.close()
        if aborts:
            self._end(call="abort", asked=0, bytes=[], line=line, failed=None)

    def finish(self):
        """Closes the socket as returning from a part does: shutdown, then close."""
        if self._closed:
            return
        self._control.ask("release", None)
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already reset or shut down: closing is all that is left
        self._sock.close()

    def makefile(self, mode="r", buffering=None, **unused):
        if mode not in ("wb", "rb"):
            raise ValueError("sockstep's socket makes binary files only ('wb', 'rb')")
        size = io.DEFAULT_BUFFER_SIZE if buffering in (None, -1) else buffering
        if mode == "wb":
            raw = RawWriter(self)
            return raw if size == 0 else TracedWriter(raw, size)
        raw = RawReader(self)
        return raw if size == 0 else io.BufferedReader(raw, size)


class RawWriter(io.RawIOBase):
    """The socket as a raw file: each write() is one traced send()."""

    def __init__(self, sock):
        self._traced = sock
        self.sent = None  # while flushing: what the sends took

    def writable(self):
        return True

    def write(self, data):
        n = self._traced._send(data, lesson_line())
        if self.sent is not None:
            self.sent += bytes(memoryview(data).cast("B")[:n])
        return n

    def close(self):
        super().close()  # the file closes; the socket stays open, as with makefile()


class RawReader(io.RawIOBase):
    """The socket as a raw file: each readinto() is one traced recv_into()."""

    def __init__(self, sock):
        self._traced = sock

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._traced._recv_into(buffer, 0, lesson_line())


class TracedWriter(io.BufferedWriter):
    """A real io.BufferedWriter: a write that fits stays in user space (traced as
    buffer, no system call); flush() sends it (traced as flush, with its sends)."""

    def __init__(self, raw, size):
        super().__init__(raw, size)
        self._capacity = size  # io.BufferedWriter keeps it to itself

    def write(self, data):
        line = lesson_line()
        traced = self.raw._traced
        traced._control.ask("other", line)
        taken = super().write(data)
        moved = bytes(memoryview(data).cast("B")[:taken])
        traced._end(call="buffer", asked=len(moved), bytes=list(moved), line=line,
                    failed=None, writer_capacity=self._capacity)
        return taken

    def flush(self):
        line = lesson_line()
        raw = self.raw
        if raw.closed:
            return super().flush()
        raw.sent = b""
        try:
            super().flush()
        except OSError as error:
            raw._traced._end(call="flush", asked=len(raw.sent), bytes=list(raw.sent),
                             line=line, failed=failure(error))
            raise
        finally:
            sent, raw.sent = raw.sent, None
        if sent:
            raw._traced._end(call="flush", asked=len(sent), bytes=list(sent), line=line,
                             failed=None)


def main(side, role, sock_fd, ctl_fd):
    """Runs one part: `side` and `role` pick it from the lesson's PARTS."""
    control = Control(ctl_fd)
    setup = control.read()
    sock = TracedSocket(socket.socket(fileno=sock_fd), control)
    try:
        lesson = {"__name__": "lesson", "__file__": FILENAME}
        exec(compile(SOURCE, FILENAME, "exec"), lesson)
        sender, receiver = lesson["PARTS"][side]
        if role == "sender":
            sender(sock, [bytes(m) for m in setup["messages"]])
        else:
            received = receiver(sock)
            for item in received:
                frame = received.gi_frame
                line = frame.f_lineno if frame is not None else None
                if isinstance(item, BaseException):
                    control.tell(op="report", line=line, **failure(item))
                elif isinstance(item, (bytes, bytearray)):
                    control.tell(op="deliver", bytes=list(item), line=line)
                else:
                    raise TypeError("a receiver yields bytes, or the OSError it caught, "
                                    "not %s" % type(item).__name__)
    except BaseException as error:  # noqa: the part's error, whatever it is
        sock.finish()
        control.tell(op="raised", **failure(error))
    else:
        sock.finish()
        control.tell(op="returned")
    os._exit(0)


def serve(requests):
    """Forks a part for each request: a JSON list [side, role], with the part's
    socket, control channel and output as three descriptors (SCM_RIGHTS). Answers
    with the part's process id, once the part leads its own process group."""
    # The kernel reaps the parts; sockstep watches each one's end with a pidfd.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    # Each part dies with this server (prctl PR_SET_PDEATHSIG), as this server dies
    # with sockstep: nothing is left running if sockstep is killed.
    import ctypes
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    server = os.getpid()
    while True:
        fds = array.array("i")
        try:
            data, ancillary, _, _ = requests.recvmsg(4096, socket.CMSG_LEN(3 * fds.itemsize))
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # sockstep has gone
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        side, role = json.loads(data)
        pid = os.fork()
        if pid == 0:
            prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() != server:
                os._exit(0)  # the server died before that took effect
            os.setpgid(0, 0)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            requests.close()
            sock_fd, ctl_fd, out_fd = fds
            os.dup2(out_fd, 1)
            os.dup2(out_fd, 2)
            os.close(out_fd)
            try:
                main(side, role, sock_fd, ctl_fd)
            finally:
                os._exit(70)  # never back into this loop
        try:
            os.setpgid(pid, pid)  # as the part does: whichever runs first
        except OSError:
            pass  # the part has already done it, or is gone
        for fd in fds:
            os.close(fd)
        requests.sendall(b"%d\n" % pid)


serve(socket.socket(fileno=int(os.environ["SOCKSTEP_SERVER_FD"])))
