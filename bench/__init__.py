"""Benchmarks: scripts run by hand against the real local stack, not tests.

    .venv/bin/python -m bench.storm --messages 10000 --concurrency 64

Results go to bench/results/ (not versioned); docs/benchmarks.md has the
measured numbers and how to read them.

The ceiling's no-op workflow lives here, in a module that imports nothing
but `temporalio.workflow`: the sandbox re-imports a workflow's module for
every run, and re-importing bench/storm.py (argparse, subprocess, dataclasses
...) cost about 20 ms of CPU per workflow (measured: ~30 ms/wf of client CPU
against ~11 ms/wf from a module this small), which made the benchmark's own
process, not the Temporal server, the limit of the "ceiling".
"""

from temporalio import workflow


@workflow.defn(name="StormNoopWorkflow")
class NoopWorkflow:
    @workflow.run
    async def run(self) -> None:
        return None
