# The appliance's fstab: the root file system is the slot named on the kernel
# command line (root=PARTLABEL=rootfs-a|rootfs-b); the data partition and the
# boot partition are found by their GPT names on every board. The Pi mounts
# its boot partition at /boot/firmware (files/raspberrypi4-64/fstab, picked
# by the machine override of the file search path), x86 at /boot/efi.
FILESEXTRAPATHS:prepend:keel := "${THISDIR}/files:"
