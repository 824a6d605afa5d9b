SUMMARY = "Keel point-of-sale firmware: the terminal with its touch UI"
DESCRIPTION = "keel-kiosk: the offline-first point-of-sale terminal (journal, store cluster, peripherals, AI models, OTA updater) with its fullscreen Slint UI on KMS/DRM, built from the Keel cargo workspace with the cargo class."
SECTION = "console/utils"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=1836efb2eb779966696f473ee8540542"

# avahi: mDNS discovery of the store's terminals; fontconfig and freetype:
# the UI's text; clang-native: bindgen (the Avahi and TFLite bindings);
# curl, openssl and zlib (native): tflitec's build script links curl (it only
# downloads headers when TFLITEC_HEADER_DIR is unset, which it never is here);
# keel-user: do_install gives the data directory to the user keel.
DEPENDS = "avahi clang-native curl-native fontconfig freetype keel-user openssl-native zlib-native"

# The Keel repository this layer lives in (yocto-layer/meta-keel/<dir>/<recipe>/):
# the one copy of the A/B boot scripts and the systemd unit is in its board/.
KEEL_REPO_DIR := "${@os.path.normpath(d.getVar('THISDIR') + '/../../../..')}"

PV = "0.1.0+git"

# The source is the Keel repository this layer lives in (KEEL_REPO_DIR), at
# the newest commit of KEEL_GIT_BRANCH. The systemd unit is the repository's
# board/common/systemd/keel.service (the file the dev image installs too);
# the drop-in beside this recipe adds the user and the watchdog.
SRC_URI = "git://${KEEL_REPO_DIR};protocol=file;branch=${KEEL_GIT_BRANCH} \
           file://keel.service \
           file://10-keel-appliance.conf \
           "
# The newest commit, so the source always has the Cargo.lock keel-crates.inc
# was generated from (both are committed together); a release pins it with
# SRCREV:pn-keel = "<commit>" in its distro or local.conf.
# nooelint: oelint.vars.autorev - the recipe builds the repository it lives in, see above
SRCREV ??= "${AUTOREV}"

# Every crates.io package of Cargo.lock, fetched by bitbake's crate fetcher:
# cargo builds --frozen from the vendored copies, with no network.
require keel-crates.inc

inherit cargo pkgconfig systemd

# The unit's one copy lives in the repository's board/, outside the layer.
# nooelint: oelint.vars.fileextrapaths, oelint.vars.outofcontext - the unit is not in this layer but in board/
FILESEXTRAPATHS:prepend := "${KEEL_REPO_DIR}/board/common/systemd:"

KEEL_GIT_BRANCH ??= "main"

# The appliance's binary: keel-kiosk of the workspace, with the KMS backend
# and, when meta-tensorflow-lite is in the build, the TFLite models.
PACKAGECONFIG ??= "kms ${@bb.utils.contains('BBFILE_COLLECTIONS', 'meta-tensorflow-lite', 'tflite', '', d)}"
PACKAGECONFIG[kms] = ",,libdrm libinput libxkbcommon seatd udev virtual/libgbm"
PACKAGECONFIG[tflite] = ",,libtensorflow-lite-c"

CARGO_SRC_DIR = "firmware/kiosk"
CARGO_LOCK_PATH = "${S}/Cargo.lock"
KEEL_FEATURES = "${@','.join(d.getVar('PACKAGECONFIG').split())}"
CARGO_BUILD_FLAGS += "--bin keel-kiosk --features ${KEEL_FEATURES}"

# bindgen parses the target's headers with clang-native's libclang.
export LIBCLANG_PATH = "${STAGING_LIBDIR_NATIVE}"
export BINDGEN_EXTRA_CLANG_ARGS = "--sysroot=${STAGING_DIR_TARGET} ${TUNE_CCARGS}"

# tflitec links the board's libtensorflowlite_c.so (from the
# libtensorflow-lite-c recipe) instead of building TensorFlow with bazel, and
# takes the C API headers from the sysroot; no build-machine path goes into
# the binary's run path (firmware/ai/build_rpath.rs).
export TFLITEC_PREBUILT_PATH = "${STAGING_LIBDIR}/libtensorflowlite_c.so"
export TFLITEC_HEADER_DIR = "${STAGING_INCDIR}"
export KEEL_NO_DEV_RPATH = "1"

# Where the unit expects the binary, and the data partition's mount point.
KEEL_BIN_DIR = "/opt/keel/bin"
KEEL_DATA_DIR = "${localstatedir}/lib/keel"
KEEL_MODELS = "product-recognition loss-prevention"

do_install() {
    install -d ${D}${KEEL_BIN_DIR}
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/keel-kiosk ${D}${KEEL_BIN_DIR}/keel-kiosk

    install -d ${D}${systemd_system_unitdir}/keel.service.d
    install -m 0644 ${UNPACKDIR}/keel.service ${D}${systemd_system_unitdir}/keel.service
    install -m 0644 ${UNPACKDIR}/10-keel-appliance.conf ${D}${systemd_system_unitdir}/keel.service.d/

    # The shipped models go onto the data partition (wic makes
    # /var/lib/keel the data partition); model updates replace them there.
    for model in ${KEEL_MODELS}; do
        install -d ${D}${KEEL_DATA_DIR}/models/$model/golden
        install -m 0644 ${S}/models/$model/manifest.toml ${D}${KEEL_DATA_DIR}/models/$model/
        install -m 0644 ${S}/models/$model/model.tflite ${D}${KEEL_DATA_DIR}/models/$model/
        install -m 0644 ${S}/models/$model/golden/* ${D}${KEEL_DATA_DIR}/models/$model/golden/
    done

    # /etc/keel/board.toml: the board's description (board/<KEEL_BOARD>/ of
    # the repository), part of the firmware, so an update brings its own.
    # The store's config and certificates live on the data partition, so an
    # update (which replaces the root file system) keeps them:
    # /etc/keel/terminal.toml points to /var/lib/keel/etc/terminal.toml,
    # which provisioning writes.
    install -d ${D}${sysconfdir}/keel ${D}${KEEL_DATA_DIR}/etc
    install -m 0644 ${S}/board/${KEEL_BOARD}/board.toml ${D}${sysconfdir}/keel/board.toml
    ln -s ${KEEL_DATA_DIR}/etc/terminal.toml ${D}${sysconfdir}/keel/terminal.toml
    chown -R keel:keel ${D}${KEEL_DATA_DIR}
}

# The board description makes the package specific to the machine.
PACKAGE_ARCH = "${MACHINE_ARCH}"

SYSTEMD_SERVICE:${PN} = "keel.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

FILES:${PN} += "${KEEL_BIN_DIR} \
                ${KEEL_DATA_DIR} \
                ${sysconfdir}/keel \
                ${systemd_system_unitdir}/keel.service.d \
                "

# seatd gives keel the DRM and input devices; Mesa's EGL/GLES drivers are
# loaded at run time for GL (the software renderer is the fallback).
RDEPENDS:${PN} = "keel-user seatd"
RRECOMMENDS:${PN} = "libegl-mesa libgles2-mesa mesa-megadriver"
