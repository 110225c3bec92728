"""Another revision of this checkout, checked out beside it for a same-run comparison (``git worktree``)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def short(rev: str) -> str:
    """The abbreviated commit of ``rev``.

    Raises:
        SystemExit: naming a revision git does not know.
    """
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"unknown revision {rev!r}: {done.stderr.strip()}")
    return done.stdout.strip()


def this_checkout() -> str:
    """This checkout's commit, and whether it has uncommitted changes (which the comparison includes)."""
    head = short("HEAD")
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True).stdout
    return head + (" with uncommitted changes" if dirty.strip() else "")


def compile_bytecode(root: Path) -> None:
    """Write the bytecode of ``root``'s packages.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it), a fresh worktree never gets
    any, and each of its processes compiles every module it imports (about a tenth of a second):
    both trees of a comparison are compiled first, so that neither pays it.
    """
    packages = [p for p in ("reasoner", "api", "bench") if (root / p).is_dir()]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages], cwd=root, check=True, stdout=subprocess.DEVNULL
    )


@contextmanager
def worktree(rev: str, prefix: str) -> Iterator[tuple[Path, Path]]:
    """(the revision's tree, a scratch folder beside it), both removed afterwards; both trees' bytecode written."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        compile_bytecode(tree)
        compile_bytecode(ROOT)
        try:
            yield tree, Path(tmp)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
