"""Run a replay on Dask: a LocalCluster of one process per core by default, or a cluster's scheduler.

The knowledge bases are scattered to every worker once, as the bytes the driver checked; the
cases stream from the source in partitions, with only a few partitions per worker in flight, so
the driver's memory stays bounded whatever the history's size. Each finished partition's tally
is merged and its rows written before the next is read. distributed stays in this module.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed import Client, Future, LocalCluster, as_completed

from reasoner.knowledge.files import KnowledgeFiles
from reasoner.replay.cases import Case
from reasoner.replay.output import DifferenceWriter
from reasoner.replay.partition import Replayed, replay
from reasoner.replay.progress import Progress
from reasoner.replay.sources import Source, batches
from reasoner.replay.tally import Tally

#: How long a scheduler may be without workers before the replay gives up on it.
WORKERS_TIMEOUT_S = 60.0

#: Partitions in flight per worker thread: one running, one waiting, one on its way.
IN_FLIGHT = 3


class ClusterError(Exception):
    """The cluster could not be reached, or lost its workers (the message says which)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Finished:
    """What the run gave: the tally, and how it ran (workers, seconds, peak memory per worker in MB)."""

    tally: Tally
    workers: int
    seconds: float
    peak_memory_mb: dict[str, float]

    def run(self) -> dict[str, Any]:
        """How it ran, as the summary gives it."""
        return {
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "casesPerSecond": round(self.tally.cases / max(self.seconds, 1e-9), 1),
            "peakMemoryMB": self.peak_memory_mb,
            "driverPeakMemoryMB": round(peak_memory_mb(), 1),
        }


def peak_memory_mb() -> float:
    """This process's peak resident memory in MB: Linux's VmHWM, else ``ru_maxrss``.

    ``ru_maxrss`` survives ``execve``, so a worker spawned by a large driver would report the
    driver's peak as its own; VmHWM belongs to the process's own memory map.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def client(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler`` (an address, or a scheduler file), else of a new LocalCluster.

    How long to try a scheduler is Dask's setting ``distributed.comm.timeouts.connect`` (30 s;
    ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s`` in the environment sets it).

    Raises:
        ClusterError: the scheduler does not answer.
    """
    if scheduler is None:
        # Loopback only, no dashboard; each worker a process with one thread (the reasoner holds the GIL).
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
                memory_limit=0,
            ) as cluster,
            Client(cluster) as c,
        ):
            yield c
        return
    target = {"scheduler_file": scheduler} if os.path.isfile(scheduler) else {"address": scheduler}
    try:
        c = Client(**target)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"no Dask scheduler answers at {scheduler} ({type(exc).__name__})") from None
    with c:
        try:  # workers started with the scheduler may still be joining it
            c.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
        except TimeoutError:
            raise ClusterError(
                f"the Dask scheduler at {scheduler} has had no workers for {WORKERS_TIMEOUT_S:g} s"
            ) from None
        yield c


def run(
    c: Client,
    source: Source,
    before: KnowledgeFiles | None,
    after: KnowledgeFiles,
    out: Path,
    *,
    policy: str | None,
    partition: int,
    progress: Progress,
) -> Finished:
    """Replay every case of ``source`` on the cluster, writing the differences under ``out``."""
    start = time.perf_counter()
    threads = sum(c.nthreads().values())
    files_before = c.scatter(before, broadcast=True) if before is not None else None
    files_after = c.scatter(after, broadcast=True)
    parts = batches(source.cases, partition)
    tally = Tally()
    pending = as_completed()
    scattered: dict[object, Future[list[Case]]] = {}

    def submit_next() -> bool:
        batch = next(parts, None)
        if batch is None:
            return False
        # Scattered, not put in the task: a task's arguments stay in the scheduler's and the
        # client's records after it is done (about 1 MB a partition, measured), data is released.
        (data,) = c.scatter([batch], hash=False)  # a list is scattered item by item: one item, the batch
        task = c.submit(replay, data, files_before, files_after, policy, pure=False)
        scattered[task.key] = data
        pending.add(task)
        return True

    for _ in range(IN_FLIGHT * threads):
        if not submit_next():
            break
    with DifferenceWriter(out) as writer, progress:
        for future in pending:
            try:
                done: Replayed = future.result()
            except Exception as exc:  # a worker lost (KilledWorker) or the cluster gone
                raise ClusterError(f"the cluster failed a partition: {type(exc).__name__}") from None
            future.release()
            scattered.pop(future.key).release()
            tally += done.tally
            writer.write(done.rows)
            progress.advance(done.tally.cases)
            submit_next()
    seconds = time.perf_counter() - start
    peaks = c.run(peak_memory_mb)
    return Finished(tally, threads, seconds, {w: round(mb, 1) for w, mb in sorted(peaks.items())})
