"""``report.md`` of an evaluated run, and the Table-1-style comparison of several runs."""

import csv
import io
import json
from pathlib import Path

from ..config import TrainConfig
from ..errors import InputError
from ..run_folder import EVAL_FILE, REPORT_FILE, read_metrics, read_run_record, write_file

FIGURE_TITLES = {
    "samples": "Samples from the model (paper Fig. 4)",
    "reconstructions": "A fixed random selection of test images (odd rows) and their reconstructions (even rows) "
    "(Fig. 5)",
    "pseudo_inputs": "Pseudo-inputs (Fig. 3, bottom)",
    "pseudo_input_samples": "Images generated from the first pseudo-inputs, each row: u_k then samples (Fig. 3, top)",
    "ll_histogram": "Per-point test log-likelihoods (Fig. 6)",
    "training_curves": "Training objective, validation ELBO and beta per epoch",
    "aggregate_posterior": "Aggregate posterior q(z) against the prior p(z), top latent, first two principal axes",
}


def write_report(run_dir: Path, summary: dict, config: TrainConfig, figure_paths: dict) -> Path:
    """Write ``RUN_DIR/report.md``: the numbers of ``summary`` and the figures."""
    units = ", ".join(f"{site}: {n} / {config.latent_dim}" for site, n in summary["active_units"].items())
    lines = [
        f"# {config.dataset}: {config.model} + {config.prior} prior",
        "",
        f"Best checkpoint (epoch {summary['epoch']}), {summary['split']} split, {summary['n_points']} points, "
        f"{summary['samples']} importance samples per point, {summary['seconds']:.1f} s on {summary['device']}.",
        "",
        "| quantity | value ± SE (standard error over the test points) |",
        "|---|---|",
        f"| log-likelihood ln p(x) (nats) | {summary['test_ll']:.2f} ± {summary['test_ll_se']:.2f} |",
        f"| ELBO (nats) | {summary['test_elbo']:.2f} |",
        f"| reconstruction E_q ln p(x\\|z) (nats) | {summary['reconstruction']:.2f} |",
        f"| KL term (nats) | {summary['kl']:.2f} |",
        *(
            [
                f"| top-latent KL = mutual information I(x;z) + marginal KL(q(z)\\|\\|p(z)) (nats) | "
                f"{summary['kl_top']:.2f} ± {summary['kl_top_se']:.2f} = "
                f"{summary['mutual_information']:.2f} ± {summary['mutual_information_se']:.2f} + "
                f"{summary['marginal_kl']:.2f} ± {summary['marginal_kl_se']:.2f} |"
            ]
            if "kl_top" in summary
            else []
        ),
        *([f"| bits per dimension | {summary['bits_per_dim']:.4f} |"] if summary["bits_per_dim"] is not None else []),
        *(
            [f"| ln p(x) in the data's own units (standardised + log-Jacobian) | {summary['test_ll_original']:.2f} |"]
            if "test_ll_original" in summary
            else []
        ),
        f"| active units | {units} |",
        "",
    ]
    for name, path in figure_paths.items():
        lines += [f"## {FIGURE_TITLES[name]}", "", f"![{name}]({Path(path).name})", ""]
    path = Path(run_dir) / REPORT_FILE
    write_file(path, "\n".join(lines).encode())
    return path


COLUMNS = (
    "dataset",
    "model",
    "prior",
    "K",
    "metric",
    "value",
    "active units",
    "points",
    "runs",
    "epochs",
    "train s",
    "eval s",
)


def _evaluation_problem(summary) -> str | None:
    """What makes ``summary`` (a parsed ``eval.json``) unusable by :func:`comparison_rows`, or None."""
    if not isinstance(summary, dict):
        return f"it holds a JSON {type(summary).__name__}, not an object"
    for key in ("test_ll", "bits_per_dim", "n_points", "samples", "seconds"):
        optional = key == "bits_per_dim" and summary.get("ll_scale") == "standardised"  # real-valued data
        if (not optional or summary.get(key) is not None) and (
            not isinstance(summary.get(key), int | float) or isinstance(summary.get(key), bool)
        ):
            return f"its {key} is missing or not a number"
    if not isinstance(summary.get("active_units"), dict):
        return "its active_units is missing or not an object"
    return None


def _read_run(run_dir) -> dict:
    record = read_run_record(run_dir)
    path = Path(run_dir) / EVAL_FILE
    if not path.is_file():
        raise InputError(f"{run_dir} has no {EVAL_FILE}; run pyro-vamp eval {run_dir} first")
    try:
        summary = json.loads(path.read_text())
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON ({err}); run pyro-vamp eval {run_dir} again") from None
    problem = _evaluation_problem(summary)
    if problem:
        raise InputError(f"{path} is not an evaluation pyro-vamp wrote ({problem}); run pyro-vamp eval {run_dir} again")
    config, grey = record["config"], record["data"]["likelihood"] == "logistic"
    metrics = read_metrics(run_dir)
    return {
        "key": (
            config["dataset"],
            config["model"],
            config["prior"],
            config["components"] if config["prior"] not in ("standard", "flow") else "",
        ),
        "grey": grey,
        "value": summary["bits_per_dim"] if grey else summary.get("test_ll_original", summary["test_ll"]),
        "units": ", ".join(f"{site}: {n}" for site, n in summary["active_units"].items()),
        "points": f"{summary['n_points']} x {summary['samples']}",
        "epochs": len(metrics),
        "train_s": sum(r["seconds"] for r in metrics),
        "eval_s": summary["seconds"],
    }


def _mean_std(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def comparison_rows(run_dirs) -> list[dict]:
    """One row per (dataset, model, prior, K), Table-1 style: ln p(x) for binary data, bits per
    dimension for grey (discretised logistic) data; repeated runs give mean ± standard deviation."""
    groups: dict[tuple, list[dict]] = {}
    for run_dir in run_dirs:
        run = _read_run(run_dir)
        groups.setdefault(run["key"], []).append(run)
    rows = []
    for key, runs in sorted(groups.items(), key=lambda item: tuple(str(k) for k in item[0])):
        grey = runs[0]["grey"]
        rows.append(
            {
                "dataset": key[0],
                "model": key[1],
                "prior": key[2],
                "K": key[3],
                "metric": "bits/dim" if grey else "ln p(x)",
                "value": _mean_std([r["value"] for r in runs], 4 if grey else 2),
                "active units": "; ".join(sorted({r["units"] for r in runs})),
                "points": ", ".join(sorted({r["points"] for r in runs})),
                "runs": len(runs),
                "epochs": _mean_std([r["epochs"] for r in runs], 0),
                "train s": _mean_std([r["train_s"] for r in runs], 0),
                "eval s": _mean_std([r["eval_s"] for r in runs], 0),
            }
        )
    return rows


def format_markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def format_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
