"""Grids of training runs through submitit: on this machine, or as Slurm jobs on a cluster.

    python -m common.sweep --queue --profile paper     # the study's queue (common.manifest)
    python -m common.sweep --runs resnet20 dy4 gated0.5 --seeds 0 1 2 --profile full
    python -m common.sweep --runs resnet20 dy4 --seeds 0 1 2 --parallel auto   # measured rule
    python -m common.sweep --runs resnet20 dy4 --seeds 0 1 2 --cluster slurm \\
        --partition gpu --gpus-per-job 1 --timeout-min 240

A job is one run of ``common.train.train``: it resumes from its per-epoch checkpoint, so a job
that hits its time limit or is preempted is requeued (submitit's ``Checkpointable``) and goes on
where it stopped. Finished runs are skipped before anything is submitted; results land in
``results/`` exactly as ``common.train`` writes them. Run names are the short names of
``common.manifest`` (``resnet20``, ``dy4``, ``gated0.5``, ``width0.81``, ``headline``) or
``model:{json kwargs}``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
import submitit
import torch

from . import bench, benchmarks, manifest
from .config import (COMPILE_PROFILES, PROFILES, TrainConfig, compile_decisions, device_name,
                     resolve_device, resolve_precision)
from .data import load_cifar10
from .manifest import parse_run
from .paths import BENCH_DIR, REPO_ROOT, RESULTS_DIR
from .runs import CONFIG_FILE, finished_run, run_prefix, run_progress
from .train import train

def grid(runs: list[str], seeds: list[int], profile: str, **overrides) -> list[TrainConfig]:
    """Every run x seed as a training configuration of ``profile``."""
    return [TrainConfig.from_profile(profile, model=model, model_kwargs=kwargs, seed=seed,
                                     **overrides)
            for model, kwargs in map(parse_run, runs) for seed in seeds]


def queue_configs(profile: str, **overrides) -> list[TrainConfig]:
    """The training queue of ``profile`` in ``common.manifest`` (run x seed, in priority order)."""
    return [TrainConfig.from_profile(profile, model=model, model_kwargs=kwargs, seed=seed,
                                     **overrides)
            for (model, kwargs), seed in ((parse_run(run), seed)
                                          for run, seed in manifest.queue(profile))]


def queue_status(profile: str, results_dir: str | Path = RESULTS_DIR, device: str | None = None) -> pd.DataFrame:
    """Where each run of ``profile``'s queue stands, in queue order (``runs.run_progress`` of
    every folder of that model, profile and seed; "not started" without one). Speeds and hours
    left are those on ``device`` (default: this machine's CPU or GPU model); a run with no epoch
    there is estimated at the median speed of the queue's runs of the same model."""
    device = device or device_name(resolve_device("auto")).split(" (")[0]
    rows = []
    for config in queue_configs(profile):
        folders = sorted(p.parent for p in Path(results_dir).glob(f"{run_prefix(config)}-*/{CONFIG_FILE}"))
        rows += ([{"model": config.model, "run": folder.name, **run_progress(folder, device)} for folder in folders]
                 or [{"model": config.model, "run": run_prefix(config), "epochs": f"0/{config.epochs}",
                      "state": "not started"}])
    table = pd.DataFrame(rows)
    speed = table["s/epoch"].fillna(table.groupby("model")["s/epoch"].transform("median"))
    left = [int(total) - int(done) for done, total in table["epochs"].str.split("/")]
    table["hours left"] = [0.0 if state == "finished" else round(n * s / 3600, 1)
                           for state, n, s in zip(table["state"], left, speed)]
    return table[["run", "epochs", "state", "last acc (%)", "hours", "s/epoch", "hours left"]]


class TrainJob(submitit.helpers.Checkpointable):
    """One resumable run; on timeout or preemption submitit calls ``checkpoint`` (inherited:
    resubmit the same call), and the rerun resumes from the run's last epoch."""

    def __call__(self, config: TrainConfig, data_source: str | None, results_dir: str,
                 device: str = "auto", threads: int | None = None) -> str:
        if threads:
            torch.set_num_threads(threads)
        return str(train(config, load_cifar10(data_source), results_dir, device, progress=False))


def make_executor(cluster: str, folder: Path, timeout_min: int, gpus_per_job: int = 0,
                  cpus_per_job: int = 1, partition: str | None = None):
    """submitit's executor: ``local`` (subprocesses here), ``debug`` (in this process, for
    tests) or ``slurm``."""
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    params = dict(timeout_min=timeout_min, gpus_per_node=gpus_per_job, cpus_per_task=cpus_per_job,
                  tasks_per_node=1, nodes=1, name="dyncnn")
    if partition:
        params["slurm_partition"] = partition
    executor.update_parameters(**params)
    return executor


def parallel_runs(device: str = "auto", threads: int = 1, bench_dir: Path | None = None) -> int:
    """How many runs to train at once on this machine (``--parallel auto``). CPU: one per
    ``threads`` cores. GPU: the rule of ``common.benchmarks.runs_per_device`` applied to
    ``results/benchmarks/concurrency_cuda.json`` when it was measured on this GPU model, else
    measured now (about a minute per count) and written there; times the GPUs visible."""
    dev = resolve_device(device)
    if dev.type != "cuda":
        return max(1, (os.cpu_count() or 1) // threads)
    bench_dir = Path(bench_dir or BENCH_DIR)
    path = bench_dir / "concurrency_cuda.json"
    measured = benchmarks.load("concurrency_cuda", bench_dir) if path.exists() else None
    if not measured or measured["device"] != bench.device_name(dev):
        print(f"[sweep] measuring how many runs share this GPU (writes {path.name})", flush=True)
        measured = bench.concurrency(device)
        benchmarks.write(measured, "concurrency_cuda", bench_dir)
    # the rule is per GPU; local jobs are spread over every visible GPU (see sweep)
    return benchmarks.runs_per_device(measured) * max(1, torch_gpus())


def measure_compile_decisions(profile: str, device: str = "auto", threads: int = 1) -> None:
    """Before CPU runs of a profile that compiles where it pays (``COMPILE_PROFILES``): measure,
    once per CPU model, threads and precision, whether the compiled training step pays for each
    model family (``bench.trainer_speed``) and record it for ``resolve_compile``."""
    dev = resolve_device(device)
    if dev.type != "cpu" or profile not in COMPILE_PROFILES:
        return
    torch.set_num_threads(threads)  # the jobs' setting: the decision is per thread count
    machine = f"{device_name(dev)}, {resolve_precision('auto', dev)}"
    if machine in compile_decisions():
        return
    print(f"[sweep] measuring where a compiled training step pays on {machine}", flush=True)
    result = bench.trainer_speed(device, baseline=False)
    benchmarks.write(result, "trainer_cpu")
    print(f"[sweep] compile decisions: {benchmarks.record_compile_decisions(result)}", flush=True)


def sweep(configs: list[TrainConfig], data_source: str | None, executor, parallel: int,
          results_dir: str | Path = RESULTS_DIR, device: str = "auto",
          threads: int | None = None, poll_s: float = 10.0) -> list[str]:
    """Submit every unfinished run of ``configs``, at most ``parallel`` at a time (all at once
    for Slurm, whose scheduler limits the array); wait; return the finished run folders."""
    data = load_cifar10(data_source)
    todo = [c for c in configs if not finished_run(c, data.source, results_dir)]
    done = [str(finished_run(c, data.source, results_dir)) for c in configs if c not in todo]
    print(f"[sweep] {len(configs)} runs: {len(done)} finished, {len(todo)} to train", flush=True)
    job = TrainJob()
    if executor.cluster == "slurm":
        executor.update_parameters(slurm_array_parallelism=parallel)
        with executor.batch():
            running = [executor.submit(job, c, data_source, str(results_dir), device, threads)
                       for c in todo]
        return done + [j.result() for j in running]
    # submitit's local executor hides every GPU from a job that asks for none; here each job
    # gets one, round robin, so several runs share a GPU (parallel_runs says how many).
    gpus = torch_gpus() if executor.cluster == "local" else 0
    running: list = []
    submitted = 0
    while todo or running:
        while todo and len(running) < parallel:
            if gpus:
                executor.update_parameters(gpus_per_node=1, visible_gpus=(submitted % gpus,))
            running.append(executor.submit(job, todo.pop(0), data_source, str(results_dir),
                                           device, threads))
            submitted += 1
        finished = [j for j in running if j.done()]
        for j in finished:
            done.append(j.result())  # raises the job's error, with its log
            running.remove(j)
            print(f"[sweep] finished {Path(done[-1]).name}", flush=True)
        if not finished:
            time.sleep(poll_s)
    return done


def torch_gpus() -> int:
    """The number of CUDA devices this process sees."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--runs", nargs="+",
                       help="resnet20, dyK, gatedW, widthW, headline or model:{json kwargs}")
    which.add_argument("--queue", action="store_true",
                       help="the study's queue of --profile (common.manifest), in priority order")
    which.add_argument("--status", action="store_true",
                       help="only show where each run of --profile's queue stands, and the hours left")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--profile", default="full", choices=list(PROFILES))
    parser.add_argument("--data", default=None, help="CIFAR-10 source (default: $CIFAR10)")
    parser.add_argument("--cluster", default="local", choices=["local", "slurm", "debug"])
    parser.add_argument("--parallel", default="auto",
                        help="runs at once (local: processes; slurm: array parallelism); auto: "
                             "one per --threads cores on a CPU, the measured rule on a GPU")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per run")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gpus-per-job", type=int, default=0)
    parser.add_argument("--cpus-per-job", type=int, default=1)
    parser.add_argument("--partition", default=None, help="Slurm partition")
    parser.add_argument("--timeout-min", type=int, default=24 * 60,
                        help="per job; a job that runs out is requeued and resumes")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--log-dir", default=str(REPO_ROOT / "logs" / "submitit"))
    args = parser.parse_args(argv)
    if args.status:
        table = queue_status(args.profile, args.results_dir)
        print(table.to_string(index=False))
        unknown = table["hours left"].isna().sum()
        print(f"{(table['state'] == 'finished').sum()} of {len(table)} finished; {table['hours left'].sum():.1f} "
              f"hours of training left on this machine, one run at a time, at the speeds measured here"
              + (f" ({unknown} runs with no speed measured here not counted)" if unknown else ""))
        return
    executor = make_executor(args.cluster, Path(args.log_dir), args.timeout_min,
                             args.gpus_per_job, args.cpus_per_job, args.partition)
    parallel = (parallel_runs(args.device, args.threads) if args.parallel == "auto"
                else int(args.parallel))
    print(f"[sweep] {parallel} runs at once", flush=True)
    if args.cluster == "local":
        measure_compile_decisions(args.profile, args.device, args.threads)
    configs = (queue_configs(args.profile) if args.queue
               else grid(args.runs, args.seeds, args.profile))
    finished = sweep(configs, args.data, executor,
                     parallel, args.results_dir, args.device, args.threads)
    print("\n".join(finished))


if __name__ == "__main__":
    main()
