"""Time ``flask guichet demo --scale seed`` on a fresh database and print the figures.

    .venv/bin/python -m bench.demo_seed                # SQLite in a temporary folder
    .venv/bin/python -m bench.demo_seed --postgresql   # a fresh PostgreSQL database

Target ([G1]): under 5 minutes on SQLite for 567 administrations, 350 procedures, 5,000
agents and 50,000 dossiers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "app", "guichet"]
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS = 300


def run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(FLASK + args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def fresh_postgresql(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", action="store_true", help="use a fresh PostgreSQL db")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        env = {**os.environ, "GUICHET_INSTANCE_DIR": instance}
        env.pop("CELERY_BROKER_URL", None)
        if options.postgresql:
            env["DATABASE_URL"] = fresh_postgresql("guichet_bench_seed")
        else:
            env.pop("DATABASE_URL", None)
        database = "PostgreSQL" if options.postgresql else "SQLite"
        init = run(["init", "--no-admin"], env)
        seed = run(["demo", "--scale", "seed"], env)
        again = run(["demo", "--scale", "seed"], env)
    verdict = "PASS" if seed < TARGET_SECONDS else "MISS"
    print(f"database                 {database}")
    print(f"init (migrate, roles)    {init:7.1f} s")
    print(f"demo --scale seed        {seed:7.1f} s   target < {TARGET_SECONDS} s   {verdict}")
    print(f"second run (idempotent)  {again:7.1f} s")


if __name__ == "__main__":
    main()
