"""Day6: the evolution strategy of ``EV/evolution.py``, its population played on a Dask cluster.

``EV/evolution.py`` plays the members of an epoch with ``joblib.Parallel`` on one machine;
``DaskParallel`` takes the same ``delayed`` tasks and hands them to the workers of a Dask
cluster, on this machine (``local_cluster``) or on many (a running scheduler). Ctrl-C stops
the run quietly and keeps what was learned, as without Dask.

    python EV/dask_parallel.py --scheduler local [--workers 2]   # a LocalCluster here
    python EV/dask_parallel.py --scheduler tcp://host:8786       # a running cluster

Any other option is ``EV/evolution.py``'s (``--epochs``, ``--seed`` ...). The workers import
``EV.evolution`` by name, so the project must be installed on them. Needs the optional extra:
``pip install ".[distributed]"``.
"""

import argparse
import contextlib
import logging
import signal
import threading

from common import exit_with_error, positive_int

from EV import evolution

INSTALL_HINT = 'install the optional Dask support with: pip install ".[distributed]"'


class DaskParallel:
    """``joblib.Parallel``'s calling style on Dask's futures: tasks in, results in task order.

    All the tasks go to the cluster in one ``client.map``. (joblib's own "dask" backend hands
    them over in small batches and waits on each: on 2 local workers it added 0.1-0.15 s to
    an epoch of 0.5 s.)
    """

    def __init__(self, client):
        self.client = client

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def __call__(self, tasks):
        # pure=False: two members with equal arguments are still two games to play.
        futures = self.client.map(run_task, list(tasks), pure=False)
        # Trap: Ctrl-C inside a gather leaves Dask's gathering tasks behind, and each prints a
        # traceback as the cluster closes. So Ctrl-C is held back until the epoch is in.
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
            return self.client.gather(futures)  # no Ctrl-C can arrive here
        pressed = []
        previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
        try:
            results = self.client.gather(futures)
        finally:
            signal.signal(signal.SIGINT, previous)
        if pressed:
            raise KeyboardInterrupt
        return results


def run_task(task):
    """Run one ``joblib.delayed`` task, a ``(function, args, kwargs)`` triple."""
    function, args, kwargs = task
    return function(*args, **kwargs)


def local_cluster(n_workers=None, **kwargs):
    """A Dask ``LocalCluster`` of single-threaded worker processes on this machine.

    Trap: Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, and Catcher's many
    small arrays then cost 30% more CPU a step; 2 workers were only 1.25 times as fast as 1
    (``doc/day6.md``). ``None`` removes the variable. The workers start with Ctrl-C ignored:
    Ctrl-C in a terminal reaches every process, and only this one should stop (and save).
    """
    import dask
    from dask.distributed import LocalCluster

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with dask.config.set(
                {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            return LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                silence_logs=logging.ERROR, **kwargs)
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def dask_client(scheduler, n_workers=None):
    """A Dask client of a new ``local_cluster`` (``"local"``) or of a scheduler's address."""
    try:
        from dask.distributed import Client
    except ImportError:
        exit_with_error(f"--scheduler needs dask.distributed, which is not installed; "
                        f"{INSTALL_HINT}")
    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            cluster = stack.enter_context(local_cluster(n_workers))
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout="10s"))
            except (OSError, TimeoutError, ValueError) as error:
                exit_with_error(f"could not connect to the Dask scheduler at {scheduler} "
                                f"({error}); give 'local' or an address such as "
                                "tcp://host:8786")
        workers = len(client.scheduler_info()["workers"])
        print(f"Dask: {workers} workers, dashboard at {client.dashboard_link}")
        yield client


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="EV/evolution.py with its population played on a Dask cluster; any "
                    "other option is EV/evolution.py's.")
    parser.add_argument("--scheduler", default="local",
                        help="'local' starts a LocalCluster on this machine; an address such "
                             "as tcp://host:8786 uses a running cluster (default: local)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="worker processes of the local cluster (default: one per core)")
    args, evolution_argv = parser.parse_known_args(argv)
    with dask_client(args.scheduler, args.workers) as client:
        return evolution.main(evolution_argv, parallel=DaskParallel(client))


if __name__ == "__main__":
    # Workers find run_task by its module name: run as a file, this module is __main__, so
    # hand over to the importable EV.dask_parallel.
    from EV.dask_parallel import main as module_main

    module_main()
