//! The text files the image builder writes into the image, rendered from the
//! board: GRUB's embedded and ESP configs, the root file system's fstab and
//! hostname, the terminal's config, the initramfs module list, and the key
//! the root file system cache is stored under. Pure: values in, text out; it
//! must not read or write a file.

use super::board::Board;

/// Where the image installs keel-kiosk and, next to it, libtensorflowlite_c.so
/// (the binary's RUNPATH starts with `$ORIGIN`).
pub const KEEL_BIN_DIR: &str = "/opt/keel/bin";
/// The terminal's config on the image.
pub const TERMINAL_CONFIG: &str = "/etc/keel/terminal.toml";
/// The board description on the image (`[terminal] board`: the updater finds
/// its slots and boot environment through it).
pub const BOARD_FILE: &str = "/etc/keel/board.toml";
/// Where the data partition is mounted: the terminal's data dir (journal,
/// `models/`, `images/`).
pub const DATA_MOUNT: &str = "/var/lib/keel";
/// Where the EFI system partition is mounted (the OTA updater writes the
/// GRUB environment there).
pub const ESP_MOUNT: &str = "/boot/efi";
/// The directory on the ESP that holds GRUB, its config and its environment.
pub const ESP_GRUB_DIR: &str = "/EFI/BOOT";

/// Where the dev image keeps its test tools (keel-uinput-scan): a dev image
/// only; a production image (Yocto) has none and no uinput.
pub const TEST_TOOLS_DIR: &str = "/usr/lib/keel/test-tools";
/// The virtio-serial port name that asks the dev image for its virtual
/// scanner (the boot test adds the port; without it nothing runs).
pub const TEST_SCANNER_PORT: &str = "keel.scanner";
/// The stable link to the virtual scanner's event node; the dev image's
/// `[scanner] events`. Absent on a boot without the port (the terminal waits
/// for it, logging once).
pub const TEST_SCANNER_LINK: &str = "/run/keel-test-scanner";
/// The unit that runs keel-uinput-scan.
pub const TEST_SCANNER_UNIT: &str = "keel-test-scanner.service";

/// The udev rule that starts [`TEST_SCANNER_UNIT`] when the
/// [`TEST_SCANNER_PORT`] port appears.
pub fn test_scanner_udev_rule() -> String {
    format!(
        "# Keel dev image: the boot test's virtual scanner (written by `cargo xtask image`).\n\
         SUBSYSTEM==\"virtio-ports\", ATTR{{name}}==\"{TEST_SCANNER_PORT}\", TAG+=\"systemd\", ENV{{SYSTEMD_WANTS}}+=\"{TEST_SCANNER_UNIT}\"\n"
    )
}

/// [`TEST_SCANNER_UNIT`]: keel-uinput-scan makes a uinput keyboard, links
/// it at [`TEST_SCANNER_LINK`] and types each line the host writes to the
/// port as a scan.
pub fn test_scanner_unit() -> String {
    format!(
        "# Keel dev image: a virtual barcode scanner for the boot test, started by udev\n\
         # when the virtio-serial port {TEST_SCANNER_PORT} exists (written by `cargo xtask image`).\n\
         [Unit]\n\
         Description=Keel boot test virtual barcode scanner\n\
         ConditionPathExists=/dev/virtio-ports/{TEST_SCANNER_PORT}\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStartPre=-/sbin/modprobe uinput\n\
         ExecStart={TEST_TOOLS_DIR}/keel-uinput-scan --link {TEST_SCANNER_LINK} --from /dev/virtio-ports/{TEST_SCANNER_PORT}\n\
         Restart=on-failure\n\
         RestartSec=1\n"
    )
}

/// The config built into the GRUB EFI binary: read `grub.cfg` from the
/// directory GRUB itself was loaded from (`$cmdpath`, the ESP's /EFI/BOOT).
pub fn grub_embedded_cfg() -> String {
    "# Built into BOOTX64.EFI by `cargo xtask image`: the real config is on the ESP.\n\
     set prefix=\"${cmdpath}\"\n\
     configfile \"${cmdpath}/grub.cfg\"\n"
        .to_string()
}

/// The kernel command line for booting slot partition `partlabel`.
pub fn kernel_cmdline(board: &Board, partlabel: &str) -> String {
    format!(
        "root=PARTLABEL={partlabel} rw rootwait {}",
        board.kernel_args
    )
}

/// The GPT partition number of `label` in the A/B layout (1-based; sizes do
/// not change the order).
pub fn slot_partition_number(label: &str) -> usize {
    super::layout::ab_partitions(1, 1)
        .iter()
        .position(|p| p.label == label)
        .map_or(0, |i| i + 1)
}

/// The ESP's grub.cfg. With the A/B script (`board/common/grub/keel-ab.cfg`,
/// copied next to it as `keel-ab.cfg`) present, it sources the script, which
/// chooses the slot from the GRUB environment; otherwise it boots rootfs-a.
///
/// Each slot boots its own kernel and initramfs (`/vmlinuz`, `/initrd.img`
/// on its root file system), so an OTA update replaces them with the root
/// file system; the ESP holds only GRUB, this file and the environment.
pub fn grub_cfg(board: &Board, with_ab_script: bool) -> String {
    let mut out = format!(
        "# Keel {board} boot config, written by `cargo xtask image`.\n\
         # Each slot's kernel and initramfs live on its own root file system.\n\
         set timeout=0\n\
         set default=0\n\
         insmod part_gpt\n\
         insmod ext2\n\
         insmod search_label\n\
         insmod linux\n\
         \n\
         # keel_boot_slot <slot letter A|B>: boots that slot's partition, found by\n\
         # its number on the disk GRUB was loaded from: an OTA payload is one file\n\
         # system for either slot, so its ext4 label need not be the slot's.\n\
         regexp --set=1:keel_disk '^\\(([^,)]+)' \"$cmdpath\"\n\
         function keel_boot_slot {{\n\
         \x20 if [ \"$1\" = \"B\" ]; then set keel_part=rootfs-b; set keel_gpt={gpt_b}; else set keel_part=rootfs-a; set keel_gpt={gpt_a}; fi\n\
         \x20 if [ -n \"$keel_disk\" ]; then set root=\"$keel_disk,$keel_gpt\"; else search --no-floppy --label --set=root \"$keel_part\"; fi\n\
         \x20 echo \"keel: booting slot $1 ($keel_part)\"\n\
         \x20 linux /vmlinuz {cmdline} keel.slot=$1\n\
         \x20 initrd /initrd.img\n\
         \x20 boot\n\
         }}\n\
         \n",
        board = board.name,
        cmdline = kernel_cmdline(board, "$keel_part"),
        gpt_a = format!("gpt{}", slot_partition_number("rootfs-a")),
        gpt_b = format!("gpt{}", slot_partition_number("rootfs-b")),
    );
    if with_ab_script {
        out.push_str(
            "# The A/B scheme (board/common/grub/keel-ab.cfg, copied beside this file):\n\
             # takes a try from KEEL_ORDER, KEEL_A_LEFT and KEEL_B_LEFT in the grubenv\n\
             # beside this file and sets keel_slot.\n\
             set keel_env=\"${prefix}/grubenv\"\n\
             source \"${prefix}/keel-ab.cfg\"\n\
             if [ -n \"$keel_slot\" ]; then keel_boot_slot \"$keel_slot\"; fi\n",
        );
    }
    out.push_str(
        "# Without the A/B script (or if it returns without booting): slot A.\n\
         keel_boot_slot A\n",
    );
    out
}

/// The GRUB environment variables a fresh image starts with: slot A first,
/// both slots with all their tries left.
pub fn initial_grubenv() -> Vec<(&'static str, &'static str)> {
    vec![
        ("KEEL_ORDER", "A B"),
        ("KEEL_A_LEFT", "3"),
        ("KEEL_B_LEFT", "3"),
    ]
}

/// /etc/fstab of the root file system (the same in both slots; the slot's own
/// root comes from the kernel command line). The ESP is mounted `sync`: the
/// updater's grubenv writes (mark good, try a slot) reach the disk before the
/// call returns, FAT tables included, whatever happens to the power next.
pub fn fstab() -> String {
    format!(
        "# Keel image: the slot's root comes from root=PARTLABEL=... on the kernel command line.\n\
         PARTLABEL=data  {DATA_MOUNT}  ext4  defaults,noatime  0  2\n\
         PARTLABEL=boot  {ESP_MOUNT}  vfat  umask=0077,sync,nofail  0  0\n"
    )
}

/// The terminal's config on the dev image: the demo store's profile and
/// catalog, the UI on the board's display, the technician console on the
/// board's console port. Demo PINs in plain text: a dev image only; a real
/// store is provisioned (`keel provision`) with hashed PINs.
pub fn terminal_toml(board: &Board) -> String {
    format!(
        r#"# The terminal on the Keel dev image ({board}), written by `cargo xtask image`.
# DEV IMAGE ONLY: demo store, demo PINs in plain text (cashier 1111, manager 9999,
# technician 0000). Provision a real store with `keel provision`.

[store]
id = "DEV"
name = "Keel Dev Image"
address = ["1 Harbour Road", "20457 Hamburg"]
currency = "EUR"
footer = "Keel dev image"
demo_catalog = true

[terminal]
id = 1
data_dir = "{DATA_MOUNT}"
board = "{BOARD_FILE}"

[console]
device = "{console}"
baud = {baud}

[ui]
backend = "{ui_backend}"

# DEV IMAGE ONLY: the boot test's virtual scanner (keel-uinput-scan through
# /dev/uinput, started when the virtio-serial port {scanner_port} exists).
[scanner]
events = "{scanner_link}"

[tax]
mode = "inclusive"
rounding = "half-up"
scope = "per-receipt"
rates = [
  {{ class = "standard", percent = "19", label = "A" }},
  {{ class = "reduced", percent = "7", label = "B" }},
  {{ class = "zero", percent = "0", label = "C" }},
]

[cards]
offline_per_transaction = "250.00"
offline_total = "2000.00"

[[users]]
id = "cashier"
name = "Demo Cashier"
role = "cashier"
pin = "1111"

[[users]]
id = "manager"
name = "Demo Manager"
role = "manager"
pin = "9999"

[[users]]
id = "technician"
name = "Demo Technician"
role = "technician"
pin = "0000"
"#,
        board = board.name,
        console = board.console_device,
        baud = board.console_baud,
        ui_backend = board.ui_backend,
        scanner_port = TEST_SCANNER_PORT,
        scanner_link = TEST_SCANNER_LINK,
    )
}

/// /etc/initramfs-tools/modules: what the initramfs needs to find and mount
/// the root file system on this board (the image builds it with `MODULES=list`,
/// so it holds these and their dependencies only).
pub fn initramfs_modules(board: &Board) -> String {
    let mut out = String::from("# Keel image: modules to find and mount the root file system.\n");
    for m in board.initramfs_modules {
        out.push_str(m);
        out.push('\n');
    }
    out
}

/// The key the debootstrap tree is cached under: the board, the suite and a
/// hash (FNV-1a, 64 bits) of everything that goes into the tree, so a change
/// to the package list, the suite, the mirror, the initramfs modules or the
/// recipe gives a new tree.
pub fn rootfs_cache_key(board: &Board, recipe_version: u32) -> String {
    let mut text = format!(
        "recipe={recipe_version}\nsuite={}\nmirror={}\n",
        board.suite, board.mirror
    );
    let mut packages: Vec<&str> = board.packages.to_vec();
    packages.sort_unstable();
    packages.dedup();
    text.push_str(&format!("packages={}\n", packages.join(",")));
    text.push_str(&initramfs_modules(board));
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{}-{hash:016x}", board.name, board.suite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::board::QEMU_X86_64;

    #[test]
    fn grub_cfg_boots_slot_a_by_label_without_the_ab_script() {
        let cfg = grub_cfg(&QEMU_X86_64, false);
        assert!(cfg.contains("search --no-floppy --label --set=root \"$keel_part\""));
        // The slot is found by partition number on GRUB's own disk first.
        assert!(
            cfg.contains("regexp --set=1:keel_disk '^\\(([^,)]+)' \"$cmdpath\""),
            "{cfg}"
        );
        assert!(
            cfg.contains("set keel_part=rootfs-b; set keel_gpt=gpt3;"),
            "{cfg}"
        );
        assert!(
            cfg.contains("set keel_part=rootfs-a; set keel_gpt=gpt2;"),
            "{cfg}"
        );
        assert!(cfg.contains("set root=\"$keel_disk,$keel_gpt\""), "{cfg}");
        assert!(cfg.contains("linux /vmlinuz root=PARTLABEL=$keel_part rw rootwait"));
        assert!(cfg.contains("console=ttyS1,115200"), "{cfg}");
        assert!(cfg.trim_end().ends_with("keel_boot_slot A"));
        assert!(!cfg.contains("keel-ab.cfg\""));
        // Braces balanced: GRUB refuses a function without its closing brace.
        assert_eq!(cfg.matches('{').count(), cfg.matches('}').count());
    }

    #[test]
    fn grub_cfg_sources_the_ab_script_when_present() {
        let cfg = grub_cfg(&QEMU_X86_64, true);
        let source = cfg.find("source \"${prefix}/keel-ab.cfg\"").unwrap();
        let function = cfg.find("function keel_boot_slot").unwrap();
        let fallback = cfg.rfind("keel_boot_slot A").unwrap();
        assert!(function < source && source < fallback);
        assert!(cfg.contains("set keel_env=\"${prefix}/grubenv\""));
        let chosen = cfg.find("keel_boot_slot \"$keel_slot\"").unwrap();
        assert!(source < chosen && chosen < fallback);
    }

    #[test]
    fn embedded_cfg_chains_to_the_esp() {
        let cfg = grub_embedded_cfg();
        assert!(cfg.contains("configfile \"${cmdpath}/grub.cfg\""));
    }

    #[test]
    fn fstab_mounts_data_and_esp_by_partlabel() {
        let f = fstab();
        assert!(f.contains("PARTLABEL=data  /var/lib/keel  ext4"));
        assert!(f.contains("PARTLABEL=boot  /boot/efi  vfat  umask=0077,sync,nofail"));
        assert!(!f.lines().any(|l| l.starts_with("PARTLABEL=rootfs")));
    }

    #[test]
    fn terminal_config_puts_the_console_on_the_boards_port() {
        let t = terminal_toml(&QEMU_X86_64);
        assert!(
            t.contains("[console]\ndevice = \"/dev/ttyS0\"\nbaud = 115200\n"),
            "{t}"
        );
        assert!(t.contains("data_dir = \"/var/lib/keel\""));
        assert!(t.contains("board = \"/etc/keel/board.toml\""));
        assert!(t.contains("backend = \"linuxkms\""));
        assert!(t.contains("demo_catalog = true"));
    }

    #[test]
    fn kernel_cmdline_names_the_slot() {
        let c = kernel_cmdline(&QEMU_X86_64, "rootfs-b");
        assert!(c.starts_with("root=PARTLABEL=rootfs-b rw rootwait "));
    }

    #[test]
    fn cache_key_follows_packages_but_not_their_order() {
        let a = rootfs_cache_key(&QEMU_X86_64, 1);
        assert_eq!(a, rootfs_cache_key(&QEMU_X86_64, 1));
        assert_ne!(a, rootfs_cache_key(&QEMU_X86_64, 2));
        let mut reversed: Vec<&'static str> = QEMU_X86_64.packages.to_vec();
        reversed.reverse();
        let leaked: &'static [&'static str] = Box::leak(reversed.into_boxed_slice());
        let same = Board {
            packages: leaked,
            ..QEMU_X86_64
        };
        assert_eq!(a, rootfs_cache_key(&same, 1));
        let more: Vec<&'static str> = QEMU_X86_64
            .packages
            .iter()
            .copied()
            .chain(["strace"])
            .collect();
        let other = Board {
            packages: Box::leak(more.into_boxed_slice()),
            ..QEMU_X86_64
        };
        assert_ne!(a, rootfs_cache_key(&other, 1));
        assert!(a.starts_with("qemu-x86_64-bookworm-"));
    }
}
