# The Keel kernel fragments (recipes-kernel/linux/files of this layer) for
# the Raspberry Pi kernel, which merges fragments like linux-yocto; only when
# building the keel distro.
FILESEXTRAPATHS:prepend:keel := "${THISDIR}/../../../../recipes-kernel/linux/files:"
SRC_URI:append:keel = " file://keel.cfg file://keel-rpi.cfg"
