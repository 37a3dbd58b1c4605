"""The benchmark harness (`yimei bench`, `make bench`): how fast and how big the pipeline runs.

    from bench.harness import run_benchmark
    result = run_benchmark("S")  # -> bench/results/S.json and a section in docs/benchmarks.md

See docs/benchmarks.md for what each figure means.
"""
