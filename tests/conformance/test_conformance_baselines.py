"""The expected-failures files stay reviewed, and the runner judges results like the suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_conformance import HERE, RUNS, BaselineError, Tally, read_baseline


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "expected-failures.yml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted({run.baseline for run in RUNS}))
def test_every_expected_failure_names_its_reason(name: str) -> None:
    entries = read_baseline(HERE / name)

    assert entries
    assert all(len(reason) >= 10 for reason in entries.values())
    wholesale = {entry for entry in entries if ":" not in entry}
    per_check = {entry.partition(":")[0] for entry in entries if ":" in entry}
    assert not wholesale & per_check, "the suite rejects a scenario listed both ways"


def test_read_baseline_refuses_an_entry_without_a_reason(tmp_path: Path) -> None:
    path = _write(tmp_path, "server:\n  - ping  # answers\n  - tools-list\n")

    with pytest.raises(BaselineError, match=r":3: tools-list has no '# reason'"):
        read_baseline(path)


def test_read_baseline_refuses_a_duplicate(tmp_path: Path) -> None:
    path = _write(tmp_path, "server:\n  - ping  # one\n  - ping  # two\n")

    with pytest.raises(BaselineError, match="listed twice"):
        read_baseline(path)


def test_read_baseline_reads_only_the_server_section(tmp_path: Path) -> None:
    body = "# header\nserver:\n  # a group\n  - a:b  # because\nclient:\n  - c\n"

    assert read_baseline(_write(tmp_path, body)) == {"a:b": "because"}


def _check(cid: str, status: str) -> dict[str, object]:
    return {"id": cid, "status": status, "errorMessage": f"{cid} says {status}"}


def test_tally_excuses_only_listed_checks_and_flags_stale_ones() -> None:
    tally = Tally()
    baseline = {"s:known": "fixture", "s:fixed": "was broken", "whole": "fixture"}

    tally.add("s", [_check("known", "FAILURE"), _check("fixed", "SUCCESS")], baseline)
    tally.add("t", [_check("new", "WARNING"), _check("ok", "SUCCESS")], baseline)
    tally.add("whole", [_check("x", "FAILURE")], baseline)
    tally.add("clean", [_check("x", "SUCCESS"), _check("note", "INFO")], baseline)

    assert tally.passed == ["clean"]
    assert tally.expected == ["whole"]
    assert tally.failed == ["s", "t"]
    assert tally.problems == [
        "s:fixed: passes now; remove it from the baseline",
        "t:new: unexpected failure: WARNING new says WARNING",
    ]


def test_tally_flags_a_wholly_listed_scenario_that_passes() -> None:
    tally = Tally()

    tally.add("ping", [_check("ping", "SUCCESS")], {"ping": "was broken"})

    assert tally.failed == ["ping"]
    assert tally.problems == ["ping: passes now; remove it from the baseline"]
