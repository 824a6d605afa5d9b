# keel's tflitec crate runs bindgen on tensorflow/lite/c/c_api.h, which in
# current TensorFlow only includes the real C API headers by path
# (tensorflow/lite/core/c/..., tensorflow/compiler/mlir/lite/core/c/...).
# The recipe installs just the three top-level headers; install every header
# of the C API's include closure so they resolve from the sysroot. Only when
# building the keel distro.
do_install:append:keel() {
    cd ${S}
    for dir in tensorflow/lite/c tensorflow/lite/core/c tensorflow/lite/core/async/c \
               tensorflow/compiler/mlir/lite/core/c; do
        if [ -d "$dir" ]; then
            for header in "$dir"/*.h; do
                install -D -m 0644 "$header" "${D}${includedir}/$header"
            done
        fi
    done
    for header in tensorflow/lite/builtin_ops.h tensorflow/lite/core/api/error_reporter.h; do
        if [ -f "$header" ]; then
            install -D -m 0644 "$header" "${D}${includedir}/$header"
        fi
    done
}
