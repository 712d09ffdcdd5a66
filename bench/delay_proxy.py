"""A delayed link on loopback: a TCP proxy that holds every chunk of data
`delay` seconds in each direction, as a server a few milliseconds away
does, and counts the round trips clients make through it.

    proxy = DelayProxy("127.0.0.1", 5432, delay_ms=0.5)
    proxy.start()            # listens on proxy.port, in a thread
    ...                      # connect to 127.0.0.1:proxy.port
    proxy.take_round_trips() # round trips since the last call

Each direction of a connection is a reader thread and a sender thread:
the reader stamps each chunk with the time it is due, the sender sleeps
until then (`time.sleep`, precise to tens of microseconds, where an event
loop's timers round to the millisecond) and sends it. Order within a
direction is kept.

A round trip is counted each time the server answers after the client
sent something: what a client waits for, whatever it sends in between.
The connection's start-up counts (one round trip without TLS); the
closing message, which gets no answer, does not.
"""

import queue
import socket
import threading
import time


class DelayProxy:
    def __init__(self, host, port, delay_ms):
        self.target = (host, port)
        self.delay = delay_ms / 1000
        self._round_trips = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()

    def take_round_trips(self):
        with self._lock:
            count, self._round_trips = self._round_trips, 0
        return count

    def _accept(self):
        while True:
            client, _ = self._listener.accept()
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Whether the client sent something the server has not answered.
            waiting = [False]
            self._direction(client, server, waiting, upstream=True)
            self._direction(server, client, waiting, upstream=False)

    def _direction(self, source, sink, waiting, upstream):
        due = queue.Queue()

        def read():
            try:
                while data := source.recv(1 << 16):
                    if upstream:
                        waiting[0] = True
                    elif waiting[0]:
                        waiting[0] = False
                        with self._lock:
                            self._round_trips += 1
                    due.put((time.perf_counter() + self.delay, data))
            except OSError:
                pass
            due.put((time.perf_counter() + self.delay, None))

        def send():
            while True:
                at, data = due.get()
                pause = at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                if data is None:
                    break
                try:
                    sink.sendall(data)
                except OSError:
                    break
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=send, daemon=True).start()
