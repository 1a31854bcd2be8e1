"""Before each test: clear Pyro's param store, enable validation, fix the seeds (as Pyro's own tests do)."""

import pyro
import pytest
import torch

from tests.common import FREY_DIR


@pytest.fixture(autouse=True)
def pyro_state():
    pyro.clear_param_store()
    pyro.enable_validation(True)
    pyro.set_rng_seed(0)
    torch.set_default_dtype(torch.float32)
    yield
    pyro.clear_param_store()


@pytest.fixture(scope="session")
def frey_dir():
    if not (FREY_DIR / "freyfaces.pkl").is_file():
        pytest.skip(f"the real freyfaces.pkl is not at {FREY_DIR} (set PYRO_VAMP_FREY_DIR)")
    return FREY_DIR
