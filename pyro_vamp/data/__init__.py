"""Datasets: uint8 images with their splits, loaded from their published files."""

from .dataset import ENCODINGS, ImageDataset, Split
from .registry import DATA_DIR_ENV, DATASETS, dataset_info, default_data_dir, file_locations, load_dataset

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "ENCODINGS",
    "ImageDataset",
    "Split",
    "dataset_info",
    "default_data_dir",
    "file_locations",
    "load_dataset",
]
