"""Hatch build hook: compile dyadwatch's C kernels into the wheel (and in place for `pip install -e .`).

The compiling is `src/dyadwatch/native/build.py` (loaded by path: dyadwatch is not installed while it
builds). A wheel with the kernels is tagged for its platform (py3-none-<platform>: the libraries are
loaded with ctypes, so any CPython 3 of that platform takes them); without a compiler the wheel is
pure Python and dyadwatch runs its Python paths.
"""

from __future__ import annotations

import importlib.util
import sysconfig
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

NATIVE = Path("src") / "dyadwatch" / "native"


def _builder(root: Path):
    spec = importlib.util.spec_from_file_location("dyadwatch_native_build", root / NATIVE / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NativeBuildHook(BuildHookInterface):
    PLUGIN_NAME = "native"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        builder = _builder(root)
        sources = root / NATIVE
        if version == "editable":  # the editable install imports from src/: build beside the sources
            builder.build(sources, sources, log=self.app.display_warning)
            return
        self._out = tempfile.TemporaryDirectory(prefix="dyadwatch-native-")
        built = builder.build(Path(self._out.name), sources, log=self.app.display_warning)
        for path in built:
            build_data["force_include"][str(path)] = f"dyadwatch/native/{path.name}"
        if built:
            build_data["pure_python"] = False
            build_data["tag"] = "py3-none-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        out = getattr(self, "_out", None)
        if out is not None:
            out.cleanup()
