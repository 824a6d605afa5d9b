//! Runtime unit tests with in-process models (no TFLite): timeouts, busy, NaN.
