SUMMARY = "The keel user, its groups and the udev rules for its devices"
DESCRIPTION = "Creates the unprivileged user keel that runs keel-kiosk and the group keel-ota, and installs the udev rules that give them the scanner, the camera, the serial ports and the A/B slot partitions."
SECTION = "base"
LICENSE = "Apache-2.0"
# nooelint: oelint.var.licenseremotefile - the only source is a file of this layer; the repository is Apache-2.0
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

SRC_URI = "file://70-keel.rules"

S = "${UNPACKDIR}"

inherit allarch useradd

# keel: no login shell, no password; home is the data directory. Groups:
# seat (seatd: DRM master and input through libseat), video and render (GL),
# input (touch screen, barcode scanner grab), dialout (serial printers,
# scales, the drawer, the technician console), keel-ota (the rootfs slot
# partitions and the boot environment for A/B updates; gid 880 is fixed
# because fstab mounts the boot partition with gid=880).
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system --gid 880 keel-ota; --system seat; --system render; --system input"
USERADD_PARAM:${PN} = "--system --home-dir ${localstatedir}/lib/keel --no-create-home --shell ${base_sbindir}/nologin --user-group --groups seat,video,render,input,dialout,keel-ota keel"

do_install() {
    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    install -m 0644 ${S}/70-keel.rules ${D}${nonarch_base_libdir}/udev/rules.d/
}

FILES:${PN} += "${nonarch_base_libdir}/udev/rules.d/70-keel.rules"
