"""Datasets: uint8 images with their splits, loaded from their published files."""

from .dataset import ENCODINGS, ImageDataset, Split
from .download import DataFile, DownloadError
from .registry import (
    DATA_DIR_ENV,
    DATASETS,
    data_folder,
    dataset_info,
    default_data_dir,
    download_dataset,
    file_locations,
    load_dataset,
)

__all__ = [
    "DATASETS",
    "DataFile",
    "DownloadError",
    "data_folder",
    "download_dataset",
    "DATA_DIR_ENV",
    "ENCODINGS",
    "ImageDataset",
    "Split",
    "dataset_info",
    "default_data_dir",
    "file_locations",
    "load_dataset",
]
