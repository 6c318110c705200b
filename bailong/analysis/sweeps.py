"""Pick the sweep to compare, relative to the repository whatever the working directory.

The notebook used to read ``RUN_DIR="logs"`` relative to where Jupyter started: from
``notebooks/`` that found nothing and drew a blank plot, from the repository root it mixed
every run ever made. Here a sweep is named explicitly (a multirun directory, absolute or
relative to the repository, or ``latest``), and a missing or empty one is an error that lists
the sweeps there are.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
LATEST = "latest"


class SweepNotFound(LookupError):
    """No usable sweep was named; the message says which ones exist."""


def repo_root() -> Path:
    """The checkout holding this package (where ``logs/`` is written), else the cwd."""
    checkout = _PACKAGE_DIR.parent
    return checkout if (checkout / "conf").is_dir() else Path.cwd()


def has_jobs(path: Path) -> bool:
    return any(path.glob("*/.hydra/overrides.yaml")) or any(path.glob(".hydra/overrides.yaml"))


def list_sweeps(logs: Path) -> list[Path]:
    """Multirun directories under ``logs`` (``<task>/multiruns/<time>``) with jobs, newest first."""
    found = [p for p in logs.glob("*/multiruns/*") if p.is_dir() and has_jobs(p)]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _choices(root: Path) -> str:
    sweeps = list_sweeps(root / "logs")
    if not sweeps:
        return (
            f"There is no sweep under {root / 'logs'} yet; run one, e.g. "
            "`bailong-train -m experiment=ablate_embedding_init_tiny`"
        )
    names = "\n".join(f"  {p.relative_to(root)}" for p in sweeps[:10])
    return f"Sweeps under {root / 'logs'} (newest first; or '{LATEST}'):\n{names}"


def resolve_sweep(sweep: str | None, root: Path | None = None) -> Path:
    """The multirun directory ``sweep`` names (relative paths are from ``root``, the repo)."""
    root = root or repo_root()
    if not sweep:
        raise SweepNotFound(f"no sweep selected: set BAILONG_SWEEP_DIR. {_choices(root)}")
    if sweep == LATEST:
        sweeps = list_sweeps(root / "logs")
        if not sweeps:
            raise SweepNotFound(_choices(root))
        return sweeps[0]
    path = Path(sweep).expanduser()
    path = path if path.is_absolute() else root / path
    if not path.is_dir():
        raise SweepNotFound(f"{path} is not a directory. {_choices(root)}")
    if not has_jobs(path):
        raise SweepNotFound(
            f"{path} holds no Hydra jobs (*/.hydra/overrides.yaml). {_choices(root)}"
        )
    return path
