SUMMARY = "GRUB configuration and environment for Keel's A/B boot"
DESCRIPTION = "Deploys what the x86 boards' boot partition (the ESP) holds besides GRUB itself: grub.cfg, the A/B boot-count script keel-ab.cfg of the Keel repository (board/common/grub) and the initial GRUB environment block (slot A first, three tries for each slot)."
SECTION = "bootloaders"
LICENSE = "Apache-2.0"
# nooelint: oelint.var.licenseremotefile - the sources are files of this repository, which is Apache-2.0
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# keel-ab.cfg is the one A/B script of the repository, shared with the dev
# image (cargo xtask image); grub.cfg.in beside this recipe defines how a
# slot boots a Yocto root file system and sources it.
# The Keel repository this layer lives in (yocto-layer/meta-keel/<dir>/<recipe>/):
# the one copy of the A/B boot scripts and the systemd unit is in its board/.
KEEL_REPO_DIR := "${@os.path.normpath(d.getVar('THISDIR') + '/../../../..')}"

SRC_URI = "file://grub.cfg.in \
           file://keel-ab.cfg \
           "

S = "${UNPACKDIR}"

inherit deploy nopackages

# nooelint: oelint.vars.fileextrapaths, oelint.vars.outofcontext - the A/B script is not in this layer but in board/
FILESEXTRAPATHS:prepend := "${KEEL_REPO_DIR}/board/common/grub:"

# The environment a new disk starts with (the OTA updater rewrites it).
KEEL_GRUBENV_VARS = "KEEL_ORDER=A B;KEEL_A_LEFT=3;KEEL_B_LEFT=3"

# The board's kernel command line (console ports, cursor), from its
# conf/machine/include/keel-<MACHINE>.inc; the same as its board/ description.
KEEL_KERNEL_ARGS ??= "console=tty0"

do_compile() {
    sed -e 's|@KEEL_KERNEL_ARGS@|${KEEL_KERNEL_ARGS}|' ${S}/grub.cfg.in > ${B}/grub.cfg

    # A GRUB environment block: the header line, key=value lines, padded
    # with '#' to exactly 1024 bytes (what grub-editenv writes).
    printf '# GRUB Environment Block\n' > ${B}/grubenv
    echo "${KEEL_GRUBENV_VARS}" | tr ';' '\n' >> ${B}/grubenv
    used=$(wc -c < ${B}/grubenv)
    if [ "$used" -gt 1024 ]; then
        bbfatal "grubenv: $used bytes of variables, more than the 1024-byte block"
    fi
    head -c $(expr 1024 - $used) /dev/zero | tr '\0' '#' >> ${B}/grubenv
}

do_deploy() {
    install -d ${DEPLOYDIR}/keel-boot
    install -m 0644 ${B}/grub.cfg ${DEPLOYDIR}/keel-boot/grub.cfg
    install -m 0644 ${S}/keel-ab.cfg ${DEPLOYDIR}/keel-boot/keel-ab.cfg
    install -m 0644 ${B}/grubenv ${DEPLOYDIR}/keel-boot/grubenv
}
addtask deploy after do_compile before do_build

COMPATIBLE_HOST = "(x86_64|i.86).*-linux"
