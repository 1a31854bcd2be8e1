"""The six priors side by side (issue 15, part 6): train and evaluate every config of configs/priors/,
then print one markdown table.

    python benchmarks/prior_comparison.py --data-dir DATA [--runs runs/priors] [--device cuda]
        [--samples 5000] [--datasets mnist5k frey-faces] [--dry-run] [--out docs/prior-comparison.md]

A quick check of the pipeline (not a measurement): --epochs 1 --samples 10 --subset 50 --seeds 0.

For each config C = configs/priors/DATASET-hvae-PRIOR.toml and seed S (0, 1, 2 for mnist5k; 0 for
Frey Faces) it runs, with the same epochs and importance samples for every prior,

    pyro-vamp train --config C --seed S --out RUNS/DATASET-hvae-PRIOR-seedS [--data-dir DATA]
    pyro-vamp eval RUNS/DATASET-hvae-PRIOR-seedS --samples 5000 [--data-dir DATA]

and then tabulates test ln p(x) (nats; bits/dim for Frey Faces), its difference to the VampPrior
paired by seed and paired by test point, the test ELBO, the top latent's average
KL(q(z2|x) || p(z2)) and its two parts, the marginal KL(q(z) || p(z)) and the mutual information
I(x; z) (nats), the active units of z2 and z1, the best and the trained epochs, and the training
and evaluation times: mean ± standard deviation over the seeds. Runs already evaluated are read,
not redone; an interrupted training is resumed (``--resume``). Measured on 2 CPU cores
(docs/prior-comparison.md): a mnist5k run takes 3 to 9 minutes (training and evaluation), a Frey
Faces run 5 to 11.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from pyro_vamp.run_folder import EVAL_FILE, LAST_CHECKPOINT, log_likelihood_file, read_metrics, read_run_record

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
        resume = ["--resume"] if (run_dir / LAST_CHECKPOINT).is_file() else []
        run(
            command("train", "--config", config, "--seed", seed, "--out", run_dir, *data, *device, *quick, *resume),
            args.dry_run,
        )
        if not args.dry_run:
            (run_dir / TRAINED).write_text("")
    if not (run_dir / EVAL_FILE).is_file():
        run(command("eval", run_dir, "--samples", args.samples, *data, *device, *subset), args.dry_run)
    return run_dir


def mean_std(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def read_run(run_dir: Path) -> dict | None:
    """eval.json of a run with its training epochs and seconds added, or None while it is not evaluated."""
    if not (run_dir / EVAL_FILE).is_file():
        return None
    result = json.loads((run_dir / EVAL_FILE).read_text())
    epochs = read_metrics(run_dir)
    result["trained_epochs"], result["train_seconds"] = len(epochs), sum(r["seconds"] for r in epochs)
    result["seed"] = read_run_record(run_dir)["config"]["seed"]
    result["per_point"] = np.load(run_dir / log_likelihood_file("test"))
    return result


def row(dataset: str, prior: str, runs: list[dict], reference: list[dict]) -> str:
    """One prior's cells: mean ± standard deviation over its seeds. The difference to the VampPrior
    is paired by seed (same seed, same split and shuffling), and per test point: ln p(x_n) minus
    the VampPrior's, averaged over the seeds, mean ± standard error over the test points (the
    test set's sampling error, which the seeds' spread does not show)."""
    grey = dataset == "frey-faces"
    key, digits = ("bits_per_dim", 4) if grey else ("test_ll", 2)
    vamp_of_seed = {v["seed"]: v for v in reference}
    pairs = [(r, vamp_of_seed[r["seed"]]) for r in runs if r["seed"] in vamp_of_seed]
    paired = [r[key] - v[key] for r, v in pairs]
    per_point = np.mean([r["per_point"] - v["per_point"] for r, v in pairs], axis=0) if pairs else np.zeros(0)
    error = per_point.std(ddof=1) / np.sqrt(per_point.size) if per_point.size > 1 else float("nan")
    test_points = "-" if prior == "vamp" or not pairs else f"{per_point.mean():.2f} ± {error:.2f}"
    units = sorted({"/".join(str(n) for n in r["active_units"].values()) for r in runs})
    cells = [
        prior,
        str(len(runs)),
        mean_std([r[key] for r in runs], digits),
        "-" if prior == "vamp" else mean_std(paired, digits),
        test_points,
        mean_std([r["test_elbo"] for r in runs], 2),
        mean_std([r["kl_top"] for r in runs], 2),
        mean_std([r["marginal_kl"] for r in runs], 2),
        mean_std([r["mutual_information"] for r in runs], 2),
        ", ".join(units),
        f"{mean_std([float(r['epoch']) for r in runs], 0)} / {mean_std([float(r['trained_epochs']) for r in runs], 0)}",
        mean_std([r["train_seconds"] for r in runs], 0),
        mean_std([r["seconds"] for r in runs], 0),
    ]
    return "| " + " | ".join(cells) + " |"


def table(dataset: str, runs: dict[str, list[dict]]) -> str:
    metric, unit = ("test bits/dim", "bits/dim") if dataset == "frey-faces" else ("test ln p(x) (nats)", "nats")
    head = (
        f"| prior | runs | {metric} | vs VampPrior ({unit}) | vs VampPrior per test point (nats) | test ELBO "
        "| KL top (nats) | marginal KL (nats) "
        "| I(x; z) (nats) | active units z2/z1 | best / trained epochs | train s | eval s |"
    )
    lines = [f"### {dataset} (HVAE)", "", head, "|" + "---|" * 13]
    lines += [row(dataset, prior, runs[prior], runs.get("vamp", [])) for prior in PRIORS if runs.get(prior)]
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
        runs: dict[str, list[dict]] = {}
        for prior in PRIORS:
            config = CONFIGS / f"{dataset}-hvae-{prior}.toml"
            run_dirs = [train_and_evaluate(config, seed, args) for seed in args.seeds or SEEDS[dataset]]
            runs[prior] = [result for result in map(read_run, run_dirs) if result is not None]
        tables.append(table(dataset, runs))
    text = "\n".join(tables)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
