"""The benchmarks' data splits and references: what keeps the reported figures honest."""

from __future__ import annotations

import pytest

from benchmarks.retrieval_data import datasets_dir, locomo, prefeval


@pytest.fixture(scope="module")
def root():
    found = datasets_dir()
    if found is None or not (found / "locomo").is_dir() or not (found / "prefeval").is_dir():
        pytest.skip("dataset absent: ../shared/datasets (or $ASSISTANT_DATASETS)")
    return found


def test_locomo_tune_and_report_halves_share_no_conversation(root):
    tune = {c.name for c in locomo(root, split="tune")}
    report = {c.name for c in locomo(root, split="report")}
    every = {c.name for c in locomo(root)}
    assert tune and report and not tune & report and tune | report == every
    assert abs(len(tune) - len(report)) <= 1
    assert [c.name for c in locomo(root, split="report")] == sorted(report)  # the same half every run


def test_prefeval_tune_and_report_halves_share_no_topic(root):
    fillers_tune, tune = prefeval(root, split="tune")
    fillers_report, report = prefeval(root, split="report")
    _, every = prefeval(root)
    tune_topics, report_topics = {p.topic for p in tune}, {p.topic for p in report}
    assert tune_topics and report_topics and not tune_topics & report_topics
    assert len(tune) + len(report) == len(every)
    assert fillers_tune == fillers_report  # the distractors of every question, in neither half


def test_quality_suite_reports_on_the_report_half_unless_told():
    from benchmarks.__main__ import parse_args

    assert parse_args([]).split == "report"
    assert parse_args(["--split", "tune"]).split == "tune"
