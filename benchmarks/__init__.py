"""Performance and quality benchmarks: `python -m benchmarks --help` (or `make bench`).

Every figure is measured beside a reference in the same run and reported as a ratio,
because this machine is shared and noisy. Evaluation data is read from
`../shared/datasets` (or `$ASSISTANT_DATASETS`) and never copied into the repository;
a suite whose data is absent is reported as skipped.
"""
