"""Datasets: images with their splits, loaded from their published files (:func:`load_dataset`) or from
your own arrays and image folders (:func:`load_path`)."""

from .configured import check_source, load_config_data, source_record
from .dataset import ENCODINGS, ImageDataset, Split
from .download import DataFile, DownloadError
from .files import data_fingerprint, load_path
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
    "check_source",
    "data_fingerprint",
    "dataset_info",
    "default_data_dir",
    "file_locations",
    "load_config_data",
    "load_dataset",
    "load_path",
    "source_record",
]
