"""A delayed link on loopback: a TCP proxy that holds every chunk of data
`delay` seconds in each direction, as a server a few milliseconds away
does, and counts the round trips clients make through it.

    proxy = DelayProxy("127.0.0.1", 5432, delay_ms=1)
    proxy.start()            # listens on proxy.port, in a thread
    ...                      # connect to 127.0.0.1:proxy.port
    proxy.take_round_trips() # round trips since the last call

A round trip is counted each time the server answers after the client
sent something: what a client waits for, whatever it sends in between.
The connection's start-up counts (one round trip without TLS); the
closing message, which gets no answer, does not. Order within a
direction is kept: every chunk waits the same delay.
"""

import asyncio
import threading


class DelayProxy:
    def __init__(self, host, port, delay_ms):
        self.target = (host, port)
        self.delay = delay_ms / 1000
        self.port = None
        self._round_trips = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()

    def start(self):
        threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True).start()
        self._ready.wait()

    def take_round_trips(self):
        with self._lock:
            count, self._round_trips = self._round_trips, 0
        return count

    async def _serve(self):
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await server.serve_forever()

    async def _connection(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        # Whether the client sent something the server has not answered.
        state = {"waiting": False}
        await asyncio.gather(
            self._pipe(client_reader, server_writer, state, upstream=True),
            self._pipe(server_reader, client_writer, state, upstream=False),
        )

    async def _pipe(self, reader, writer, state, upstream):
        loop = asyncio.get_running_loop()
        try:
            while data := await reader.read(1 << 16):
                if upstream:
                    state["waiting"] = True
                elif state["waiting"]:
                    state["waiting"] = False
                    with self._lock:
                        self._round_trips += 1
                loop.call_later(self.delay, writer.write, data)
        except (ConnectionError, OSError):
            pass
        await asyncio.sleep(self.delay)
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass
