# The Keel appliance's kernel options (DRM/KMS, evdev, USB serial, camera,
# watchdog; no uinput in production) on top of the machine's configuration,
# only when building the keel distro.
FILESEXTRAPATHS:prepend:keel := "${THISDIR}/files:"
SRC_URI:append:keel = " file://keel.cfg"
SRC_URI:append:keel:x86-64 = " file://keel-x86.cfg"
