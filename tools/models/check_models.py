#!/usr/bin/env python3
"""Re-check shipped model directories: sha256, shapes and golden vectors through TFLite 2.6.

This script owns no model: it reads each ``manifest.toml`` given (default: the two shipped
models), checks the file's sha256, that the TFLite 2.6 C library accepts the model with the
manifest's shapes, and that every golden output is reproduced within its tolerance. It must
not retrain or rewrite anything. Exit status 1 on any mismatch.

Usage: tools/models/check_models.py [models/product-recognition ...] [--lib PATH]
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from manifest import read_f32, sha256_of  # noqa: E402
from tflite26 import Interpreter  # noqa: E402

DEFAULT_DIRS = ["models/product-recognition", "models/loss-prevention"]


def check(model_dir: Path, lib: str | None) -> list[str]:
    """Return the problems found in ``model_dir`` (empty when it is as shipped)."""
    problems = []
    m = tomllib.loads((model_dir / "manifest.toml").read_text())
    model_path = model_dir / m["file"]
    if sha256_of(model_path) != m["sha256"]:
        problems.append("sha256 differs from the manifest")
    with Interpreter(model_path, lib, threads=1) as interp:
        if list(interp.input_shape) != m["input"]["shape"] or list(interp.output_shape) != m["output"]["shape"]:
            problems.append(f"shapes {interp.input_shape} -> {interp.output_shape} differ from the manifest")
        if len(m["labels"]) != m["output"]["shape"][-1]:
            problems.append("label count differs from the output width")
        for g in m.get("golden", []):
            want = read_f32(model_dir / g["output"])
            got = interp.run(read_f32(model_dir / g["input"])).reshape(-1)
            diff = float(np.max(np.abs(got - want)))
            if not diff <= g["tolerance"]:
                problems.append(f"{g['output']}: max difference {diff:.3g} > {g['tolerance']}")
            else:
                print(f"{model_dir.name}: {g['output']} ok (max diff {diff:.3g})")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", default=DEFAULT_DIRS)
    parser.add_argument("--lib", default=None)
    args = parser.parse_args()
    failed = False
    for d in args.dirs:
        for problem in check(Path(d), args.lib):
            print(f"{d}: {problem}")
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
