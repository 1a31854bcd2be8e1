"""The OpenMP setting of pyro_vamp.runtime: set only before torch is imported, never over a user's choice."""

import os
import subprocess
import sys

import pytest


def openmp_after_import(env_update: dict, code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(env_update)
    return subprocess.run(
        [sys.executable, "-c", code + "; import os; print(os.environ.get('GOMP_SPINCOUNT'))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]


@pytest.mark.parametrize(
    "env, code, expected",
    [
        ({}, "import pyro_vamp.runtime as o; o.tune_openmp()", "10000"),
        ({"OMP_WAIT_POLICY": "PASSIVE"}, "import pyro_vamp.runtime as o; o.tune_openmp()", "10000"),
        ({"OMP_WAIT_POLICY": "active"}, "import pyro_vamp.runtime as o; o.tune_openmp()", "None"),
        ({"GOMP_SPINCOUNT": "5"}, "import pyro_vamp.runtime as o; o.tune_openmp()", "5"),
        ({}, "import torch, pyro_vamp.runtime as o; o.tune_openmp()", "None"),  # too late: left alone
    ],
)
def test_openmp_spin_count_is_set_only_before_torch_and_never_over_a_user_choice(env, code, expected):
    assert openmp_after_import(env, code) == expected
