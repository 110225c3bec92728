"""Another revision of this checkout, checked out beside it for a same-run comparison (``git worktree``)."""

from __future__ import annotations

import subprocess
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


@contextmanager
def worktree(rev: str, prefix: str) -> Iterator[tuple[Path, Path]]:
    """(the revision's tree, a scratch folder beside it), both removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            yield tree, Path(tmp)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
