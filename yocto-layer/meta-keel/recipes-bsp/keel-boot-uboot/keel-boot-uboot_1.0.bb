SUMMARY = "U-Boot boot script and fw_env.config for Keel's A/B boot"
DESCRIPTION = "Compiles the A/B boot-count script of the Keel repository (board/common/u-boot/keel-ab.cmd) into boot.scr for the boot partition, and installs the fw_env.config that tells the OTA updater and libubootenv's fw_printenv where U-Boot keeps its environment."
SECTION = "bootloaders"
LICENSE = "Apache-2.0"
# nooelint: oelint.var.licenseremotefile - the sources are files of this repository, which is Apache-2.0
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

DEPENDS = "u-boot-mkimage-native"
# meta-raspberrypi's U-Boot runs the script named boot.scr from the boot
# partition; the keel distro makes this recipe its u-boot-default-script.
PROVIDES += "u-boot-default-script"

# The Keel repository this layer lives in (yocto-layer/meta-keel/<dir>/<recipe>/):
# the one copy of the A/B boot scripts and the systemd unit is in its board/.
KEEL_REPO_DIR := "${@os.path.normpath(d.getVar('THISDIR') + '/../../../..')}"

# keel-ab.cmd is the one A/B script of the repository; keel-rpi-env.cmd.in
# beside this recipe sets what it needs from the board (partitions, kernel
# command line, how to load a slot's kernel) and runs first.
SRC_URI = "file://keel-ab.cmd \
           file://keel-rpi-env.cmd.in \
           file://fw_env.config \
           "

S = "${UNPACKDIR}"

inherit kernel-arch deploy

# nooelint: oelint.vars.fileextrapaths, oelint.vars.outofcontext - the A/B script is not in this layer but in board/
FILESEXTRAPATHS:prepend := "${KEEL_REPO_DIR}/board/common/u-boot:"

# The board's kernel command line, from conf/machine/include/keel-<MACHINE>.inc.
KEEL_KERNEL_ARGS ??= "console=tty1 rootwait"

do_compile() {
    sed -e 's|@KEEL_KERNEL_ARGS@|${KEEL_KERNEL_ARGS}|' ${S}/keel-rpi-env.cmd.in > ${B}/boot.cmd
    cat ${S}/keel-ab.cmd >> ${B}/boot.cmd
    mkimage -A ${UBOOT_ARCH} -T script -C none -n "Keel A/B boot" -d ${B}/boot.cmd ${B}/boot.scr
}

do_install() {
    install -d ${D}${sysconfdir}
    install -m 0644 ${S}/fw_env.config ${D}${sysconfdir}/fw_env.config
}

do_deploy() {
    install -d ${DEPLOYDIR}
    install -m 0644 ${B}/boot.scr ${DEPLOYDIR}/boot.scr
}
addtask deploy after do_compile before do_build

FILES:${PN} += "${sysconfdir}/fw_env.config"
CONFFILES:${PN} = "${sysconfdir}/fw_env.config"

COMPATIBLE_HOST = "(aarch64|arm).*-linux"
