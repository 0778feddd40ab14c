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


def test_draft_quality_splits_each_sender_80_20_the_same_way_every_run():
    from benchmarks.draft_quality import chrf, request_for, split

    emails = {"kay_brown": [f"email {i} about the turbine contract" for i in range(50)]}
    (train, test), = split(emails).values()
    assert len(train) == 40 and len(test) == 10 and not set(train) & set(test)
    assert split(emails) == split(emails) and split(emails, seed=1) != split(emails)
    assert chrf("the turbine contract", "the turbine contract") == pytest.approx(100.0)
    assert 0 < chrf("the turbine agreement", "the turbine contract") < 100
    request, wanted = request_for("Dale, has GE initialled the pages of the contract? Thanks, Kay", "kay_brown", 12)
    assert request == "Write an email about: " + ", ".join(wanted) and "kay" not in wanted and "thanks" not in wanted


def test_draft_quality_pools_several_selections_into_one_table():
    from benchmarks.draft_quality import markdown, pooled, summarise

    def run(sender: str, attributed: list[float], sampled: float, written: int) -> dict:
        rows = [{"sender": sender, "mode": "full", "real": f"real {i}", "chrF": 30.0, "rouge_l": 0.1,
                 "attributed": a, "coverage": 0.5, "longest_copy": 3, "words": 40, "pasted": 0.0,
                 "candidates": ["a draft"] * written} for i, a in enumerate(attributed)]
        return {"args": {"out": sender}, "rows": rows, "table": summarise(rows),
                "ceiling": {"sampled": sampled, "picked": len(rows), "all": 0.65, "count": 452}}

    one, two = run("kay_brown", [1.0, 0.0], 0.5, 5), run("tana_williams", [1.0, 1.0, 1.0, 1.0], 0.75, 3)
    assert pooled([one]) is one
    both = pooled([one, two])
    assert both["table"][0]["drafts"] == 6 and both["table"][0]["attribution"] == pytest.approx(5 / 6)
    assert both["ceiling"]["picked"] == 6 and both["ceiling"]["sampled"] == pytest.approx((0.5 * 2 + 0.75 * 4) / 6)
    row = markdown(both["table"], both["ceiling"], 6).splitlines()[2]
    assert row.startswith("| full | 6 | 30.0 |") and row.endswith("| 40.0 |  | 3.7 |")  # no times saved: no "nan"
    del two["rows"][0]["candidates"]  # a run saved before the drafts written were kept
    assert markdown(summarise(two["rows"]), two["ceiling"], 4).splitlines()[2].endswith("| 40.0 |  |  |")


def test_draft_quality_development_emails_never_overlap_the_reported_ones():
    from benchmarks.draft_quality import sample, split

    emails = {"kay_brown": [f"email {i} about the turbine contract, " * 5 for i in range(100)]}
    parts = split(emails)
    reported, development = sample(parts, ["kay_brown"], 3)["kay_brown"], sample(parts, ["kay_brown"], 2, offset=3)
    assert len(reported) == 3 and len(development["kay_brown"]) == 2
    assert not set(reported) & set(development["kay_brown"])
    assert reported == parts["kay_brown"][1][:3]
