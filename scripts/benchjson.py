"""Reading Google Benchmark JSON as memo's scripts need it (compare, plot, results).

A run's JSON holds one entry per repetition ("run_type": "iteration") and, when
repetitions were asked for, aggregates ("run_type": "aggregate": mean, median,
stddev, cv). Everything here works from the repetitions when they are present and
falls back to the median aggregate when the run kept aggregates only.

Store benchmark names follow DESIGN.md section 6 plus what Google Benchmark inserts
for a run that reports its own wall time: stores/<workload>/<engine>/manual_time/threads:<T>
(older files: real_time).
"""

import json
import re
import statistics
from dataclasses import dataclass, field

STORES_NAME = re.compile(
    r"^stores/(?P<workload>[^/]+)/(?P<engine>[^/]+)(?:/(?:manual|real)_time)?"
    r"/threads:(?P<threads>\d+)(?:/(?:manual|real)_time)?$")

# Metrics where a larger number is better; every other one (times, latencies) is a cost.
HIGHER_IS_BETTER = {"ops", "hit_ratio", "items_per_second", "bytes_per_second"}


class BenchJsonError(Exception):
    """A file that is not the Google Benchmark JSON these scripts expect."""


@dataclass
class Series:
    """Every measurement of one benchmark (one run_name) for one metric."""
    name: str
    values: list = field(default_factory=list)  # one per repetition
    median_only: bool = False                   # the file kept aggregates only
    error: str = ""

    @property
    def median(self):
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def spread(self):
        """(min, max) over the repetitions; equal to the median when there is one."""
        if not self.values:
            return (float("nan"), float("nan"))
        return (min(self.values), max(self.values))


def load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchJsonError(f"{path}: cannot read benchmark JSON ({exc})") from exc
    if not isinstance(data, dict) or "benchmarks" not in data:
        raise BenchJsonError(f"{path}: no 'benchmarks' list; is it --benchmark_format=json output?")
    return data


def run_name(entry):
    return entry.get("run_name") or entry["name"]


TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def metric_value(entry, metric):
    """The metric of one entry; real_time and cpu_time in nanoseconds."""
    value = entry.get(metric)
    if value is None:
        return None
    if metric in ("real_time", "cpu_time"):
        return float(value) * TIME_UNIT_NS.get(entry.get("time_unit", "ns"), 1.0)
    return float(value)


def series(data, metric):
    """{run_name: Series} for every benchmark that reports `metric`.

    A benchmark with any repetition that failed its checks comes back with no values
    and the failure as `error`: a figure from a run that failed a check is not reported.
    """
    repetitions, medians, errors, failed = {}, {}, {}, {}
    for entry in data["benchmarks"]:
        name = run_name(entry)
        if entry.get("error_occurred"):
            errors.setdefault(name, entry.get("error_message", "error"))
            failed[name] = failed.get(name, 0) + 1
            continue
        value = metric_value(entry, metric)
        if value is None:
            continue
        kind = entry.get("run_type", "iteration")
        if kind == "iteration":
            repetitions.setdefault(name, []).append(value)
        elif kind == "aggregate" and entry.get("aggregate_name") == "median":
            medians[name] = value
    result = {}
    for name in set(repetitions) | set(medians) | set(errors):
        if name in errors:
            total = failed[name] + len(repetitions.get(name, []))
            result[name] = Series(name, [], error=f"{errors[name]} ({failed[name]} of {total} "
                                                  "repetitions failed)")
        elif name in repetitions:
            result[name] = Series(name, repetitions[name])
        else:
            result[name] = Series(name, [medians[name]], median_only=True)
    return result


@dataclass(frozen=True)
class StoresKey:
    workload: str
    engine: str
    threads: int


def stores_series(data, metric):
    """{StoresKey: Series} for the stores/ benchmarks in `data`."""
    result = {}
    for name, values in series(data, metric).items():
        match = STORES_NAME.match(name)
        if match:
            key = StoresKey(match["workload"], match["engine"], int(match["threads"]))
            result[key] = values
    return result


def ordered_unique(items):
    seen, ordered = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            ordered.append(item)
    return ordered


def stores_layout(data):
    """Workloads, engines and thread counts in the order the run made them."""
    keys = []
    for entry in data["benchmarks"]:
        match = STORES_NAME.match(run_name(entry))
        if match:
            keys.append(StoresKey(match["workload"], match["engine"], int(match["threads"])))
    workloads = ordered_unique(k.workload for k in keys)
    engines = ordered_unique(k.engine for k in keys)
    threads = sorted(set(k.threads for k in keys))
    return workloads, engines, threads


DESIGN_PEERS = ("libcuckoo", "rocksdb_lru", "rocksdb_hcc")


def peers(data):
    """Engines the run marked as peers in its context (older files: the DESIGN names)."""
    listed = data.get("context", {}).get("stores_peers")
    if listed is None:
        return set(DESIGN_PEERS)
    return {name for name in listed.split(",") if name}


def format_rate(value):
    if value != value:  # NaN
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:.0f}"
