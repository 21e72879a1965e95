# sockstep's Python call tracer, installed as `sitecustomize` through PYTHONPATH so
# that the learner's program runs unchanged under its own interpreter. It wraps the
# methods of socket.socket that move bytes or end connections, and appends one JSON
# line per call to $SOCKSTEP_TRACE_FILE: the learner's file and line, the call, the
# size asked, the bytes moved (the first 4 KiB), the exception raised and the peer's
# port. Every wrapped call returns or raises exactly what the real call does. Off
# when SOCKSTEP_TRACE_FILE is unset. Then it runs the learner's own sitecustomize,
# if one is further along sys.path. Traces on Python 3.8 and newer; older ones only
# get the chaining. A traceback through a wrapped call shows one line from this file.

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _chain():
    """Takes this folder off sys.path, then runs the sitecustomize it hid, if any,
    as the import statement would have."""
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    import importlib.machinery
    import importlib.util
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    # The import of this module returns what sys.modules holds when it ends.
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _install(path):
    import json
    import socket
    import weakref

    real = socket.socket
    base = socket.SocketType  # _socket.socket: the methods written in C
    inet = (socket.AF_INET, socket.AF_INET6)
    cap = 4096  # bytes kept per call
    state = {"fd": -1, "id": None, "budget": 16 << 20}  # bytes this process may write
    ports = weakref.WeakKeyDictionary()  # socket -> peer port, or False if not inet
    skip = {os.path.abspath(__file__), os.path.abspath(socket.__file__)}
    stdlib = os.path.dirname(os.path.abspath(socket.__file__))
    places = {}  # co_filename -> (skipped, in the standard library, shown as, in JSON)
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None

    def place(filename):
        known = places.get(filename)
        if known is None:
            full = os.path.abspath(filename)
            library = (full.startswith(stdlib + os.sep) and "-packages" + os.sep not in full)
            shown = full
            if cwd is not None and full.startswith(cwd + os.sep):
                shown = full[len(cwd) + 1:]
            known = places[filename] = (full in skip, library, json.dumps(shown))
        return known

    def caller():
        """The learner's file and line: the first frame outside this tracer and the
        socket module, and beyond that outside the standard library (socketserver's
        writers, say), unless that means leaving an event loop (asyncio's reads)."""
        frame = sys._getframe(2)
        first = None
        while frame is not None:
            skipped, library, shown = place(frame.f_code.co_filename)
            if not skipped:
                if first is None:
                    first = (shown, frame.f_lineno)
                if not library:
                    return shown, frame.f_lineno
                if "asyncio" in shown or "selectors" in shown:
                    break
            frame = frame.f_back
        return first or ('"?"', 0)

    def peer(sock):
        """The peer's port, once known; False for a socket that is not TCP/UDP over IP."""
        try:
            known = ports.get(sock)
            if known is None:
                if base.family.__get__(sock) not in inet:
                    known = False
                else:
                    known = base.getpeername(sock)[1]
                ports[sock] = known
            return known
        except Exception:
            return None  # not connected (yet): asked again next time

    def write(line):
        fd = state["fd"]
        try:
            if fd >= 0:
                # The program may have closed our descriptor, and reused its number.
                try:
                    st = os.fstat(fd)
                    if (st.st_dev, st.st_ino) != state["id"]:
                        fd = -1
                except OSError:
                    fd = -1
            if fd < 0:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
                st = os.fstat(fd)
                state["fd"], state["id"] = fd, (st.st_dev, st.st_ino)
            os.write(fd, line)
        except OSError:
            state["budget"] = 0  # the file cannot be written: stop tracing, quietly

    line_format = ('{"file": %s, "line": %d, "call": "%s", "asked": %s, "bytes": "%s", '
                   '"error": %s, "peer_port": %s}\n')

    def record(call, asked, data, n, error, port):
        """Appends one call; never raises (the program's call has already happened)."""
        if port is False or state["budget"] <= 0:
            return
        try:
            file, line = caller()
            moved = bytes(memoryview(data).cast("B")[:min(n, cap)]) if n else b""
            # Formatted by hand: a third of the time json.dumps takes for the dict.
            encoded = (line_format % (
                file, line, call, "null" if asked is None else "%d" % asked, moved.hex(),
                "null" if error is None else json.dumps(error),
                "%d" % port if port else "null")).encode("utf-8", "replace")
            state["budget"] -= len(encoded)
            write(encoded)
        except Exception:
            pass

    def size(data):
        try:
            return memoryview(data).nbytes
        except Exception:
            return None

    def failed(error):
        return type(error).__name__

    # Each wrapper passes its arguments on as it got them, so that the real method
    # accepts and refuses exactly what it does untraced.
    def argument(args, kwargs, at, name, default=None):
        return args[at] if len(args) > at else kwargs.get(name, default)

    def recv(self, *args, **kwargs):
        bufsize = argument(args, kwargs, 0, "bufsize")
        try:
            data = base.recv(self, *args, **kwargs)
        except Exception as error:
            record("recv", bufsize, None, 0, failed(error), peer(self))
            raise
        record("recv", bufsize, data, len(data), None, peer(self))
        return data

    def recv_into(self, *args, **kwargs):
        buffer = argument(args, kwargs, 0, "buffer")
        nbytes = argument(args, kwargs, 1, "nbytes", 0)
        try:
            n = base.recv_into(self, *args, **kwargs)
        except Exception as error:
            record(read_name(), asked_into(buffer, nbytes), None, 0, failed(error), peer(self))
            raise
        record(read_name(), asked_into(buffer, nbytes), buffer, n, None, peer(self))
        return n

    def asked_into(buffer, nbytes):
        return nbytes if isinstance(nbytes, int) and nbytes else size(buffer)

    def read_name():
        # A file from makefile() reads through SocketIO.readinto: say so.
        try:
            code = sys._getframe(2).f_code
            if code.co_name == "readinto" and place(code.co_filename)[0]:
                return "makefile-read"
        except Exception:
            pass
        return "recv_into"

    def recvfrom(self, *args, **kwargs):
        bufsize = argument(args, kwargs, 0, "bufsize")
        try:
            data, address = base.recvfrom(self, *args, **kwargs)
        except Exception as error:
            record("recvfrom", bufsize, None, 0, failed(error), peer(self))
            raise
        record("recvfrom", bufsize, data, len(data), None, address_port(self, address))
        return data, address

    def address_port(sock, address):
        """The port in `address`; False for a socket that is not TCP/UDP over IP."""
        try:
            if base.family.__get__(sock) not in inet:
                return False
            return address[1]
        except Exception:
            return None

    def send(self, *args, **kwargs):
        data = argument(args, kwargs, 0, "data")
        try:
            n = base.send(self, *args, **kwargs)
        except Exception as error:
            record(write_name(), size(data), None, 0, failed(error), peer(self))
            raise
        record(write_name(), size(data), data, n, None, peer(self))
        return n

    def write_name():
        # A file from makefile() writes through SocketIO.write: say so.
        try:
            code = sys._getframe(2).f_code
            if code.co_name == "write" and place(code.co_filename)[0]:
                return "makefile-write"
        except Exception:
            pass
        return "send"

    def sendall(self, *args, **kwargs):
        data = argument(args, kwargs, 0, "data")
        try:
            result = base.sendall(self, *args, **kwargs)
        except Exception as error:
            record("sendall", size(data), None, 0, failed(error), peer(self))
            raise
        record("sendall", size(data), data, size(data), None, peer(self))
        return result

    def sendto(self, *args, **kwargs):
        data = argument(args, kwargs, 0, "data")
        port = address_port(self, args[-1] if len(args) > 1 else None)
        try:
            n = base.sendto(self, *args, **kwargs)
        except Exception as error:
            record("sendto", size(data), None, 0, failed(error), port)
            raise
        record("sendto", size(data), data, n, None, port)
        return n

    real_accept = real.accept

    def accept(self, *args, **kwargs):
        try:
            conn, address = real_accept(self, *args, **kwargs)
        except Exception as error:
            record("accept", None, None, 0, failed(error), address_port(self, None))
            raise
        port = address_port(conn, address)
        if port:
            ports[conn] = port
        record("accept", None, None, 0, None, port)
        return conn, address

    real_close = real.close

    def close(self, *args, **kwargs):
        port = peer(self) if base.fileno(self) >= 0 else False  # a second close: quiet
        try:
            result = real_close(self, *args, **kwargs)
        except Exception as error:
            record("close", None, None, 0, failed(error), port)
            raise
        record("close", None, None, 0, None, port)
        return result

    def shutdown(self, *args, **kwargs):
        port = peer(self)
        try:
            result = base.shutdown(self, *args, **kwargs)
        except Exception as error:
            record("shutdown", None, None, 0, failed(error), port)
            raise
        record("shutdown", None, None, 0, None, port)
        return result

    for function in (recv, recv_into, recvfrom, send, sendall, sendto, accept, close,
                     shutdown):
        wrapped = getattr(real, function.__name__)
        function.__doc__ = wrapped.__doc__
        function.__qualname__ = "socket." + function.__name__
        setattr(real, function.__name__, function)


if sys.version_info >= (3, 8) and os.environ.get("SOCKSTEP_TRACE_FILE"):
    try:
        _install(os.environ["SOCKSTEP_TRACE_FILE"])
    except Exception:
        pass  # no trace rather than a program that behaves differently
_chain()
