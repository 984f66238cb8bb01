"""CPU time and memory of processes from /proc (Linux), stdlib only."""
import os

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid="self"):
    """utime + stime of a process (all its threads), in ms; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / _CLK_TCK


def smaps_rollup(pid="self"):
    """Rss and Pss of a process, in bytes."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                out[key.lower()] = int(rest.split()[0]) * 1024
    return out


def tree_cpu_ms(pids):
    """Sum of cpu_ms over this process and `pids` (processes that vanished count 0)."""
    total = cpu_ms("self") or 0.0
    for pid in pids:
        total += cpu_ms(pid) or 0.0
    return total
