#!/usr/bin/env python3
"""Run Cohort Scale from a fresh checkout: make .venv, install the project, start it.

    python3 run.py [up options]        cohort up (migrate, seed, start, print the URL)
    python3 run.py test [pytest args]  the test suite
    python3 run.py <command> [args]    any other cohort command (migrate, seed, mint-token)

Only the standard library is used here; everything else is installed into .venv.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".cohort-installed"  # what was installed: pyproject.toml's hash and Python's
MINIMUM = (3, 11)


def install_key() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} python {sys.version_info[0]}.{sys.version_info[1]}\n"


def ensure_venv() -> None:
    """Create .venv and install the project into it, unless that is already done."""
    if not (BIN / "python").exists():
        print(f"Creating {VENV} ...", flush=True)
        try:
            venv.create(VENV, with_pip=True, clear=VENV.exists())
        except subprocess.CalledProcessError:
            sys.exit("Could not set up pip in the virtual environment. On Debian or Ubuntu, "
                     "install it first: sudo apt install python3-venv")
    key = install_key()
    if (BIN / "cohort").exists() and STAMP.exists() and STAMP.read_text() == key:
        return
    print("Installing Cohort Scale and its dependencies into .venv ...", flush=True)
    command = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check",
               "-e", ".[dev]"]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        sys.exit("pip install failed; see its output above.")
    STAMP.write_text(key)


def command_for(args: list[str]) -> list[str]:
    """`test` runs pytest; a cohort command runs as it is; anything else goes to `cohort up`."""
    if args[:1] == ["test"]:
        return [str(BIN / "pytest"), *args[1:]]
    if not args or args[0].startswith("-"):
        return [str(BIN / "cohort"), "up", *args]
    return [str(BIN / "cohort"), *args]


def main(args: list[str]) -> None:
    if sys.version_info < MINIMUM:
        sys.exit(f"Cohort Scale needs Python {'.'.join(map(str, MINIMUM))} or newer; "
                 f"this is {sys.version.split()[0]}.")
    ensure_venv()
    command = command_for(args)
    os.chdir(ROOT)
    # exec: the exit code, Ctrl-C and SIGTERM reach the command as if it were run directly.
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
