"""Run a .tflite model through the real TFLite 2.6 C library (the one the terminal uses).

This module owns the ctypes binding to ``libtensorflowlite_c.so`` and nothing else: it loads
a model, feeds one float32 input, returns the float32 output. It must not use TensorFlow's own
interpreter: golden outputs and op-version checks have to come from the library that ships.

The library path comes from ``--lib``, else the environment variable ``TFLITE_LIB``, else
``target/tflite/lib/libtensorflowlite_c.so`` of the workspace, else
``/tmp/tflib/libtensorflowlite_c.so``.

Command line: ``python tools/models/tflite26.py MODEL.tflite [--lib PATH] [--input F.f32]``
runs the model on the given raw little-endian f32 input (zeros if none) and prints the output.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import time
from pathlib import Path

import numpy as np

_REPO_ROOT = Path(__file__).resolve().parents[2]
_DEFAULT_LIBS = [
    _REPO_ROOT / "target" / "tflite" / "lib" / "libtensorflowlite_c.so",
    Path("/tmp/tflib/libtensorflowlite_c.so"),
]

# TfLiteType values from tensorflow/lite/c/common.h (2.6).
TFLITE_FLOAT32 = 1
# TfLiteStatus kTfLiteOk.
_OK = 0


class TfLiteError(RuntimeError):
    """A call into the TFLite C library failed (model refused, allocation, invoke, shapes)."""


def find_library(explicit: str | None = None) -> Path:
    """Return the path of the TFLite C library: explicit, $TFLITE_LIB, or the known places."""
    for candidate in [explicit, os.environ.get("TFLITE_LIB")]:
        if candidate:
            return Path(candidate)
    for candidate in _DEFAULT_LIBS:
        if candidate.exists():
            return candidate
    raise TfLiteError("libtensorflowlite_c.so not found; pass --lib or set TFLITE_LIB")


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    vp, i32, sz = ctypes.c_void_p, ctypes.c_int32, ctypes.c_size_t
    sigs = {
        "TfLiteVersion": (ctypes.c_char_p, []),
        "TfLiteModelCreateFromFile": (vp, [ctypes.c_char_p]),
        "TfLiteModelDelete": (None, [vp]),
        "TfLiteInterpreterOptionsCreate": (vp, []),
        "TfLiteInterpreterOptionsDelete": (None, [vp]),
        "TfLiteInterpreterOptionsSetNumThreads": (None, [vp, i32]),
        "TfLiteInterpreterCreate": (vp, [vp, vp]),
        "TfLiteInterpreterDelete": (None, [vp]),
        "TfLiteInterpreterAllocateTensors": (ctypes.c_int, [vp]),
        "TfLiteInterpreterGetInputTensorCount": (i32, [vp]),
        "TfLiteInterpreterGetOutputTensorCount": (i32, [vp]),
        "TfLiteInterpreterGetInputTensor": (vp, [vp, i32]),
        "TfLiteInterpreterGetOutputTensor": (vp, [vp, i32]),
        "TfLiteInterpreterInvoke": (ctypes.c_int, [vp]),
        "TfLiteTensorType": (ctypes.c_int, [vp]),
        "TfLiteTensorNumDims": (i32, [vp]),
        "TfLiteTensorDim": (i32, [vp, i32]),
        "TfLiteTensorByteSize": (sz, [vp]),
        "TfLiteTensorCopyFromBuffer": (ctypes.c_int, [vp, vp, sz]),
        "TfLiteTensorCopyToBuffer": (ctypes.c_int, [vp, vp, sz]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


class Interpreter:
    """One model loaded into the TFLite 2.6 C library, ready to invoke on float32 inputs."""

    def __init__(self, model_path: str | os.PathLike, lib_path: str | None = None, threads: int = 1):
        self.lib_path = find_library(lib_path)
        self._lib = _bind(ctypes.CDLL(str(self.lib_path)))
        self.version = self._lib.TfLiteVersion().decode()
        self._model = self._lib.TfLiteModelCreateFromFile(str(model_path).encode())
        if not self._model:
            raise TfLiteError(f"TFLite {self.version} refused the model file {model_path}")
        self._options = self._lib.TfLiteInterpreterOptionsCreate()
        self._lib.TfLiteInterpreterOptionsSetNumThreads(self._options, threads)
        self._interp = self._lib.TfLiteInterpreterCreate(self._model, self._options)
        if not self._interp:
            raise TfLiteError(
                f"TFLite {self.version} could not build an interpreter for {model_path} "
                "(unsupported op or op version?)"
            )
        if self._lib.TfLiteInterpreterAllocateTensors(self._interp) != _OK:
            raise TfLiteError(f"AllocateTensors failed for {model_path}")
        if self._lib.TfLiteInterpreterGetInputTensorCount(self._interp) != 1:
            raise TfLiteError("model must have exactly one input tensor")
        if self._lib.TfLiteInterpreterGetOutputTensorCount(self._interp) != 1:
            raise TfLiteError("model must have exactly one output tensor")
        self.input_shape = self._shape(self._lib.TfLiteInterpreterGetInputTensor(self._interp, 0))
        self.output_shape = self._shape(self._lib.TfLiteInterpreterGetOutputTensor(self._interp, 0))

    def _shape(self, tensor) -> tuple[int, ...]:
        if self._lib.TfLiteTensorType(tensor) != TFLITE_FLOAT32:
            raise TfLiteError("tensor is not float32")
        dims = self._lib.TfLiteTensorNumDims(tensor)
        return tuple(self._lib.TfLiteTensorDim(tensor, i) for i in range(dims))

    def run(self, x: np.ndarray) -> np.ndarray:
        """Invoke the model on ``x`` (any array with the input's element count) and return the output."""
        data = np.ascontiguousarray(x, dtype="<f4")
        if data.size != int(np.prod(self.input_shape)):
            raise TfLiteError(f"input has {data.size} elements, model wants {self.input_shape}")
        tin = self._lib.TfLiteInterpreterGetInputTensor(self._interp, 0)
        if self._lib.TfLiteTensorCopyFromBuffer(tin, data.ctypes.data, data.nbytes) != _OK:
            raise TfLiteError("copying the input failed")
        if self._lib.TfLiteInterpreterInvoke(self._interp) != _OK:
            raise TfLiteError("Invoke failed")
        tout = self._lib.TfLiteInterpreterGetOutputTensor(self._interp, 0)
        out = np.empty(self.output_shape, dtype="<f4")
        if self._lib.TfLiteTensorCopyToBuffer(tout, out.ctypes.data, out.nbytes) != _OK:
            raise TfLiteError("copying the output failed")
        return out

    def close(self) -> None:
        """Free the interpreter, options and model."""
        if self._interp:
            self._lib.TfLiteInterpreterDelete(self._interp)
            self._interp = None
        if self._options:
            self._lib.TfLiteInterpreterOptionsDelete(self._options)
            self._options = None
        if self._model:
            self._lib.TfLiteModelDelete(self._model)
            self._model = None

    def __enter__(self) -> "Interpreter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter teardown at exit
            pass


def time_invoke(interp: Interpreter, x: np.ndarray, runs: int = 20) -> tuple[float, float]:
    """Invoke ``runs`` times and return (median, max) latency in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interp.run(x)
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return times[len(times) // 2], times[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--lib", default=None)
    parser.add_argument("--input", default=None, help="raw little-endian f32 input file")
    parser.add_argument("--time", action="store_true", help="also report invoke latency")
    args = parser.parse_args()
    with Interpreter(args.model, args.lib) as interp:
        if args.input:
            x = np.fromfile(args.input, dtype="<f4")
        else:
            x = np.zeros(interp.input_shape, dtype="<f4")
        y = interp.run(x)
        print(f"TFLite {interp.version} ({interp.lib_path})")
        print(f"input {interp.input_shape} output {interp.output_shape}")
        print(np.array2string(y.reshape(-1), precision=6))
        if args.time:
            med, worst = time_invoke(interp, x)
            print(f"invoke median {med:.3f} ms, max {worst:.3f} ms")


if __name__ == "__main__":
    main()
