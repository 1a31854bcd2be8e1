"""The six priors side by side (issue 15, part 6): train and evaluate every config of configs/priors/,
then print one markdown table.

    python benchmarks/prior_comparison.py --data-dir DATA [--runs runs/priors] [--device cuda]
        [--samples 5000] [--datasets mnist5k frey-faces] [--dry-run] [--out docs/prior-comparison.md]

A quick check of the pipeline (not a measurement): --epochs 1 --samples 10 --subset 50 --seeds 0.

For each config C = configs/priors/DATASET-hvae-PRIOR.toml and seed S (0, 1, 2 for mnist5k; 0 for
Frey Faces) it runs, with the same epochs and importance samples for every prior,

    pyro-vamp train --config C --seed S --out RUNS/DATASET-hvae-PRIOR-seedS [--data-dir DATA]
    pyro-vamp eval RUNS/DATASET-hvae-PRIOR-seedS --samples 5000 [--data-dir DATA]

and then tabulates test ln p(x) (nats; bits/dim for Frey Faces), the top latent's marginal
KL(q(z) || p(z)) and mutual information I(x; z) (nats), the active units of z2 and z1, epochs and
training time: mean ± standard deviation over the seeds. Runs already evaluated are read, not
redone; an interrupted training is resumed (``--resume``). Heavy: on one GPU the mnist5k grid is
18 runs of 80 epochs, Frey Faces 6 runs of up to 2,000 epochs.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs" / "priors"
PRIORS = ("standard", "mog", "vamp", "vamp-data", "exemplar", "flow")
SEEDS = {"mnist5k": (0, 1, 2), "frey-faces": (0,)}
TRAINED = "prior-comparison-trained"  # written into a run folder when its training has finished


def command(*args) -> list[str]:
    return [sys.executable, "-m", "pyro_vamp.cli", *map(str, args)]


def shown(cmd: list[str]) -> str:
    return " ".join(["pyro-vamp", *cmd[3:]])


def run(cmd: list[str], dry_run: bool) -> None:
    print(f"$ {shown(cmd)}", file=sys.stderr, flush=True)
    if not dry_run:
        subprocess.run(cmd, check=True)


def train_and_evaluate(config: Path, seed: int, args) -> Path:
    run_dir = Path(args.runs) / f"{config.stem}-seed{seed}"
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    device = ["--device", args.device]
    quick = ["--epochs", args.epochs] if args.epochs else []
    subset = ["--subset", args.subset] if args.subset else []
    if not (run_dir / TRAINED).is_file():
        resume = ["--resume"] if (run_dir / "checkpoint-last.pt").is_file() else []
        run(
            command("train", "--config", config, "--seed", seed, "--out", run_dir, *data, *device, *quick, *resume),
            args.dry_run,
        )
        if not args.dry_run:
            (run_dir / TRAINED).write_text("")
    if not (run_dir / "eval.json").is_file():
        run(command("eval", run_dir, "--samples", args.samples, *data, *device, *subset), args.dry_run)
    return run_dir


def mean_std(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def row(dataset: str, prior: str, run_dirs: list[Path]) -> str:
    evals = [json.loads((d / "eval.json").read_text()) for d in run_dirs if (d / "eval.json").is_file()]
    metrics = [
        [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines() if line.strip()]
        for d in run_dirs
        if (d / "metrics.jsonl").is_file()
    ]
    grey = dataset == "frey-faces"
    value = [e["bits_per_dim"] if grey else e["test_ll"] for e in evals]
    units = sorted({"/".join(str(n) for n in e["active_units"].values()) for e in evals})
    cells = [
        prior,
        str(len(evals)),
        mean_std(value, 4 if grey else 2),
        mean_std([e["marginal_kl"] for e in evals if "marginal_kl" in e], 2),
        mean_std([e["mutual_information"] for e in evals if "mutual_information" in e], 2),
        ", ".join(units) or "-",
        mean_std([float(len(m)) for m in metrics], 0),
        mean_std([sum(r["seconds"] for r in m) for m in metrics], 0),
    ]
    return "| " + " | ".join(cells) + " |"


def table(dataset: str, runs: dict[str, list[Path]]) -> str:
    metric = "test bits/dim" if dataset == "frey-faces" else "test ln p(x) (nats)"
    head = f"| prior | runs | {metric} | marginal KL (nats) | I(x; z) (nats) | active units z2/z1 | epochs | train s |"
    lines = [f"### {dataset} (HVAE)", "", head, "|" + "---|" * 8]
    lines += [row(dataset, prior, runs[prior]) for prior in PRIORS if prior in runs]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder with freyfaces.pkl (mnist5k needs none)")
    parser.add_argument("--runs", default="runs/priors", help="folder of the run folders")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--samples", type=int, default=5000, help="importance samples per test point")
    parser.add_argument("--datasets", nargs="+", default=list(SEEDS), choices=list(SEEDS))
    parser.add_argument("--seeds", type=int, nargs="+", help="instead of 0 1 2 (mnist5k) and 0 (Frey Faces)")
    parser.add_argument("--epochs", type=int, help="override the configs' epochs (a quick check only)")
    parser.add_argument("--subset", type=int, help="evaluate this many test points (a quick check only)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    parser.add_argument("--out", help="also write the tables to this markdown file")
    args = parser.parse_args(argv)
    tables = []
    for dataset in args.datasets:
        runs: dict[str, list[Path]] = {}
        for prior in PRIORS:
            config = CONFIGS / f"{dataset}-hvae-{prior}.toml"
            runs[prior] = [train_and_evaluate(config, seed, args) for seed in args.seeds or SEEDS[dataset]]
        tables.append(table(dataset, runs))
    text = "\n".join(tables)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
