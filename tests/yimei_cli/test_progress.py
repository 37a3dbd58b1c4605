"""The pieces of `yimei run`'s progress on input built here: dbt's log lines of a failing
build (the pipeline's own runs pass: tests/yimei_cli/test_terminal.py), and the console
on a pipe."""

from __future__ import annotations

import io

from yimei_cli.progress import Console, DbtProgress, governance_outcome, log_path_for, stage_line

# dbt 1.11's lines as dagster-dbt echoes them, colour codes included
FAILING_BUILD = """\
Concurrency: 2 threads (target='dev')
1 of 2 START hook: yimei.on-run-start.0 ........................................ [RUN]
1 of 2 OK hook: yimei.on-run-start.0 ........................... [\x1b[32mOK\x1b[0m in 0.04s]
1 of 4 START sql table model staging.a ......................................... [RUN]
1 of 4 OK created sql table model staging.a ................ [\x1b[32mOK\x1b[0m in 0.31s]
2 of 4 START sql table model marts.b ........................................... [RUN]
2 of 4 ERROR creating sql table model marts.b ......... [\x1b[31mERROR\x1b[0m in 0.10s]
3 of 4 SKIP relation marts.c ............................................... [SKIP]
4 of 4 START test not_null_a_id ............................................... [RUN]
4 of 4 FAIL 2 not_null_a_id ...................................... [FAIL 2 in 0.05s]
4 of 4 FAIL 2 not_null_a_id ...................................... [FAIL 2 in 0.05s]
1 of 1 OK hook: yimei.on-run-end.0 ............................. [\x1b[32mOK\x1b[0m in 0.08s]
"""


def test_dbt_progress_counts_each_node_once_and_says_how_it_ended():
    progress = DbtProgress()
    moved = [progress.read(line) for line in FAILING_BUILD.splitlines()]
    assert sum(moved) == 5  # the four nodes' ends and the repeated one; no hook, no START
    assert (progress.total, sorted(progress.done)) == (4, [1, 2, 3, 4])
    assert progress.outcome() == (
        "4 of 4 models, seeds and tests done: 1 passed, 2 failed, 1 skipped"
    )
    # dbt's own count, when its last line came, is the one said
    progress.read("Done. PASS=1 WARN=1 ERROR=1 SKIP=1 NO-OP=0 TOTAL=4")
    assert progress.outcome().endswith("1 passed, 1 warned, 1 failed, 1 skipped")


def test_on_a_pipe_the_console_writes_plain_lines_and_no_status():
    stream = io.StringIO()
    console = Console(stream, tty=False)
    console.status(stage_line("dbt", "[####....] 2/4"))
    console.line(stage_line("dbt", "\x1b[32m4 of 4\x1b[0m done", 12.4))
    console.warning("a sentence")
    assert stream.getvalue() == "dbt         4 of 4 done (12 s)\nwarning: a sentence\n"


def test_on_a_terminal_the_status_is_redrawn_in_place_and_cleared():
    stream = io.StringIO()
    console = Console(stream, tty=True)
    console.status("dbt         [#...] 1/4")
    console.status("dbt         [##..] 2/4")
    console.line("dbt         done")
    assert stream.getvalue() == (
        "\rdbt         [#...] 1/4\x1b[K\rdbt         [##..] 2/4\x1b[K\r\x1b[Kdbt         done\n"
    )


def test_the_governance_line_names_the_blocking_rules_that_failed():
    passed = {"GOV-01": 6, "GOV-02": 0, "GOV-10": 0, "GOV-11": 0}
    assert governance_outcome(passed) == (
        "4 rules judged: 6 findings from 1 rule; the 2 blocking rules passed"
    )
    assert governance_outcome({**passed, "GOV-11": 3}) == (
        "4 rules judged: publication BLOCKED by GOV-11"
    )


def test_a_run_log_is_new_and_the_oldest_beyond_the_latest_are_removed(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    earlier = [logs / f"run-2026120{day}-080000.log" for day in range(1, 6)]
    for path in earlier:
        path.write_text("dbt's log", encoding="utf-8")
    path = log_path_for(tmp_path, keep=3)
    assert path.parent == logs and path not in earlier and not path.exists()
    assert sorted(logs.iterdir()) == earlier[-2:]  # with the new one: three
