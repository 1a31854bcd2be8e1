"""The training configuration: paper defaults < config file < command line.

:class:`TrainConfig` is the one source of truth for every training setting: its fields' defaults
are the paper's, and each field's ``metadata`` holds the help text and the choices from which the
``pyro-vamp train`` options are made. This module imports neither torch nor the models, so the
command line can show its help at once.
"""

import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: ``--model`` names (:data:`pyro_vamp.models.MODELS` maps them to classes).
MODEL_NAMES = ("vae", "hvae", "convhvae", "convhvae-plain")
#: ``--prior`` names (:func:`pyro_vamp.priors.make_prior` builds them).
PRIOR_NAMES = ("standard", "mog", "vamp", "vamp-data", "exemplar", "flow")
#: ``--optimizer`` names (:func:`pyro_vamp.training.make_optimizer` builds them).
OPTIMIZER_NAMES = ("adam", "adam-normalized")
DEVICES = ("auto", "cpu", "cuda")
#: ``--likelihood`` names (:data:`pyro_vamp.likelihoods.LIKELIHOOD_HEADS` builds them).
LIKELIHOOD_NAMES = ("bernoulli", "logistic", "gaussian")
#: ``--precision``: float32, or bfloat16 mixed precision (see :mod:`pyro_vamp.training.precision`).
PRECISIONS = ("fp32", "bf16")
PSEUDO_INITS = ("normal", "data")
#: ``--logger`` names (:mod:`pyro_vamp.training.tracking` makes the trackers).
LOGGER_NAMES = ("none", "tensorboard", "mlflow")


def _setting(
    default: Any, help: str, choices: tuple[str, ...] | None = None, folder: bool = False, multiple: bool = False
) -> Any:
    """A config field with its command-line help, and its choices (a fixed set of names) or
    ``folder=True`` (a path to a folder); ``multiple=True``: a tuple of names, a repeatable option."""
    return field(default=default, metadata={"help": help, "choices": choices, "folder": folder, "multiple": multiple})


@dataclass
class TrainConfig:
    """Everything that defines a training run (defaults are the paper's, section 4).

    ``pseudo_init``: ``normal`` draws the VampPrior's pseudo-inputs from the dataset's
    N(mean, std) (the original code's values); ``data`` starts them at random training images.
    ``split_seed`` selects the random train/val/test split of datasets that have one.
    ``early_stopping`` is the look-ahead in epochs after warm-up (0 turns it off).
    ``optimizer``: ``adam-normalized`` (Adam on per-tensor normalised gradients, the paper's and
    the default: 0.5 nats better on mnist5k over 3 seeds, see docs/reproducing.md), or plain ``adam``.
    """

    dataset: str = _setting("mnist5k", "Dataset name (see `pyro-vamp datasets`); with --data, the data's name.")
    data: str | None = _setting(
        None, "Your own data instead of --dataset: a .npy, .npz or .pt file, or a folder of images."
    )
    val_fraction: float = _setting(0.1, "With --data: the share of the data held out for validation.")
    test_fraction: float = _setting(0.1, "With --data: the share of the data held out for testing.")
    likelihood: str | None = _setting(
        None, "With --data: p(x|z) [default: bernoulli for 0/1 values, logistic for 0..255, else gaussian].",
        LIKELIHOOD_NAMES,
    )  # fmt: skip
    binarize: bool = _setting(False, "With --data: binarise grey levels 0..255 dynamically (Bernoulli).")
    model: str = _setting("hvae", "Model.", MODEL_NAMES)
    prior: str = _setting("vamp", "Prior on the top latent.", PRIOR_NAMES)
    components: int = _setting(500, "K: pseudo-inputs, mixture components, or exemplars per step (exemplar).")
    epochs: int = _setting(2000, "Maximum number of epochs.")
    warmup: int = _setting(100, "KL warm-up epochs (beta 0 -> 1).")
    early_stopping: int = _setting(50, "Look-ahead in epochs on validation ELBO, 0 = off.")
    batch_size: int = _setting(100, "Images per training step.")
    lr: float = _setting(5e-4, "Learning rate.")
    seed: int = _setting(0, "Seed of initialisation, shuffling and noise.")
    split_seed: int = _setting(0, "Seed of random train/val/test splits.")
    device: str = _setting("auto", "auto: CUDA when present.", DEVICES)
    data_dir: str | None = _setting(None, "Folder holding the dataset's published files.", folder=True)
    latent_dim: int = _setting(40, "Latent units per stochastic layer.")
    hidden: int = _setting(300, "Units per hidden layer of the gated MLPs.")
    pseudo_init: str = _setting("normal", "VampPrior pseudo-input start.", PSEUDO_INITS)
    optimizer: str = _setting(
        "adam-normalized", "adam-normalized: Adam on per-tensor normalised gradients (the paper's), or adam.",
        OPTIMIZER_NAMES,
    )  # fmt: skip
    precision: str = _setting(
        "fp32", "fp32, or bf16: networks in bfloat16, log-densities, loss and optimiser in float32/64.", PRECISIONS
    )
    flow_depth: int = _setting(4, "Flow prior: affine coupling layers.")
    flow_hidden: int = _setting(300, "Flow prior: hidden units per layer of each coupling network.")
    logger: tuple[str, ...] | None = _setting(
        None, "Experiment tracker (repeatable): none, tensorboard, mlflow.", LOGGER_NAMES, multiple=True
    )
    mlflow_uri: str | None = _setting(None, "MLflow tracking URI [default: a file store RUN_DIR/../mlruns].")
    log_images_every: int = _setting(10, "Epochs between the images sent to the trackers (0: at evaluation only).")

    def validate(self) -> "TrainConfig":
        """Check every value; raise :class:`InputError` naming the first bad one."""
        from .data import DATASETS  # the data registry imports torch: only when a config is used

        if self.data is None and self.dataset not in DATASETS:
            raise InputError(f"dataset {self.dataset!r} is not one of: {', '.join(DATASETS)}")
        for setting in fields(self):
            allowed, value = setting.metadata["choices"], getattr(self, setting.name)
            for item in (value or ()) if setting.metadata.get("multiple") else (value,):
                if allowed is not None and item is not None and item not in allowed:
                    raise InputError(f"{setting.name} {item!r} is not one of: {', '.join(allowed)}")
        for key in ("components", "epochs", "batch_size", "latent_dim", "hidden", "flow_depth", "flow_hidden"):
            if getattr(self, key) < 1:
                raise InputError(f"{key} must be a positive integer, got {getattr(self, key)}")
        seeds = ("seed", "split_seed")  # numpy's seeds are below 2^32
        for key in ("warmup", "early_stopping", *seeds, "log_images_every"):
            value, below = getattr(self, key), 2**32 if key in seeds else math.inf
            if not 0 <= value < below:
                raise InputError(f"{key} must be >= 0{' and below 2^32' if key in seeds else ''}, got {value}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InputError(f"lr must be a finite number > 0, got {self.lr}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> "TrainConfig":
        """Build from a mapping, rejecting unknown keys and values of the wrong type."""
        return cls().updated(values, source)

    def updated(self, values: dict, source: str) -> "TrainConfig":
        """A copy with ``values`` applied (keys may use '-' or '_'); ``source`` names them in errors."""
        types = {f.name: f.type for f in fields(self)}
        clean = {}
        for raw_key, value in values.items():
            key = raw_key.replace("-", "_")
            if key not in types:
                raise InputError(f"{source}: unknown key {raw_key!r}; known keys: {', '.join(types)}")
            clean[key] = _coerce(key, value, types[key], source)
        return dataclasses.replace(self, **clean)


def setting_type(annotation: Any) -> type:
    """The plain type of a :class:`TrainConfig` field: ``int``, ``float`` or ``str`` (``str | None``)."""
    return str if annotation == (str | None) else annotation


def _coerce(key: str, value: Any, annotation: Any, source: str) -> Any:
    if annotation == (tuple[str, ...] | None):  # a name or a list of names; "none" and [] mean none
        if value is None:
            return None
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise InputError(f"{source}: {key} must be a name or a list of names, got {value!r}")
        return tuple(dict.fromkeys(v for v in values if v != "none")) or None
    if value is None and annotation == (str | None):
        return None
    if annotation is bool:
        if not isinstance(value, bool):
            raise InputError(f"{source}: {key} must be true or false, got {value!r}")
        return value
    kind = setting_type(annotation)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"{source}: {key} must be {kind.__name__}, got {value!r}")
    return value


def read_config_file(path: Path) -> dict:
    """The mapping in a ``.toml`` or ``.json`` config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read config file {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise InputError(
            f"config file {path} is not UTF-8 text (byte {err.start} is {err.object[err.start]:#04x}); save it as UTF-8"
        ) from None
    try:
        values = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as err:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise InputError(f"config file {path} is not valid {kind}: {err}") from None
    if not isinstance(values, dict):
        raise InputError(f"config file {path} must hold a table of keys")
    return values


def resolve_config(config_file: Path | None, overrides: dict) -> TrainConfig:
    """Defaults < ``config_file`` < ``overrides`` (command-line options that were given)."""
    config, named = TrainConfig(), set()
    if config_file is not None:
        values = read_config_file(config_file)
        config, named = config.updated(values, str(config_file)), {key.replace("-", "_") for key in values}
    given = {k: v for k, v in overrides.items() if v is not None}
    config = config.updated(given, "command line")
    if config.data is not None:
        if "dataset" in named | set(given):
            raise InputError("--data and --dataset both name the data to train on; give one of them")
        data = Path(config.data).expanduser().resolve()  # recorded whole, so eval finds it from anywhere
        config = dataclasses.replace(config, data=str(data), dataset=data.stem or data.name)
    config = config.validate()
    if config.data_dir is not None:  # so that eval finds the files from any working directory
        config = dataclasses.replace(config, data_dir=str(Path(config.data_dir).expanduser().resolve()))
    return config
