"""The training configuration: paper defaults < config file < command line."""

import dataclasses
import json
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import InputError
from .models import MODELS
from .optim import OPTIMIZERS
from .priors import PRIOR_NAMES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEVICES = ("auto", "cpu", "cuda")
PSEUDO_INITS = ("normal", "data")


@dataclass
class TrainConfig:
    """Everything that defines a training run (DESIGN.md sections 2-3; defaults are the paper's).

    ``pseudo_init``: ``normal`` draws the VampPrior's pseudo-inputs from the dataset's
    N(mean, std) (the original code's values); ``data`` starts them at random training images.
    ``split_seed`` selects the random train/val/test split of datasets that have one.
    ``early_stopping`` is the look-ahead in epochs after warm-up (0 turns it off).
    ``optimizer``: ``adam``, or ``adam-normalized`` (Adam on per-tensor normalised gradients).
    """

    dataset: str = "mnist5k"
    model: str = "hvae"
    prior: str = "vamp"
    components: int = 500
    epochs: int = 2000
    warmup: int = 100
    early_stopping: int = 50
    batch_size: int = 100
    lr: float = 5e-4
    seed: int = 0
    split_seed: int = 0
    device: str = "auto"
    data_dir: str | None = None
    latent_dim: int = 40
    hidden: int = 300
    pseudo_init: str = "normal"
    optimizer: str = "adam"

    def validate(self) -> "TrainConfig":
        """Check every value; raise :class:`InputError` naming the first bad one."""
        from .data import DATASETS

        choices = {"dataset": tuple(DATASETS), "model": tuple(MODELS), "prior": PRIOR_NAMES,
                   "device": DEVICES, "pseudo_init": PSEUDO_INITS, "optimizer": OPTIMIZERS}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise InputError(f"{key} {getattr(self, key)!r} is not one of: {', '.join(allowed)}")
        positive = ("components", "epochs", "batch_size", "latent_dim", "hidden")
        for key in positive:
            if getattr(self, key) < 1:
                raise InputError(f"{key} must be a positive integer, got {getattr(self, key)}")
        for key in ("warmup", "early_stopping", "seed", "split_seed"):
            if getattr(self, key) < 0:
                raise InputError(f"{key} must be >= 0, got {getattr(self, key)}")
        if not self.lr > 0:
            raise InputError(f"lr must be > 0, got {self.lr}")
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


def _coerce(key, value, annotation, source):
    optional = annotation == (str | None)
    if value is None and optional:
        return None
    kind = str if optional else annotation
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"{source}: {key} must be {kind.__name__}, got {value!r}")
    return value


def read_config_file(path: Path) -> dict:
    """The mapping in a ``.toml`` or ``.json`` config file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise InputError(f"cannot read config file {path}: {err.strerror}")
    try:
        values = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"config file {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {err}")
    if not isinstance(values, dict):
        raise InputError(f"config file {path} must hold a table of keys")
    return values


def resolve_config(config_file: Path | None, overrides: dict) -> TrainConfig:
    """Defaults < ``config_file`` < ``overrides`` (command-line options that were given)."""
    config = TrainConfig()
    if config_file is not None:
        config = config.updated(read_config_file(config_file), str(config_file))
    given = {k: v for k, v in overrides.items() if v is not None}
    config = config.updated(given, "command line").validate()
    if config.data_dir is not None:  # so that eval finds the files from any working directory
        config = dataclasses.replace(config, data_dir=str(Path(config.data_dir).expanduser().resolve()))
    return config
