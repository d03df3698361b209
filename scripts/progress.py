#!/usr/bin/python3
"""Runs one step of a long job (a benchmark binary, the build) and shows its progress.

    progress.py --label "rows 10M" --log DIR/logs/rows.log [--benchmarks | --ninja] -- COMMAND...

Everything COMMAND prints goes to the log (appended); the terminal gets one status line:
the label, "benchmark k of N" (--benchmarks: N comes from COMMAND --benchmark_list_tests)
or "step k of N" (--ninja: Ninja's [k/N] lines), the step's elapsed time and an estimate
of what is left. scripts/run exports MEMO_RUN_* (see there) so the line also shows the
whole run's elapsed time and what is left of it. Lines reporting errors or skips are
shown as they come. On failure the last lines of the output follow, with the log's path.
Exit status: COMMAND's.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

# Shown as they arrive, beside the status line: a broken check or a skipped size must
# not wait for the end of the run.
NOTEWORTHY = re.compile(r"ERROR OCCURRED|\bFAILED\b|\berror:|\bskipped\b|Traceback")
NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]")
# memo's binaries announce each benchmark as "[   1.2 s] <name>..." on stderr; Google
# Benchmark prints "<name>[_aggregate] <figures>" when it is done.
ANNOUNCED = re.compile(r"^\[\s*[\d.]+ s\]\s+(\S+)")
AGGREGATE = re.compile(r"_(mean|median|stddev|cv|min|max)$")
DECORATION = re.compile(r"^(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|"
                        r"min_time:[\d.]+s?|min_warmup_time:[\d.]+s?)$")
TAIL_LINES = 30


def benchmark_key(token):
    """A benchmark's name without what Google Benchmark adds (time kind, aggregates)."""
    token = AGGREGATE.sub("", token.rstrip(":"))
    return "/".join(part for part in token.split("/") if not DECORATION.match(part))


def clock(seconds):
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def list_benchmarks(command):
    """The benchmark names COMMAND would run, or None when it cannot list them."""
    try:
        listed = subprocess.run(command + ["--benchmark_list_tests=true"], capture_output=True,
                                text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None
    names = [benchmark_key(line.strip()) for line in listed.stdout.splitlines() if line.strip()]
    return list(dict.fromkeys(names)) or None


def run_env_seconds(name):
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return None


class Status:
    """The status line: redrawn in place on a terminal, printed now and then otherwise."""

    def __init__(self, label, total, unit):
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self.last_line = ""
        self.started = time.time()
        self.tty = sys.stderr.isatty()
        self.printed_at = 0.0
        self.lock = threading.Lock()

    def step_left(self, now):
        """Seconds left in this step at the pace so far; None until a tenth of it is
        done, since the first items (the largest sources, the first size) say little."""
        if not self.total or self.done < max(2, self.total / 10):
            return None
        elapsed = now - self.started
        # The current item is about half done, on average.
        return elapsed * (self.total - self.done + 0.5) / (self.done - 0.5)

    def run_left(self, now, step_left):
        """Seconds left in the whole run (scripts/run), or None outside one: what is left
        of scripts/run's estimate for this suite, or more when this step's pace says so,
        plus the estimates of the suites after it."""
        estimate = run_env_seconds("MEMO_RUN_SUITE_ESTIMATE")
        suite_started = run_env_seconds("MEMO_RUN_SUITE_STARTED")
        if estimate is None or suite_started is None:
            return None
        suite_left = max(0.0, estimate - (now - suite_started), step_left or 0.0)
        return suite_left + (run_env_seconds("MEMO_RUN_REST") or 0.0)

    def text(self):
        now = time.time()
        parts = [self.label]
        if self.total:
            parts.append(f"{self.unit} {max(self.done, 1)} of {self.total}")
        elif self.last_line:
            parts.append(self.last_line[:60])
        step = f"{clock(now - self.started)} in step"
        left = self.step_left(now)
        if left is not None:
            step += f", ~{clock(left)} left"
        parts.append(step)
        run_started = run_env_seconds("MEMO_RUN_STARTED")
        if run_started is not None:
            run = f"run {clock(now - run_started)}"
            run_left = self.run_left(now, left)
            if run_left is not None:
                run += f", ~{clock(run_left)} left"
            parts.append(run)
        return " | ".join(parts)

    def show(self, force=False):
        with self.lock:
            now = time.time()
            if self.tty:
                width = shutil.get_terminal_size((100, 20)).columns - 1
                sys.stderr.write("\r\033[K" + self.text()[:width])
            elif force or now - self.printed_at >= 15:
                sys.stderr.write(self.text() + "\n")
                self.printed_at = now
            else:
                return
            sys.stderr.flush()

    def say(self, line):
        """A line of its own, above the status line."""
        with self.lock:
            sys.stderr.write(("\r\033[K" if self.tty else "") + line + "\n")
            sys.stderr.flush()
        self.show(force=self.tty)

    def finish(self, status):
        with self.lock:
            took = clock(time.time() - self.started)
            count = f"{self.done} {self.unit}{'s' if self.done != 1 else ''}, " if self.total else ""
            if status == 0:
                verdict = "done"
            elif status < 0:
                verdict = f"FAILED (killed by signal {-status})"
            else:
                verdict = f"FAILED (exit status {status})"
            sys.stderr.write(("\r\033[K" if self.tty else "") +
                             f"{self.label}: {verdict}, {count}{took}\n")
            sys.stderr.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="what the step is, for the status line")
    parser.add_argument("--log", required=True, help="file that receives the whole output")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--benchmarks", action="store_true",
                      help="COMMAND is a Google Benchmark binary: count its benchmarks")
    kind.add_argument("--ninja", action="store_true", help="COMMAND is a build: read Ninja's [k/N]")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no COMMAND given (put it after --)")

    names = list_benchmarks(command) if args.benchmarks else None
    status = Status(args.label, len(names) if names else 0, "benchmark" if args.benchmarks else "step")
    wanted = set(names or ())
    seen = set()
    recent = []
    try:
        log_dir = os.path.dirname(os.path.abspath(args.log))
        os.makedirs(log_dir, exist_ok=True)
        log = open(args.log, "a", encoding="utf-8")
    except OSError as exc:
        print(f"progress.py: cannot write the log {args.log}: {exc.strerror}", file=sys.stderr)
        return 2
    with log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, errors="replace")
        except OSError as exc:
            status.say(f"{args.label}: cannot run {command[0]}: {exc.strerror}")
            return 127

        stop = threading.Event()

        def tick():
            while not stop.wait(1.0):
                status.show()

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        for line in process.stdout:
            log.write(line)
            line = line.rstrip("\n")
            recent = (recent + [line])[-TAIL_LINES:]
            if line.strip():
                status.last_line = line.strip()
            if args.ninja:
                match = NINJA_STEP.match(line)
                if match:
                    status.done, status.total = int(match[1]), int(match[2])
            elif args.benchmarks:
                announced = ANNOUNCED.match(line)
                token = announced[1] if announced else (line.split() or [""])[0]
                key = benchmark_key(token)
                if key in wanted and key not in seen:
                    seen.add(key)
                    status.done = len(seen)
            if NOTEWORTHY.search(line):
                status.say(f"{args.label}: {' '.join(line.split())}")
            status.show()
        code = process.wait()
        stop.set()
        ticker.join()
        log.write(f"# exit status {code}\n")
    status.finish(code)
    if code != 0:
        sys.stderr.write("".join(f"  {line}\n" for line in recent))
        sys.stderr.write(f"  (whole output: {args.log})\n")
    return code if code >= 0 else 128 - code  # as a shell reports death by a signal


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Die of the signal, not of an exit status, so the calling script stops too.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
