"""``emailtrack init``: a new workspace, optionally with the demo data set."""

from __future__ import annotations

from pathlib import Path

from ..config.workspace import CONFIG_NAME, CONFIG_TEMPLATE
from ..errors import UsageError


def init_workspace(root: Path, *, sample: bool = False, end_month: str | None = None,
                   scale: float = 1.0, force: bool = False) -> Path:
    """Write ``root/emailtrack.toml`` (and the sample data set); returns the workspace folder."""
    root = root.resolve()
    config = root / CONFIG_NAME
    if config.exists() and not force:
        raise UsageError(f"{config} already exists (use --force to overwrite it)")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    for folder in (root, root / "data", root / "reports"):
        folder.mkdir(parents=True, exist_ok=True)
    if sample:
        from ..config.months import resolve_month
        from ..demo.sample import write_sample
        if end_month is not None:
            resolve_month(end_month, "Europe/Paris")  # validates the form
        if scale <= 0:
            raise UsageError("--scale must be positive")
        write_sample(root, end_month=end_month, scale=scale)
    else:
        config.write_text(CONFIG_TEMPLATE.format(name=root.name), encoding="utf-8")
    return root
