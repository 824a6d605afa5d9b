//! The qemu command line of the boot test: the machine the qemu-x86_64 board
//! describes (q35, OVMF, a virtio disk, virtio-gpu, ttyS0 = technician
//! console on a Unix socket, ttyS1 = kernel log to a file, the human monitor
//! on a Unix socket for screenshots, resets and power-off). A reset or a
//! reboot restarts the guest in the same qemu, on the same overlay. Pure: paths in, argument
//! list out; it must not start anything.

use std::path::{Path, PathBuf};

/// OVMF's code (read-only flash) from Debian's `ovmf` package.
pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE.fd";
/// OVMF's variable store template; the test boots a copy.
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS.fd";

/// Where one boot's files go.
#[derive(Clone, Debug)]
pub struct QemuFiles {
    /// The disk image (booted with `snapshot=on`: the file is never written).
    pub image: PathBuf,
    /// This run's copy of OVMF_VARS.fd.
    pub vars: PathBuf,
    /// Unix socket of ttyS0 (qemu listens).
    pub console_socket: PathBuf,
    /// File ttyS1 is written to.
    pub log_file: PathBuf,
    /// File ttyS2 (the printer port) is written to.
    pub printer_file: PathBuf,
    /// Unix socket of the human monitor (qemu listens).
    pub monitor_socket: PathBuf,
    /// Unix socket of QMP (qemu listens): absolute pointer events.
    pub qmp_socket: PathBuf,
    /// Unix socket of the virtio-serial port `keel.scanner` (qemu listens):
    /// lines written to it become scans of the guest's virtual scanner.
    pub scanner_socket: PathBuf,
    /// Further virtio disks, read-only, after the image (the OTA phase's
    /// bundles: /dev/vdb, /dev/vdc).
    pub bundle_disks: Vec<PathBuf>,
}

/// Memory of the guest, MiB.
pub const MEMORY_MIB: u32 = 1024;

/// The arguments of `qemu-system-x86_64` for one boot.
pub fn args(files: &QemuFiles, smp: u32) -> Vec<String> {
    let p = |p: &Path| p.display().to_string();
    let mut args: Vec<String> = vec![
        "-machine".into(),
        "q35".into(),
        "-m".into(),
        MEMORY_MIB.to_string(),
        "-smp".into(),
        smp.to_string(),
        "-drive".into(),
        format!("if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"),
        "-drive".into(),
        format!("if=pflash,format=raw,unit=1,file={}", p(&files.vars)),
        "-drive".into(),
        format!(
            "file={},format=raw,if=virtio,snapshot=on,cache=unsafe",
            p(&files.image)
        ),
        "-vga".into(),
        "none".into(),
        "-device".into(),
        "virtio-gpu-pci".into(),
        // A touch screen stand-in: the monitor's mouse_move/mouse_button tap
        // the UI (its PIN pad) at absolute pixels.
        "-device".into(),
        "virtio-tablet-pci".into(),
        "-display".into(),
        "none".into(),
        "-nic".into(),
        "none".into(),
        "-chardev".into(),
        format!(
            "socket,id=console,path={},server=on,wait=off",
            p(&files.console_socket)
        ),
        "-serial".into(),
        "chardev:console".into(),
        "-serial".into(),
        format!("file:{}", p(&files.log_file)),
        // ttyS2, the board's receipt printer: what keel sends it, kept in a
        // file (nothing answers its status requests); ttyS3, the scale: nothing.
        "-serial".into(),
        format!("file:{}", p(&files.printer_file)),
        "-serial".into(),
        "null".into(),
        "-monitor".into(),
        format!("unix:{},server=on,wait=off", p(&files.monitor_socket)),
        "-qmp".into(),
        format!("unix:{},server=on,wait=off", p(&files.qmp_socket)),
    ];
    args.extend([
        "-device".into(),
        "virtio-serial-pci".into(),
        "-chardev".into(),
        format!(
            "socket,id=scanner,path={},server=on,wait=off",
            p(&files.scanner_socket)
        ),
        "-device".into(),
        format!(
            "virtserialport,chardev=scanner,name={}",
            crate::image::files::TEST_SCANNER_PORT
        ),
    ]);
    for disk in &files.bundle_disks {
        args.push("-drive".into());
        args.push(format!("file={},format=raw,if=virtio,readonly=on", p(disk)));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_is_the_first_serial_port_and_the_log_the_second() {
        let files = QemuFiles {
            image: "/i/keel.img".into(),
            vars: "/w/vars.fd".into(),
            console_socket: "/w/console.sock".into(),
            log_file: "/w/ttyS1.log".into(),
            printer_file: "/w/ttyS2.bin".into(),
            monitor_socket: "/w/monitor.sock".into(),
            qmp_socket: "/w/qmp.sock".into(),
            scanner_socket: "/w/scanner.sock".into(),
            bundle_disks: Vec::new(),
        };
        let a = args(&files, 2);
        let serials: Vec<&String> = a
            .iter()
            .zip(a.iter().skip(1))
            .filter(|(k, _)| *k == "-serial")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            serials,
            [
                "chardev:console",
                "file:/w/ttyS1.log",
                "file:/w/ttyS2.bin",
                "null"
            ]
        );
        assert!(
            a.contains(&"socket,id=console,path=/w/console.sock,server=on,wait=off".to_string())
        );
        // The image is never written: every write goes to a temporary overlay.
        assert!(a
            .iter()
            .any(|x| x.starts_with("file=/i/keel.img,") && x.contains("snapshot=on")));
        assert!(a.contains(&format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"
        )));
        assert!(a.contains(&"if=pflash,format=raw,unit=1,file=/w/vars.fd".to_string()));
        assert!(a.contains(&"virtio-gpu-pci".to_string()));
        assert!(!a
            .iter()
            .any(|x| x.contains("readonly=on") && x.contains("if=virtio")));
    }

    #[test]
    fn the_bundle_disks_come_after_the_image_so_they_are_vdb_and_vdc() {
        let files = QemuFiles {
            image: "/i/keel.img".into(),
            vars: "/w/vars.fd".into(),
            console_socket: "/w/console.sock".into(),
            log_file: "/w/ttyS1.log".into(),
            printer_file: "/w/ttyS2.bin".into(),
            monitor_socket: "/w/monitor.sock".into(),
            qmp_socket: "/w/qmp.sock".into(),
            scanner_socket: "/w/scanner.sock".into(),
            bundle_disks: vec!["/w/ota.bundle".into(), "/w/bad.bundle".into()],
        };
        let a = args(&files, 2);
        let virtio: Vec<&String> = a.iter().filter(|x| x.contains("if=virtio")).collect();
        assert_eq!(virtio.len(), 3);
        assert!(virtio[0].starts_with("file=/i/keel.img,"));
        assert_eq!(
            virtio[1],
            "file=/w/ota.bundle,format=raw,if=virtio,readonly=on"
        );
        assert_eq!(
            virtio[2],
            "file=/w/bad.bundle,format=raw,if=virtio,readonly=on"
        );
    }
}
