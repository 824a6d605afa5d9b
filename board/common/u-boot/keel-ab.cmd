# Keel A/B slot selection for U-Boot (hush), docs/ota-ab.md.
#
# Build into a boot script with: mkimage -A arm64 -T script -C none -d keel-ab.cmd boot.scr
# The board's environment must set keel_bootargs (console etc.) and
# keel_load (loads kernel, initrd and device tree from partition
# ${keel_part} of the boot device and boots them with ${bootargs}).
#
# It reads KEEL_ORDER, KEEL_A_LEFT and KEEL_B_LEFT, walks the order and picks
# the first slot with a try left, taking that try; when no slot has a try
# left both get 3 back and the walk runs again, so the box always boots
# something. It saves the environment (saveenv) before booting.
# The Rust model of exactly this is keel_ota::boot_env::select_boot with
# BootEnv::from_vars_as_bootloader; firmware/ota/tests/ab_scripts.rs runs this
# file in real U-Boot (qemu-x86 build, in qemu) for every starting environment
# and compares. Keep the two in step (and in step with the GRUB script).
#
# Reading rules: an unset KEEL_ORDER is "A B", anything but "B A" is "A B";
# an unset tries variable is 3, anything but 0..3 is 0. (U-Boot has no empty
# variables: setenv X "" deletes X.)

if test "${KEEL_ORDER}" != "B A"; then
  setenv KEEL_ORDER "A B"
fi
if test -z "${KEEL_A_LEFT}"; then
  setenv KEEL_A_LEFT 3
elif test "${KEEL_A_LEFT}" != 0 && test "${KEEL_A_LEFT}" != 1 && test "${KEEL_A_LEFT}" != 2 && test "${KEEL_A_LEFT}" != 3; then
  setenv KEEL_A_LEFT 0
fi
if test -z "${KEEL_B_LEFT}"; then
  setenv KEEL_B_LEFT 3
elif test "${KEEL_B_LEFT}" != 0 && test "${KEEL_B_LEFT}" != 1 && test "${KEEL_B_LEFT}" != 2 && test "${KEEL_B_LEFT}" != 3; then
  setenv KEEL_B_LEFT 0
fi

# Hush has no functions: the two tries are written out for each order.
setenv keel_slot
if test "${KEEL_ORDER}" = "B A"; then
  if test "${KEEL_B_LEFT}" = 3; then setenv KEEL_B_LEFT 2; setenv keel_slot B
  elif test "${KEEL_B_LEFT}" = 2; then setenv KEEL_B_LEFT 1; setenv keel_slot B
  elif test "${KEEL_B_LEFT}" = 1; then setenv KEEL_B_LEFT 0; setenv keel_slot B
  elif test "${KEEL_A_LEFT}" = 3; then setenv KEEL_A_LEFT 2; setenv keel_slot A
  elif test "${KEEL_A_LEFT}" = 2; then setenv KEEL_A_LEFT 1; setenv keel_slot A
  elif test "${KEEL_A_LEFT}" = 1; then setenv KEEL_A_LEFT 0; setenv keel_slot A
  else
    echo "keel: no slot has a try left; giving both slots 3 tries again"
    setenv KEEL_A_LEFT 3; setenv KEEL_B_LEFT 2; setenv keel_slot B
  fi
else
  if test "${KEEL_A_LEFT}" = 3; then setenv KEEL_A_LEFT 2; setenv keel_slot A
  elif test "${KEEL_A_LEFT}" = 2; then setenv KEEL_A_LEFT 1; setenv keel_slot A
  elif test "${KEEL_A_LEFT}" = 1; then setenv KEEL_A_LEFT 0; setenv keel_slot A
  elif test "${KEEL_B_LEFT}" = 3; then setenv KEEL_B_LEFT 2; setenv keel_slot B
  elif test "${KEEL_B_LEFT}" = 2; then setenv KEEL_B_LEFT 1; setenv keel_slot B
  elif test "${KEEL_B_LEFT}" = 1; then setenv KEEL_B_LEFT 0; setenv keel_slot B
  else
    echo "keel: no slot has a try left; giving both slots 3 tries again"
    setenv KEEL_B_LEFT 3; setenv KEEL_A_LEFT 2; setenv keel_slot A
  fi
fi

if test "${keel_slot}" = B; then
  setenv keel_rootfs rootfs-b
  setenv keel_part ${keel_part_b}
else
  setenv keel_rootfs rootfs-a
  setenv keel_part ${keel_part_a}
fi
saveenv
setenv bootargs "${keel_bootargs} root=PARTLABEL=${keel_rootfs} keel.slot=${keel_slot}"
echo "keel: booting slot ${keel_slot} (${keel_rootfs}), order ${KEEL_ORDER}, tries left A=${KEEL_A_LEFT} B=${KEEL_B_LEFT}"
run keel_load
