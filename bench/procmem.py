"""Memory and CPU of a process tree, from /proc (Linux): PSS, RSS, CPU seconds."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _status(pid: int | str) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def _pss_kb(pid: int | str) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int | str = "self") -> list[int]:
    """Every process below this one (the worker pool's forkserver, its workers...)."""
    out: list[int] = []
    todo = [str(pid)]
    while todo:
        p = todo.pop()
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            out.extend(int(k) for k in kids)
            todo.extend(kids)
    return out


def _cpu_seconds(pid: int | str) -> float:
    """utime + stime of one process, from /proc (children that are not reaped included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu() -> tuple[float, float]:
    """CPU seconds of this process, and of it with all its descendants."""
    me = _cpu_seconds("self")
    return me, me + sum(_cpu_seconds(p) for p in _descendants())


def memory(pid: int | str = "self") -> dict[str, float]:
    """A process's RSS and peak RSS, and the PSS of it and all its descendants (MB).

    PSS shares each page among the processes mapping it, so the tree's PSS is what the
    pipeline costs the machine, worker processes included, without counting shared pages twice.
    """
    me = _status(pid)
    kids = _descendants(pid)
    return {"rss_mb": me.get("VmRSS", 0) / 1024, "peak_mb": me.get("VmHWM", 0) / 1024,
            "children_rss_mb": sum(_status(p).get("VmRSS", 0) for p in kids) / 1024,
            "tree_pss_mb": (_pss_kb(pid) + sum(_pss_kb(p) for p in kids)) / 1024,
            "processes": 1 + len(kids)}


class PeakSampler:
    """Samples the PSS of ``pid``'s tree every ``every`` seconds in a thread; ``take()`` gives
    the max since the last take. It runs in bench/run.py, outside the measured process, so
    reading /proc costs the pipeline nothing (not even the GIL)."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid = pid
        self.every = every
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, memory(self.pid)["tree_pss_mb"])

    def take(self) -> float:
        peak, self.peak = max(self.peak, memory(self.pid)["tree_pss_mb"]), 0.0
        return peak

    def stop(self) -> None:
        self._stop.set()
