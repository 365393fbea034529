"""Chunks held in place on their workers by Dask actors, called without the scheduler.

Every pass of ``fit_dask`` over the chunks used to be a graph of tasks: the
client sends it to the scheduler, which hands each task to the worker holding
its chunk and reports the results back. On a small cluster that round trip,
not the pass, is the cost (a pass over 8 chunks of 125,000 x 20 rows: about
50 ms through the scheduler for about 15 ms of work on two workers), and
L-BFGS makes one per evaluation.

:class:`ResidentChunks` places one Dask actor on each worker holding chunks
(``client.submit(..., actor=True)``); the actor keeps references to that
worker's persisted chunks, and a pass is one direct call from the client to
each actor, which applies a function to its chunks and returns one result per
chunk. The client merges the results in chunk order, with the same tree of
merges the task path runs on the workers, so a fit gives the same bits either
way.

Actors do not survive the loss of their worker. A call that fails makes
``fit_dask`` fall back to tasks for the rest of the fit (the persisted
chunks are recomputed by Dask from their source if a worker died), with a
warning: the fit is slower, not wrong.
"""

import warnings
from concurrent.futures import ThreadPoolExecutor


class _ChunksOnWorker:
    """The actor: one worker's chunks, by name, and functions applied to them in place."""

    def __init__(self, n_chunks, names, absent, prepare, *arrays):
        self.n_chunks = n_chunks
        self.arrays = {}
        for i, name in enumerate(names):
            chunks = arrays[i * n_chunks:(i + 1) * n_chunks]
            if name in prepare:
                chunks = [prepare[name](chunk) for chunk in chunks]
            self.arrays[name] = list(chunks)
        # An absent array reads as None on every chunk, as the task path passes it.
        self.arrays.update({name: [None] * n_chunks for name in absent})
        try:
            from distributed import get_worker

            threads = get_worker().state.nthreads
        except (ImportError, ValueError, AttributeError):
            threads = 1
        # Actor calls run one at a time on one thread of the worker: a worker of
        # several threads runs its chunks on as many (the kernels release the GIL).
        workers = min(threads, n_chunks)
        self.pool = ThreadPoolExecutor(workers) if workers > 1 else None

    def _apply(self, function, names, chunk_args, args):
        def one(j):
            return function(*(self.arrays[name][j] for name in names), *chunk_args[j], *args)

        if self.pool is None:
            return [one(j) for j in range(self.n_chunks)]
        return list(self.pool.map(one, range(self.n_chunks)))

    def map(self, function, names, chunk_args, args):
        """``function(*chunk's arrays, *chunk_args[j], *args)`` for each chunk j."""
        return self._apply(function, names, chunk_args, args)

    def store(self, outputs, function, names, chunk_args, args):
        """As :meth:`map`, keeping the results (tuples of one array per name in
        ``outputs``) as the chunks' arrays of those names."""
        results = self._apply(function, names, chunk_args, args)
        for k, name in enumerate(outputs):
            self.arrays[name] = [result[k] for result in results]

    def close(self):
        """Drop the chunks (the actor itself goes when its key is released)."""
        if self.pool is not None:
            self.pool.shutdown(wait=False)
        self.arrays.clear()


class ChunkActorLostWarning(UserWarning):
    """A worker's chunk actor could not be placed or reached during ``fit_dask``.

    The fit goes on (or starts) by tasks through the scheduler, with the same
    result: slower, not wrong. Raised when a worker dies during a fit, or on
    a cluster that cannot run actors.
    """


class ResidentChunks:
    """Client side: the actors of every worker holding chunks, and passes through them.

    ``arrays`` maps names to persisted Dask arrays with the same row chunks
    (or None: no array of that name, ``None`` for each chunk).
    """

    def __init__(self, futures, actors, workers, positions, n_chunks):
        self.futures = futures  # what keeps the actors alive on the workers
        self.actors = actors
        self.workers = workers  # the address of each actor's worker
        self.positions = positions  # chunk indices of each actor, in its order
        self.n_chunks = n_chunks

    @classmethod
    def place(cls, arrays, prepare=None):
        """Actors holding the chunks of ``arrays`` where they lie; None where not possible.

        ``prepare`` maps names to a function each chunk of that array goes
        through once, on its worker (in place of a persisted task).

        Not possible: no distributed client, or chunks that are not persisted
        futures (``persist=False``).
        """
        try:
            from distributed import futures_of, wait
        except ImportError:
            return None
        names = [name for name, array in arrays.items() if array is not None]
        absent = [name for name, array in arrays.items() if array is None]
        chunk_futures = {}
        for name in names:
            futures = {future.key: future for future in futures_of(arrays[name])}
            keys = _row_chunk_keys(arrays[name])
            if not futures or any(key not in futures for key in keys):
                return None
            chunk_futures[name] = [futures[key] for key in keys]
        lead = chunk_futures[names[0]]
        client = lead[0].client
        n_chunks = len(lead)
        # Where the chunks lie is known once they are computed (persist is asynchronous).
        wait([future for futures in chunk_futures.values() for future in futures])
        holders = client.who_has(lead)
        by_worker = {}
        for index, future in enumerate(lead):
            where = holders.get(future.key) or ()
            if not where:
                return None
            by_worker.setdefault(sorted(where)[0], []).append(index)
        pending, positions = [], []
        try:
            for worker, indices in sorted(by_worker.items()):
                flat = [chunk_futures[name][i] for name in names for i in indices]
                pending.append(client.submit(
                    _ChunksOnWorker, len(indices), names, absent, prepare or {}, *flat,
                    actor=True,
                    workers=[worker], allow_other_workers=True, pure=False))
                positions.append(indices)
            actors = [future.result() for future in pending]
        except Exception as exc:  # a cluster without actors (or one that fails to place them)
            for future in pending:
                future.release()
            warnings.warn(ChunkActorLostWarning(
                f"Could not place the chunks' actors on the workers ({exc!r}); fitting "
                "through the scheduler's tasks instead."), stacklevel=2)
            return None
        return cls(pending, actors, sorted(by_worker), positions, n_chunks)

    def map(self, function, names, args=(), chunk_args=None):
        """``function`` applied to every chunk where it lies; the results in chunk order."""
        calls = [actor.map(function, names, self._chunk_args(chunk_args, indices), args)
                 for actor, indices in zip(self.actors, self.positions, strict=True)]
        results = [None] * self.n_chunks
        for call, indices in zip(calls, self.positions, strict=True):
            for index, result in zip(indices, call.result(), strict=True):
                results[index] = result
        return results

    def store(self, outputs, function, names, args=(), chunk_args=None):
        """As :meth:`map`; each chunk's result, a tuple of arrays, is kept on its worker
        as the chunk's arrays named ``outputs``."""
        calls = [actor.store(outputs, function, names,
                             self._chunk_args(chunk_args, indices), args)
                 for actor, indices in zip(self.actors, self.positions, strict=True)]
        for call in calls:
            call.result()

    @staticmethod
    def _chunk_args(chunk_args, indices):
        if chunk_args is None:
            return [()] * len(indices)
        return [chunk_args[i] for i in indices]

    def release(self):
        """Drop the actors (and with them their references to the chunks)."""
        for actor in self.actors:
            try:
                actor.close().result()
            except Exception:  # a lost worker has nothing left to release
                pass
        # Each proxy holds a future of its own, which the closures of its past
        # calls keep alive until the client's next garbage collection: released
        # here, so that the workers drop the actors when the fit ends.
        for future in [*self.futures, *(getattr(a, "_future", None) for a in self.actors)]:
            if future is not None:
                future.release()
        self.actors, self.futures = [], []


def _row_chunk_keys(array):
    """The keys of a Dask array's chunks in row order (one chunk of columns)."""
    keys = array.__dask_keys__()
    flat = []
    for row in keys:
        flat.append(row[0] if isinstance(row, list) else row)
    return flat
