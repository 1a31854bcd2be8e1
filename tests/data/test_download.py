"""Verified downloads against a local HTTP server (never the internet)."""

import hashlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading

import pytest

from pyro_vamp.data import DataFile, DownloadError
from pyro_vamp.data.download import fetch

PAYLOAD = os.urandom(300_000)
DIGEST = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()


class Server:
    """Serves PAYLOAD (or ``files``) at /NAME; ``behaviour`` scripts the next responses:
    'ok', 'corrupt' (wrong bytes), 'cut' (the connection drops half-way), 'error' (HTTP 500)."""

    def __init__(self, files=None):
        self.files = files or {}
        self.behaviour = []
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                mode = server.behaviour.pop(0) if server.behaviour else "ok"
                body = server.files.get(self.path.lstrip("/"), PAYLOAD)
                if mode == "error":
                    self.send_error(500)
                    return
                if mode == "corrupt":
                    body = body[:-1] + bytes([body[-1] ^ 1])
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if mode == "cut" else body)
                if mode == "cut":
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def only_file(folder, name):
    assert sorted(p.name for p in folder.iterdir()) == [name]


def test_fetch_verifies_and_keeps_the_file(server, tmp_path):
    path = fetch(DataFile("data.bin", f"{server.url}/data.bin", DIGEST), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD
    only_file(tmp_path, "data.bin")
    fetch(DataFile("data.bin", f"{server.url}/data.bin", DIGEST), tmp_path, progress=False)
    assert server.requests == 1  # a present, matching file is not fetched again


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    server.behaviour = ["corrupt"] * 3
    with pytest.raises(DownloadError, match="does not match its recorded checksum"):
        fetch(DataFile("data.bin", f"{server.url}/data.bin", DIGEST), tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_is_retried(server, tmp_path):
    server.behaviour = ["cut", "error"]
    path = fetch(DataFile("data.bin", f"{server.url}/data.bin", DIGEST), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD and server.requests == 3
    only_file(tmp_path, "data.bin")


def test_transfers_that_keep_failing_leave_nothing(server, tmp_path):
    server.behaviour = ["cut"] * 3
    with pytest.raises(DownloadError, match="run the command again|does not match"):
        fetch(DataFile("data.bin", f"{server.url}/data.bin", DIGEST), tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_no_network_says_so(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="no network"):
        fetch(DataFile("data.bin", f"http://127.0.0.1:{port}/data.bin", DIGEST), tmp_path, progress=False)


def test_unverified_files_need_consent(server, tmp_path):
    file = DataFile("data.bin", f"{server.url}/data.bin", None)
    with pytest.raises(DownloadError, match="--allow-unverified"):
        fetch(file, tmp_path, progress=False)
    assert server.requests == 0
    assert fetch(file, tmp_path, allow_unverified=True, progress=False).read_bytes() == PAYLOAD


@pytest.mark.slow
def test_cli_downloads_frey_faces_from_a_mirror_and_trains_on_it(frey_dir, tmp_path):
    real = (frey_dir / "freyfaces.pkl").read_bytes()
    mirror = Server({"freyfaces.pkl": real})
    try:
        cli = [sys.executable, "-m", "pyro_vamp.cli", "datasets", "download", "frey-faces", "--mirror", mirror.url]
        mirror.behaviour = ["corrupt"] * 3
        bad = subprocess.run(cli + ["--data-dir", tmp_path / "bad"], capture_output=True, text=True)
        assert bad.returncode == 2 and "checksum" in bad.stderr.strip().splitlines()[-1]
        assert not any((tmp_path / "bad").iterdir())
        good = subprocess.run(cli + ["--data-dir", tmp_path / "good"], capture_output=True, text=True)
        assert good.returncode == 0, good.stderr
        assert (tmp_path / "good" / "freyfaces.pkl").read_bytes() == real
    finally:
        mirror.close()
    listing = subprocess.run(
        [sys.executable, "-m", "pyro_vamp.cli", "datasets", "--data-dir", tmp_path / "good"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
    )
    frey_line = next(line for line in listing.stdout.splitlines() if "frey-faces" in line)
    assert "present" in frey_line and "3.4 MiB" in frey_line
    shutil.rmtree(tmp_path / "bad")


# --- issue 17.7b: a local mirror, and SIGTERM during a transfer ----------------------------------


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_a_local_folder_or_file_url_is_a_mirror(tmp_path, scheme):
    """--mirror with a local folder (or file://) copies and verifies; it failed with a checksum message."""
    mirror = tmp_path / "mirror dir"
    mirror.mkdir()
    (mirror / "data.bin").write_bytes(PAYLOAD)
    address = f"file://{mirror}".replace(" ", "%20") if scheme else str(mirror)
    target = tmp_path / "data"
    path = fetch(DataFile("data.bin", "https://example.invalid/data.bin", DIGEST), target, address, progress=False)
    assert path == target / "data.bin" and path.read_bytes() == PAYLOAD
    only_file(target, "data.bin")
    (mirror / "other.bin").write_bytes(PAYLOAD[:-1])
    with pytest.raises(DownloadError, match="does not match the recorded checksum .* nothing was kept"):
        fetch(DataFile("other.bin", "https://example.invalid/other.bin", DIGEST), target, address, progress=False)
    with pytest.raises(DownloadError, match="holds no missing.bin; put the file there"):
        fetch(DataFile("missing.bin", "https://example.invalid/missing.bin", DIGEST), target, address, progress=False)
    only_file(target, "data.bin")


@pytest.mark.slow
def test_sigterm_during_a_download_leaves_no_temporary_file(tmp_path):
    """SIGTERM in the middle of a transfer: exit 143 with one line, and nothing left in the data
    folder (SIGINT cleaned up before; SIGTERM left a partial temporary file)."""
    sent, release = threading.Event(), threading.Event()

    class Stalling(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            sent.set()
            release.wait(600)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    folder = tmp_path / "data"
    command = [sys.executable, "-m", "pyro_vamp.cli", "datasets", "download", "frey-faces", "--data-dir", folder]
    command += ["--mirror", f"http://127.0.0.1:{httpd.server_address[1]}"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert sent.wait(300), "the download did not start"
        assert len(list(folder.iterdir())) == 1  # the temporary file the transfer writes into
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=300)
    finally:
        release.set()
        process.kill()
        httpd.shutdown()
        httpd.server_close()
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1] == "interrupted (SIGTERM)" and "Traceback" not in err
    assert list(folder.iterdir()) == []
