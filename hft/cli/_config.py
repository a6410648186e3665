"""``--config`` / ``--set`` for the alpha commands: layered configs (`hft.config.layering`) at the CLI.

`replay` layers through `hft.sim.replay.load_replay_config` directly. Here: an alpha's own ``config.yaml`` ←
``--config FILE`` ← ``--set``, written as one effective file (validation hashes and records the file it ran
with); a search spec ← ``--set``; the Gate D replay config ← ``--set``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import typer

SET_HELP = "Override one config key: path.to.key=value (repeatable; typed by the config's schema)."


def set_option() -> Any:
    """The ``--set`` option (repeatable)."""
    return typer.Option(None, "--set", help=SET_HELP)


def effective_alpha_config(name: str, config: Path | None, sets: list[str] | None) -> Path | None:
    """The alpha's config.yaml ← `config` ← `sets`, checked strictly and written under
    ``$HFT_HOME/runs/validate/configs/``; None when nothing is layered (the alpha's own file is used)."""
    if config is None and not sets:
        return None
    import yaml

    from hft.alpha.api.config import parse_alpha_config
    from hft.alpha.api.registry import alpha_dir, load_alpha_class
    from hft.config.layering import SET_SOURCE, deep_merge, parse_sets
    from hft.config.strict import load_yaml
    from hft.core.fileio import atomic_write_text
    from hft.core.paths import hft_home

    cls = load_alpha_class(name)
    base = alpha_dir(name) / "config.yaml"
    merged, label = load_yaml(base), [str(base)]
    if config is not None:
        merged, label = deep_merge(merged, load_yaml(config)), [*label, str(config)]
    if sets:
        merged, label = deep_merge(merged, parse_sets(sets)), [*label, f"{SET_SOURCE} {' '.join(sets)}"]
    parse_alpha_config(merged, " <- ".join(label), cls)  # strict: errors name the layers
    text = "".join(f"# layer: {x}\n" for x in label) + yaml.safe_dump(merged, sort_keys=False)
    out = hft_home() / "runs" / "validate" / "configs" / \
        f"{name}-{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, text)
    return out


def layered_spec(spec: Path, sets: list[str] | None) -> tuple[dict[str, Any], str]:
    """A search spec's mapping with `sets` layered over it, and the label errors name."""
    from hft.config.layering import SET_SOURCE, deep_merge, parse_sets
    from hft.config.strict import load_yaml

    mapping = load_yaml(spec)
    if not sets:
        return mapping, str(spec)
    return deep_merge(mapping, parse_sets(sets)), f"{spec} <- {SET_SOURCE} {' '.join(sets)}"


def gate_d_replay_config(name: str, replay_config: Path | None, sets: list[str] | None) -> Any:
    """Gate D's replay config with `sets` layered over it (None: no sets, Gate D picks its own)."""
    if not sets:
        return replay_config
    from hft.alpha.api.registry import alpha_dir, load_config
    from hft.sim.replay import load_replay_config

    base = replay_config
    if base is None:  # the alpha's own Gate D config, else the shipped one (`load_replay_config`'s None)
        own = load_config(name).validation.gate_d.replay_config
        base = (Path(own) if Path(own).is_absolute() else alpha_dir(name) / own) if own else None
    return load_replay_config(base, sets)
