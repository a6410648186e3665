"""Load the repository's ``research/`` tools by file path (``hft`` itself never imports ``research``)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def load_research_module(relpath: str) -> ModuleType:
    """Import ``research/<relpath>`` (e.g. ``"tools/alpha_scaffold.py"``) once per process."""
    from hft.alpha.api.registry import repo_research_dir
    from hft.core.errors import GovernanceError

    path = repo_research_dir() / relpath
    if not path.is_file():
        raise GovernanceError(f"expected the research tool {path}, none exists",
                              hint="run hft from an editable install of the repository")
    mod_name = "_hft_research_" + relpath.removesuffix(".py").replace("/", "_")
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        sys.modules.pop(mod_name, None)
        raise
    return module
