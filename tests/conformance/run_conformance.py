"""Run the official MCP conformance suite against ``mediagate serve --transport http``.

``.ci/conformance`` installs Node 22 and the suite (``package.json`` beside this file), then
runs this script. It starts mediagate on a free loopback port with a throw-away data dir, and
runs three sets of server scenarios against it:

* ``handshake``: ``@modelcontextprotocol/conformance`` 0.1.x, every server scenario, on the
  initialize-handshake protocol (2025-11-25), against plain ``mediagate serve``;
* ``stateless``: the 0.2 prerelease, every server scenario at ``--spec-version 2026-07-28``,
  against plain ``mediagate serve``;
* ``extensions``: the 0.2 prerelease's extension scenarios (tasks, skills), one at a time,
  against ``fixture_server.py``: the same server plus the suite's task fixture tools
  (``greet``, ``slow_compute``, ``failing_job``, ``protocol_error_job``) registered on
  mediagate's task machinery, so the tasks scenarios exercise our tasks implementation.

Each launcher gets its own server process (and data dir); the sets sharing one reuse it.

The suite itself enforces the expected-failures files (``--expected-failures``): an
unexpected failure *and* a listed failure that now passes both fail the run. This script
also refuses a file whose entries lack a ``# reason`` comment, counts the outcomes from the
suite's ``checks.json`` files, and stops the server however it exits.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
MEDIAGATE_SERVE = ("-m", "mediagate", "serve")
#: ``mediagate serve`` plus the suite's task fixture tools (test only; see its docstring).
FIXTURE_SERVER = (str(HERE / "fixture_server.py"),)
STATELESS_VERSION = "2026-07-28"
SERVER_START_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 240.0
SCENARIO_TIMEOUT_S = 90.0
_ANNOUNCE = re.compile(r"serving MCP over streamable HTTP at (http://\S+)")
_ENTRY = re.compile(r"^\s*-\s+(?P<entry>[^\s#]+)(?:\s+#\s*(?P<reason>.*?))?\s*$")
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d\d-\d\dT[\d-]+Z$")
_BAD = frozenset({"FAILURE", "WARNING"})


@dataclass(frozen=True)
class SuiteRun:
    """One invocation set of the suite's ``server`` command with one baseline file."""

    name: str
    package: str
    args: tuple[str, ...]
    baseline: str
    #: Run each ``[extension]`` scenario of the package separately instead of ``args``.
    extensions: bool = False
    #: What ``python`` runs to serve (it takes the ``mediagate serve`` options); a launcher
    #: that adds test-only tools, like ``FIXTURE_SERVER``, also works.
    launcher: tuple[str, ...] = MEDIAGATE_SERVE


RUNS = (
    SuiteRun("handshake", "conformance-handshake", ("--suite", "all"), "expected-failures-0.1.yml"),
    SuiteRun(
        "stateless",
        "conformance-stateless",
        ("--suite", "all", "--spec-version", STATELESS_VERSION),
        "expected-failures-0.2.yml",
    ),
    SuiteRun(
        "extensions",
        "conformance-stateless",
        (),
        "expected-failures-0.2.yml",
        extensions=True,
        launcher=FIXTURE_SERVER,
    ),
)


class ServerStartError(Exception):
    """The server under test exited or did not answer ``/healthz`` in time."""


class BaselineError(Exception):
    """An expected-failures file that is not reviewed (an entry without a reason, a duplicate)."""


def read_baseline(path: Path) -> dict[str, str]:
    """The ``server:`` entries of an expected-failures file, each mapped to its reason.

    The suite parses the file as YAML; this stricter reading insists on one entry per line
    with a trailing ``# reason`` comment, so every baselined failure says why.

    Raises:
        BaselineError: an entry without a reason, a duplicate, or no ``server:`` section.
    """
    entries: dict[str, str] = {}
    in_server = False
    seen_server = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace():
            in_server = stripped == "server:"
            seen_server = seen_server or in_server
            continue
        if not in_server:
            continue
        match = _ENTRY.match(line)
        if match is None:
            raise BaselineError(f"{path.name}:{number}: expected '  - <entry>  # <reason>'")
        entry, reason = match["entry"], (match["reason"] or "").strip()
        if not reason:
            raise BaselineError(f"{path.name}:{number}: {entry} has no '# reason' comment")
        if entry in entries:
            raise BaselineError(f"{path.name}:{number}: {entry} is listed twice")
        entries[entry] = reason
    if not seen_server:
        raise BaselineError(f"{path.name}: no 'server:' section")
    return entries


@dataclass
class Tally:
    """Scenario and check outcomes, judged the way the suite judges its baseline."""

    passed: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    checks_passed: int = 0
    checks_expected: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, scenario: str, checks: list[dict[str, object]], baseline: dict[str, str]) -> None:
        """Judge one scenario's checks against ``baseline``."""
        by_id: dict[str, set[str]] = {}
        for check in checks:
            by_id.setdefault(str(check.get("id")), set()).add(str(check.get("status")))
        bad = {cid for cid, statuses in by_id.items() if statuses & _BAD}
        good = {cid for cid, statuses in by_id.items() if "SUCCESS" in statuses} - bad
        self.checks_passed += len(good)
        if scenario in baseline:
            if bad:
                self.expected.append(scenario)
                self.checks_expected += len(bad)
            else:
                self.failed.append(scenario)
                self.problems.append(f"{scenario}: passes now; remove it from the baseline")
            return
        listed = {e.partition(":")[2] for e in baseline if e.partition(":")[0] == scenario}
        unexpected = sorted(bad - listed)
        stale = sorted(listed & good)
        self.checks_expected += len(bad & listed)
        for cid in unexpected:
            message = _first_error(checks, cid)
            self.problems.append(f"{scenario}:{cid}: unexpected failure: {message}")
        for cid in stale:
            self.problems.append(f"{scenario}:{cid}: passes now; remove it from the baseline")
        if unexpected or stale:
            self.failed.append(scenario)
        elif bad:
            self.expected.append(scenario)
        else:
            self.passed.append(scenario)

    def merge(self, other: Tally) -> None:
        self.passed += other.passed
        self.expected += other.expected
        self.failed += other.failed
        self.checks_passed += other.checks_passed
        self.checks_expected += other.checks_expected
        self.problems += other.problems


def _first_error(checks: list[dict[str, object]], cid: str) -> str:
    for check in checks:
        if check.get("id") == cid and check.get("status") in _BAD:
            return f"{check.get('status')} {check.get('errorMessage') or ''}".strip()[:300]
    return ""


def read_results(directory: Path) -> dict[str, list[dict[str, object]]]:
    """Scenario name to its checks, from the suite's ``-o`` directory (latest run wins)."""
    results: dict[str, list[dict[str, object]]] = {}
    if not directory.is_dir():
        return results
    for child in sorted(directory.iterdir()):
        match = _RESULT_DIR.match(child.name)
        checks_file = child / "checks.json"
        if match and checks_file.is_file():
            results[match["scenario"]] = json.loads(checks_file.read_text(encoding="utf-8"))
    return results


@contextmanager
def mediagate_server(log_path: Path, launcher: Sequence[str] = MEDIAGATE_SERVE) -> Iterator[str]:
    """``launcher --transport http`` on a free loopback port; yields its ``/mcp`` URL.

    ``launcher`` is what ``python`` runs: ``-m mediagate serve`` or ``fixture_server.py``.

    A fresh data dir and ``MEDIAGATE_LOCAL_DELAY_SCALE=0`` keep runs fast and independent;
    inherited ``MEDIAGATE_*`` settings (an auth token, provider keys) are dropped, and the
    working directory is the data dir so no stray ``.env`` is read. The server runs in its
    own process group, which is terminated (then killed) on the way out.
    """
    with tempfile.TemporaryDirectory(prefix="mediagate-conformance-") as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAGATE_")}
        env.update(MEDIAGATE_DATA_DIR=data_dir, MEDIAGATE_LOCAL_DELAY_SCALE="0")
        command = [sys.executable, *launcher, "--transport", "http"]
        command += ["--host", "127.0.0.1", "--port", "0"]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                yield _wait_until_serving(process, log_path)
            finally:
                _stop(process)


def _wait_until_serving(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"the server exited with {process.returncode}; see {log_path}")
        if url is None:
            match = _ANNOUNCE.search(log_path.read_text(encoding="utf-8", errors="replace"))
            url = match[1] if match else None
        if url is not None and _healthy(url.removesuffix("/mcp") + "/healthz"):
            return url
        time.sleep(0.1)
    raise ServerStartError(f"the server did not start within {SERVER_START_TIMEOUT_S:.0f} s")


def _healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group; SIGKILL whatever is left after a grace period
    (the server itself if it hangs, or sandboxed media workers it left behind)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class Suite:
    """One installed release of the conformance package, run with Node 22."""

    def __init__(self, node: Path, modules: Path, package: str) -> None:
        self.entry = modules / package / "dist" / "index.js"
        self.node = node
        self.version = json.loads((self.entry.parent.parent / "package.json").read_text())[
            "version"
        ]

    def command(self, *args: str) -> list[str]:
        return [str(self.node), str(self.entry), *args]

    def extension_scenarios(self) -> list[str]:
        listing = subprocess.run(
            self.command("list", "--server"),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        found = re.findall(r"^\s*-\s+(\S+)\s+\[extension\]\s*$", listing, flags=re.MULTILINE)
        if not found:
            raise RuntimeError(f"no extension scenarios listed by conformance {self.version}")
        return found


def run_suite(run: SuiteRun, suite: Suite, url: str, results: Path) -> tuple[Tally, bool]:
    """Run one set; returns the tally and whether the suite's own baseline check passed."""
    baseline_path = HERE / run.baseline
    baseline = read_baseline(baseline_path)
    out_dir = results / run.name
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    log_path = results / f"{run.name}.log"
    common = ["--url", url, "--expected-failures", str(baseline_path), "-o", str(out_dir)]
    invocations: list[tuple[list[str], float]]
    if run.extensions:
        invocations = [
            (suite.command("server", "--scenario", name, *common), SCENARIO_TIMEOUT_S)
            for name in suite.extension_scenarios()
        ]
    else:
        invocations = [(suite.command("server", *run.args, *common), RUN_TIMEOUT_S)]
    suite_ok = True
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    with log_path.open("w", encoding="utf-8") as log:
        for command, timeout in invocations:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            try:
                code = subprocess.run(
                    command, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout
                ).returncode
            except subprocess.TimeoutExpired:
                log.write(f"\n(timed out after {timeout:.0f} s)\n")
                code = -1
            suite_ok = suite_ok and code == 0
    tally = Tally()
    for scenario, checks in sorted(read_results(out_dir).items()):
        tally.add(scenario, checks, baseline)
    if not suite_ok and not tally.problems:
        tally.problems.append(f"the suite reported a failure; see {log_path}")
    return tally, suite_ok


def _install_signal_handlers() -> None:
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the server's `finally` runs.
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_conformance", description=__doc__.split("\n")[0])
    parser.add_argument("--node", type=Path, required=True, help="the Node >= 22 binary")
    parser.add_argument("--modules", type=Path, required=True, help="node_modules with the suite")
    parser.add_argument("--results", type=Path, required=True, help="where logs and results go")
    parser.add_argument(
        "--only", choices=[r.name for r in RUNS], action="append", help="run only these sets"
    )
    args = parser.parse_args(argv)
    _install_signal_handlers()
    try:
        for run in RUNS:
            read_baseline(HERE / run.baseline)  # refuse an unreviewed file before starting
        return _run_all(args)
    except (BaselineError, ServerStartError) as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print(
            f"conformance: interrupted ({exc or 'Ctrl-C'}); the server was stopped", file=sys.stderr
        )
        return 130


def _run_all(args: argparse.Namespace) -> int:
    started = time.monotonic()
    args.results.mkdir(parents=True, exist_ok=True)
    total = Tally()
    all_ok = True
    selected = [run for run in RUNS if not args.only or run.name in args.only]
    for launcher in dict.fromkeys(run.launcher for run in selected):
        log_name = "mediagate.log" if launcher == MEDIAGATE_SERVE else "fixture-server.log"
        with mediagate_server(args.results / log_name, launcher) as url:
            shown = " ".join(os.path.relpath(a) if os.path.isabs(a) else a for a in launcher)
            print(f"conformance: python {shown} serving at {url}", flush=True)
            for run in (r for r in selected if r.launcher == launcher):
                suite = Suite(args.node, args.modules, run.package)
                run_started = time.monotonic()
                tally, suite_ok = run_suite(run, suite, url, args.results)
                all_ok = all_ok and suite_ok and not tally.problems
                total.merge(tally)
                print(
                    f"conformance: {run.name} (suite {suite.version}): "
                    f"{len(tally.passed)} passed, {len(tally.expected)} expected failures, "
                    f"{len(tally.failed)} failed scenarios "
                    f"[{tally.checks_passed} checks passed, {tally.checks_expected} baselined] "
                    f"in {time.monotonic() - run_started:.1f} s",
                    flush=True,
                )
                for problem in tally.problems:
                    print(f"  FAIL {problem}", flush=True)
    print(
        f"conformance: {len(total.expected)} expected failures, each with its reason in "
        f"tests/conformance/expected-failures-*.yml ({total.checks_expected} checks); "
        f"logs in {args.results}/; {time.monotonic() - started:.1f} s",
        flush=True,
    )
    # A suite failure the tally cannot place (a crash, a time-out) still counts as one.
    failed = max(len(total.failed), 0 if all_ok else 1)
    print(f"conformance: {len(total.passed)} passed, {failed} failed", flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
