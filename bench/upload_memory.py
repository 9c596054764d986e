"""How much memory does the web process need to receive a large upload?

Starts Guichet under gunicorn (one sync worker, SQLite and local storage in a temporary
folder), signs in as an applicant through the login form (CSRF on, as in production), then
uploads generated files of 20 MB and 200 MB to an attachment field, both as the portal's
script sends them (raw streamed body) and as a plain HTML form does (multipart). A fresh
server serves each upload, so each peak is that upload's own. Prints the time taken and the
worker's resident memory before the upload and at its peak (``VmHWM``): the peak should not
grow with the file's size. Figures are printed, never asserted.

    .venv/bin/python bench/upload_memory.py [--sizes 20 200]
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.harness import free_port  # noqa: E402
from bench.harness import memory_kb as memory  # noqa: E402

MB = 1024 * 1024
PASSWORD = "bench-password-long-enough"
EMAIL = "usager@bench.guichet.localhost"


def environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "CLAMD_"))}
    env.update(
        GUICHET_INSTANCE_DIR=str(folder),
        DATABASE_URL=f"sqlite:///{folder / 'bench.db'}",
        SECRET_KEY="bench-secret-" + "x" * 40,
        STORAGE_BACKEND="local",
        STORAGE_DIR=str(folder / "files"),
    )
    return env


def prepare(folder: Path) -> tuple[int, str]:
    """Migrate a fresh database and create an applicant with a draft dossier whose form
    has a 200 MB attachment field. Returns (dossier id, field stable id)."""
    os.environ.update(environment(folder))
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import (
        Administration,
        AdministrationKind,
        Dossier,
        DossierState,
        FieldDefinition,
        InstructorGroup,
        Procedure,
        ProcedureRevision,
        ProcedureState,
        RevisionState,
    )
    from app.security import Roles, sync_permissions

    app = create_app({"FAB_CREATE_DB": False, "GUICHET_SYNC_PERMISSIONS_ON_START": False})
    with app.app_context():
        upgrade()
        sync_permissions(app.appbuilder)
        sm = app.appbuilder.sm
        user = sm.add_user(
            username=EMAIL,
            first_name="Léa",
            last_name="Bench",
            email=EMAIL,
            role=[sm.find_role(Roles.APPLICANT)],
            password=PASSWORD,
        )
        administration = Administration(
            name="Bench", slug="bench", kind=AdministrationKind.local_authority
        )
        procedure = Procedure(
            administration=administration,
            slug="bench",
            title="Bench",
            state=ProcedureState.published,
        )
        revision = ProcedureRevision(procedure=procedure, number=1, state=RevisionState.published)
        procedure.published_revision = revision
        procedure.groups.append(InstructorGroup(name="Groupe", is_default=True))
        revision.fields.append(
            FieldDefinition(
                stable_id="pj",
                type="attachment",
                label="Pièce",
                options={"families": ["document"], "max_size_mb": 200, "max_files": 50},
            )
        )
        dossier = Dossier(
            procedure=procedure, revision=revision, owner_id=user.id, state=DossierState.draft
        )
        db.session.add_all([administration, dossier])
        db.session.commit()
        return dossier.id, "pj"


def start_server(folder: Path, port: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--workers",
        "1",
        "--timeout",
        "300",
        "--bind",
        f"127.0.0.1:{port}",
        "app:create_app()",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=environment(folder), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def worker_pid(master: int) -> int:
    """gunicorn's worker: the master's only child."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def sign_in(port: int) -> tuple[str, str]:
    """Log in through the portal's form; returns (session cookie header, CSRF token of the
    page it lands on: signing in starts a new session, the login page's token is void)."""
    client, token = harness.sign_in(f"http://127.0.0.1:{port}", EMAIL, PASSWORD)
    if token is None:
        raise RuntimeError("no CSRF token on the page after signing in")
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies)
    return cookies, token


def make_file(folder: Path, size: int) -> Path:
    """A file libmagic reads as PDF, of ``size`` bytes, written once to disk."""
    path = folder / f"upload-{size // MB}mb.pdf"
    if not path.exists():
        block = b"0" * MB
        with open(path, "wb") as handle:
            head = b"%PDF-1.4\n% bench\n"
            handle.write(head)
            remaining = size - len(head)
            while remaining > 0:
                handle.write(block[: min(MB, remaining)])
                remaining -= MB
    return path


def file_chunks(path: Path, prefix: bytes = b"", suffix: bytes = b"") -> Iterator[bytes]:
    yield prefix
    with open(path, "rb") as handle:
        while chunk := handle.read(256 * 1024):
            yield chunk
    yield suffix


def upload(port: int, cookies: str, token: str, path: Path, dossier: int, mode: str) -> int:
    """Send one file; returns the HTTP status."""
    size = path.stat().st_size
    headers = {"Cookie": cookies, "X-CSRFToken": token, "Accept": "application/json"}
    if mode == "raw":
        target = f"/attachments/upload?use=form_field&dossier={dossier}&field=pj"
        headers.update({"Content-Type": "application/pdf", "X-File-Name": path.name})
        body = file_chunks(path)
        length = size
    else:
        target = "/attachments/upload"
        boundary = "guichetbench"
        fields = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in (("use", "form_field"), ("dossier", dossier), ("field", "pj"))
        )
        prefix = (
            fields + f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        suffix = f"\r\n--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        body = file_chunks(path, prefix, suffix)
        length = len(prefix) + size + len(suffix)
    headers["Content-Length"] = str(length)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("POST", target, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def measure(
    sizes_mb: list[int], modes: list[str], say=lambda line: None
) -> list[dict[str, object]]:
    """Upload a file of each size in each mode, each to a fresh server; one dict per
    upload: mode, size_mb, status, seconds, rss_before_mb, peak_rss_mb (the worker's)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="guichet-bench-") as name:
        folder = Path(name)
        dossier, _field = prepare(folder)
        for mode in modes:
            for size_mb in sizes_mb:
                path = make_file(folder, size_mb * MB)
                port = free_port()
                server = start_server(folder, port)
                try:
                    cookies, token = sign_in(port)
                    worker = worker_pid(server.pid)
                    before = memory(worker)["VmRSS"]
                    started = time.perf_counter()
                    status = upload(port, cookies, token, path, dossier, mode)
                    elapsed = time.perf_counter() - started
                    peak = memory(worker)["VmHWM"]
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                path.unlink()
                result = {
                    "mode": mode,
                    "size_mb": size_mb,
                    "status": status,
                    "seconds": round(elapsed, 2),
                    "rss_before_mb": round(before / 1024, 1),
                    "peak_rss_mb": round(peak / 1024, 1),
                }
                say(f"  upload {mode} {size_mb} MB: {elapsed:.2f} s, peak {peak / 1024:.0f} MB")
                results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 200], help="in MB")
    parser.add_argument("--modes", nargs="+", default=["raw", "multipart"])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.sizes, args.modes)))
        return
    print(f"{'mode':<10} {'size':>7} {'status':>6} {'time':>8} {'RSS before':>11} {'peak RSS':>9}")
    for item in measure(args.sizes, args.modes):
        print(
            f"{item['mode']:<10} {item['size_mb']:>4} MB {item['status']:>6} "
            f"{item['seconds']:>7.2f}s {item['rss_before_mb']:>8.1f} MB "
            f"{item['peak_rss_mb']:>6.1f} MB"
        )


if __name__ == "__main__":
    main()
