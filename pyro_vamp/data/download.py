"""Fetch published dataset files into the data folder, verified against recorded digests.

Downloads go through pooch: each file is written to a temporary file in the target
folder, its digest is checked, and only then is it renamed into place, so a failed or
interrupted transfer never leaves a partial file under the published name. A failed
transfer is retried; an interrupted one restarts from the beginning. The temporary file is
removed on every way out, SIGINT and SIGTERM included (the command line turns both into an
exception, so that cleanup runs). A mirror may be a local folder or a ``file://`` address: the
file is then copied from it and verified the same way.
"""

import contextlib
import hashlib
import os
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import DownloadError

RETRIES = 2


@dataclass(frozen=True)
class DataFile:
    """A published file: the ``name`` it is saved under, where it is published, and its digest.

    ``known_hash`` is ``"ALGORITHM:HEX"`` (pooch's notation: sha256, sha1, md5, ...), or ``None``
    where no published digest is recorded (such a file is only fetched when the user allows it).
    ``alternatives`` are other names under which the file is accepted (e.g. un-gzipped).
    """

    name: str
    url: str
    known_hash: str | None
    alternatives: tuple[str, ...] = ()

    def locate(self, folder: Path) -> Path | None:
        for name in (self.name, *self.alternatives):
            if (Path(folder) / name).is_file():
                return Path(folder) / name
        return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    file: DataFile, folder: Path, mirror: str | None = None, allow_unverified: bool = False, progress: bool = True
) -> Path:
    """Download ``file`` into ``folder`` (from ``mirror/NAME`` instead of its URL if given) and
    verify it; return its path. A present file that matches its digest is not fetched again."""
    import pooch
    import requests

    if file.known_hash is None and not allow_unverified:
        raise DownloadError(
            f"no published checksum is recorded for {file.name}; pass --allow-unverified to fetch it anyway "
            f"(its SHA-256 is printed), or fetch {file.url} yourself into {folder}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    local = _local_mirror(mirror)
    if local is not None:
        return _copy_verified(file, local / file.name, folder)
    pooch.get_logger().setLevel("WARNING")  # the progress bar says enough
    url = f"{mirror.rstrip('/')}/{file.name}" if mirror else file.url
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=60)
    last_error: DownloadError | None = None
    for _ in range(1 + RETRIES):
        try:
            return Path(
                pooch.retrieve(url, known_hash=file.known_hash, fname=file.name, path=folder, downloader=downloader)
            )
        except ValueError as err:  # pooch: the digest does not match
            last_error = DownloadError(
                f"{file.name} from {url} does not match its recorded checksum "
                f"{file.known_hash}; nothing was kept ({str(err).splitlines()[0]})"
            )
        except requests.exceptions.ConnectionError as err:
            last_error = DownloadError(
                f"cannot reach {url} (no network?): fetch it on a machine with a network "
                f"and put it in {folder} as {file.name} ({type(err).__name__})"
            )
        except requests.exceptions.RequestException as err:
            last_error = DownloadError(
                f"downloading {url} failed after {1 + RETRIES} tries "
                f"({str(err).splitlines()[0]}); run the command again"
            )
    raise last_error or DownloadError(f"downloading {url} failed; run the command again")


def _local_mirror(mirror: str | None) -> Path | None:
    """The folder a ``--mirror`` names when it is a local path or a ``file://`` address, else None."""
    if mirror is None:
        return None
    if mirror.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlparse(mirror).path))
    return None if "://" in mirror else Path(mirror).expanduser()


def _copy_verified(file: DataFile, source: Path, folder: Path) -> Path:
    """Copy ``source`` into ``folder`` as ``file.name`` through a temporary file, verified first."""
    from pooch.hashes import hash_matches

    target = folder / file.name
    if target.is_file() and (file.known_hash is None or hash_matches(str(target), file.known_hash)):
        return target
    if not source.is_file():
        raise DownloadError(f"the mirror folder {source.parent} holds no {file.name}; put the file there")
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        if file.known_hash is not None and not hash_matches(tmp, file.known_hash):
            raise DownloadError(
                f"{source} does not match the recorded checksum {file.known_hash} of {file.name}; nothing was kept"
            )
        os.replace(tmp, target)
    except OSError as err:
        raise DownloadError(f"cannot copy {source} into {folder} ({err.strerror or err})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target
