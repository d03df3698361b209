#!/usr/bin/python3
"""What a Python user does today to share a cached frame through Redis: the baseline of
memo_rows' redis rows.

A Streamlit app that keeps st.cache_data results in Redis (the "bring your own cache"
pattern) pickles the DataFrame and SETs the bytes on a miss, and GETs and unpickles them
on every hit. This measures exactly that with redis-py (Debian's python3-redis) against
the server memo_rows used, at the same sizes and with the same 4-column float64 frame as
scripts/pickle_baseline.py, and writes JSON in Google Benchmark's shape, named

    pickle_redis/set/rows:<N>   pickle.dumps + SET    (memo_rows: cache_data first)
    pickle_redis/get/rows:<N>   GET + pickle.loads    (memo_rows: cache_data subsequent)

    /usr/bin/python3 scripts/pickle_redis_baseline.py --redis redis://127.0.0.1:6379/0 \\
        --rows 10M --repetitions 3 --out pickle_redis.json

Each entry also carries the two parts separately (pickle_s, redis_s). A size is skipped
with a message (an entry with error_occurred, as Google Benchmark writes a skip) when
MemAvailable is short of its peak -- the frame, the pickled bytes, the server's copy,
the bytes read back and the loaded frame: 5 frames, plus 1 GiB headroom -- or when the
server refuses the value: above its proto-max-bulk-len (512 MB by default) a single SET
cannot store it, which is where a Python user stops. Every loaded frame is compared
with the original, outside the timing. The key is deleted after every repetition.
"""

import gc
import os
import pickle
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchjson  # noqa: E402
import pickle_baseline as base  # noqa: E402  (frame, sizes, JSON entries: one definition)

try:
    import redis
except ImportError as missing:  # reported by main(), without a traceback
    redis = None
    MISSING_REDIS = missing

PEAK_FRAMES = 5


def parser_name():
    try:
        from redis.utils import HIREDIS_AVAILABLE
        return "hiredis" if HIREDIS_AVAILABLE else "python"
    except ImportError:
        return "unknown"


def measure_size(client, rows, args, progress):
    set_name, get_name = f"pickle_redis/set/rows:{rows}", f"pickle_redis/get/rows:{rows}"
    frame_bytes = rows * base.COLUMNS * 8
    needed = PEAK_FRAMES * frame_bytes + base.HEADROOM
    available = base.available_memory()
    if available is not None and available < needed:
        message = (f"skipped: rows:{rows} needs {base.gib(needed)} (frame + pickled bytes + the "
                   f"server's copy + the bytes read back + loaded copy + 1 GiB headroom) but "
                   f"{base.gib(available)} is available")
        progress(f"pickle_redis rows:{rows}: {message}")
        return [base.skipped(set_name, rows, message), base.skipped(get_name, rows, message)]
    progress(f"pickle_redis rows:{rows}: building the frame (needs {base.gib(needed)})")
    frame = base.make_frame(rows, args.seed)
    key = f"memo-baseline:{uuid.uuid4().hex}"
    sets, gets, out = [], [], []
    for index in range(args.repetitions):
        wall, cpu = time.perf_counter(), time.process_time()
        data = pickle.dumps(frame, protocol=args.protocol)
        pickled = time.perf_counter()
        try:
            client.set(key, data)
        except redis.exceptions.RedisError as refused:
            message = (f"skipped: the server refused the pickled frame ({len(data) / 2**20:.0f} MiB): "
                       f"{refused}; a single SET cannot store it (Redis strings stop at "
                       f"proto-max-bulk-len, 512 MB by default)")
            progress(f"pickle_redis rows:{rows}: {message}")
            client.delete(key)
            return [base.skipped(set_name, rows, message), base.skipped(get_name, rows, message)]
        stored, cpu_set = time.perf_counter(), time.process_time()
        sets.append((stored - wall, cpu_set - cpu))
        out.append(dict(base.entry(set_name, rows, stored - wall, cpu_set - cpu, index, args.repetitions),
                        pickle_s=pickled - wall, redis_s=stored - pickled))
        del data
        gc.collect()

        wall, cpu = time.perf_counter(), time.process_time()
        got = client.get(key)
        fetched = time.perf_counter()
        loaded = pickle.loads(got)
        done, cpu_get = time.perf_counter(), time.process_time()
        gets.append((done - wall, cpu_get - cpu))
        out.append(dict(base.entry(get_name, rows, done - wall, cpu_get - cpu, index, args.repetitions),
                        pickle_s=done - fetched, redis_s=fetched - wall))
        if not base.same_values(frame, loaded):
            client.delete(key)
            raise SystemExit(f"pickle_redis_baseline: rows:{rows}: the loaded frame differs from the original")
        del got, loaded
        client.delete(key)
        gc.collect()
        progress(f"pickle_redis rows:{rows}: repetition {index + 1}/{args.repetitions}: "
                 f"dumps+SET {sets[-1][0]:.3f} s, GET+loads {gets[-1][0]:.3f} s")
    out += base.aggregates(set_name, rows, sets, args.repetitions)
    out += base.aggregates(get_name, rows, gets, args.repetitions)
    return out


def main(argv=None):
    parser = base.arguments(__doc__.split("\n\n")[0], "10M")
    parser.add_argument("--redis", required=True, help="server URL, redis://[user:password@]host:port/db")
    args = parser.parse_args(argv)
    base.check_arguments(args)
    if redis is None:
        raise benchjson.BenchJsonError(f"redis-py is needed ({MISSING_REDIS}); install python3-redis "
                                       "(scripts/setup)")
    try:
        client = redis.Redis.from_url(args.redis, socket_timeout=600)
        client.ping()
    except (redis.exceptions.RedisError, ValueError) as unreachable:
        # The message names the error, never the URL (it may hold a password).
        raise benchjson.BenchJsonError(f"cannot reach the Redis server given with --redis: "
                                       f"{type(unreachable).__name__}") from None
    context = {"redis_py": redis.__version__, "redis_py_parser": parser_name(),
               "redis_server": client.info("server").get("redis_version", "unknown")}
    return base.run(f"pickle_redis baseline (redis-py {redis.__version__}, {parser_name()} parser)", args,
                    lambda rows, args, progress: measure_size(client, rows, args, progress), context)


if __name__ == "__main__":
    benchjson.main_guard(main, "pickle_redis_baseline.py")
