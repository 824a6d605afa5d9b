SUMMARY = "Keel point-of-sale appliance image"
DESCRIPTION = "Boots straight into keel-kiosk (the touch UI on KMS and the technician console on the serial port) as the non-root user keel, on the A/B disk layout of keel-ab.wks.in: boot, rootfs-a, rootfs-b and data."
SECTION = "images"
LICENSE = "MIT"

# No login prompt, no package manager, no debug tweaks: an appliance. The
# boards add their boot environment tools and firmware (conf/machine/include).
IMAGE_FEATURES = ""
IMAGE_LINGUAS = ""
KEEL_ENV_TOOLS ??= ""
KEEL_FIRMWARE ??= ""
IMAGE_INSTALL = "packagegroup-core-boot \
                 keel \
                 keel-user \
                 kernel-image \
                 kernel-modules \
                 e2fsprogs-e2fsck \
                 dosfstools \
                 ${KEEL_ENV_TOOLS} \
                 ${KEEL_FIRMWARE} \
                 "

inherit core-image

# The disk image to flash, and the ext4 image of the root file system: the
# rootfs payload of a firmware bundle (an update writes a slot whole).
IMAGE_FSTYPES = "wic wic.bmap ext4"
WKS_FILE = "keel-ab.wks.in"

# Partition sizes (MiB) for the wks file. A slot must hold the root file
# system of every later release: keep room to grow.
KEEL_BOOT_PART_MIB ??= "64"
KEEL_ROOTFS_PART_MIB ??= "1024"
KEEL_DATA_PART_MIB ??= "512"
IMAGE_ROOTFS_MAXSIZE = "${@int(d.getVar('KEEL_ROOTFS_PART_MIB')) * 1024}"

# The files the boot partition takes from the deploy directory (GRUB and its
# configs, or U-Boot's boot.scr) must be deployed before wic runs.
KEEL_BOOT_DEPLOY ??= ""
do_image_wic[depends] += "${KEEL_BOOT_DEPLOY}"
