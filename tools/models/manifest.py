"""Writing a model directory's manifest.toml and golden vectors in the fixed schema.

This module owns the on-disk format shared by the training scripts and the test fixtures:
the manifest keys and their order (``labels`` above the first table), sha256 of the model
file, and raw little-endian f32 golden files. It must not train or run models.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Golden:
    """One golden pair: file names relative to the model directory and the tolerance."""

    input: str
    output: str
    tolerance: float = 1e-4


@dataclass
class Manifest:
    """The fields of manifest.toml (see models/README.md for their meaning)."""

    name: str
    kind: str
    version: str
    description: str
    trained_by: str
    input_shape: list[int]
    output_shape: list[int]
    labels: list[str]
    thresholds: dict[str, float]
    metrics: dict[str, float | int]
    golden: list[Golden] = field(default_factory=list)
    file: str = "model.tflite"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _num(v: float | int) -> str:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    return repr(round(float(v), 6))


def write_manifest(model_dir: Path, m: Manifest) -> str:
    """Write ``model_dir/manifest.toml`` for ``m`` (sha256 taken from the model file) and return it."""
    sha = sha256_of(model_dir / m.file)
    lines = [
        f"name = {_str(m.name)}",
        f"kind = {_str(m.kind)}",
        f"version = {_str(m.version)}",
        f"file = {_str(m.file)}",
        f"sha256 = {_str(sha)}",
        f"description = {_str(m.description)}",
        f"trained_by = {_str(m.trained_by)}",
        "labels = [" + ", ".join(_str(label) for label in m.labels) + "]",
        "",
        "[input]",
        f"shape = [{', '.join(str(d) for d in m.input_shape)}]",
        'dtype = "float32"',
        "",
        "[output]",
        f"shape = [{', '.join(str(d) for d in m.output_shape)}]",
        'dtype = "float32"',
        "",
        "[thresholds]",
        *[f"{k} = {_num(v)}" for k, v in m.thresholds.items()],
        "",
        "[metrics]",
        *[f"{k} = {_num(v)}" for k, v in m.metrics.items()],
    ]
    for g in m.golden:
        lines += ["", "[[golden]]", f"input = {_str(g.input)}", f"output = {_str(g.output)}", f"tolerance = {g.tolerance:g}"]
    text = "\n".join(lines) + "\n"
    # Read it back: the file must parse and carry what we meant.
    parsed = tomllib.loads(text)
    if parsed["labels"] != m.labels or parsed["sha256"] != sha:
        raise ValueError("manifest did not round-trip through a TOML parser")
    (model_dir / "manifest.toml").write_text(text)
    return text


def write_f32(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as raw little-endian f32, row-major."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


def read_f32(path: Path) -> np.ndarray:
    """Read a raw little-endian f32 file as a flat array."""
    return np.fromfile(path, dtype="<f4")
