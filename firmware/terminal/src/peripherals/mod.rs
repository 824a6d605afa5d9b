//! The terminal's peripherals: receipt and kitchen printers, the cash drawer,
//! the barcode scanner and the scale, wired to sales. Receipts and drawer
//! kicks follow committed records (`feeder`), so whatever made the sale (the
//! console, a scan, later the UI), the receipt prints and the drawer opens
//! only for what the journal holds: a cash tender or an authorised no-sale,
//! each journaled before the kick.
//!
//! This module owns the wiring (which device, which layout, which thread); the
//! codecs and device I/O are keel-devices'; what to sell and when the drawer
//! may open are keel-core's engine's.

pub mod actions;
mod feeder;
pub mod marker;
mod scanner;

use crate::config::{DevicesConfig, DrawerConfig, Flow, PortConfig, PrinterConfig};
use crate::console::Input;
use crate::node::Node;
use keel_devices::drawer::{Drawer, SerialDrawer};
use keel_devices::escpos::{CodePage, DrawerPin, LayoutOptions, PaperWidth};
use keel_devices::link::{FlowControl, LinkSpec};
use keel_devices::printer::{Printer, PrinterHandle};
use keel_devices::spool::JobKind;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Errors starting the peripherals.
#[derive(Debug, Error)]
pub enum PeripheralsError {
    /// A printer's worker or spool cannot start.
    #[error("printer {0}: {1}")]
    Printer(String, String),
    /// The feeder or scanner thread cannot be spawned.
    #[error("peripherals: cannot start a thread: {0}")]
    Thread(std::io::Error),
    /// The scanner's source cannot be opened (a directory, a socket...).
    #[error("scanner: {0}")]
    Scanner(String),
}

/// A running printer and how its jobs are laid out.
pub(crate) struct PrinterRun {
    pub(crate) handle: PrinterHandle,
    pub(crate) layout: LayoutOptions,
    spool: PathBuf,
}

/// Everything the feeder and the console reach.
pub struct Devices {
    pub(crate) printer: Option<PrinterRun>,
    pub(crate) kitchen: Option<PrinterRun>,
    pub(crate) drawer: Option<Drawer>,
}

impl Devices {
    fn spool_dir(&self) -> Option<&Path> {
        self.printer
            .as_ref()
            .or(self.kitchen.as_ref())
            .map(|p| p.spool.as_path())
    }
}

/// What `printer status` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterReport {
    /// Device path or `tcp://addr`.
    pub port: String,
    /// The last status the printer reported (DLE EOT).
    pub status: keel_devices::status::PrinterStatus,
    /// Jobs waiting.
    pub pending: usize,
    /// Jobs printed since start.
    pub printed: u64,
    /// The last failure, until a job prints.
    pub last_error: Option<String>,
}

/// A scale reading as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleReport {
    /// `stable`, `unstable`, `zero` or `overload`.
    pub state: &'static str,
    /// Weight in grams.
    pub grams: i64,
}

/// The terminal's running peripherals.
pub struct Peripherals {
    devices: Arc<Devices>,
    scanner: bool,
    /// The console's input channel, scans already flowing into it; taken once.
    scan_channel: Mutex<Option<ScanChannel>>,
    scale: Option<crate::config::ScaleConfig>,
    feeder: Option<std::thread::JoinHandle<()>>,
}

/// Where scans go: the console's inputs (a sender for the console's other
/// input, and the receiver the console serves).
pub type ScanChannel = (Sender<Input>, Receiver<Input>);

fn layout(p: &PrinterConfig) -> LayoutOptions {
    let width = if p.width_mm == 58 {
        PaperWidth::Mm58
    } else {
        PaperWidth::Mm80
    };
    let page = CodePage::from_name(&p.codepage).unwrap_or(CodePage::Cp858);
    LayoutOptions::new(width).with_code_page(page)
}

fn link(port: &PortConfig) -> LinkSpec {
    match port {
        PortConfig::Serial { path, baud, flow } => {
            LinkSpec::serial(path.clone(), *baud).with_flow(match flow {
                Flow::None => FlowControl::None,
                Flow::Hardware => FlowControl::Hardware,
                Flow::Software => FlowControl::Software,
            })
        }
        PortConfig::Tcp(addr) => LinkSpec::tcp(*addr),
    }
}

fn start_printer(p: &PrinterConfig, spool: PathBuf) -> Result<PrinterRun, PeripheralsError> {
    let spec = link(&p.port);
    let handle = Printer::start(spec.clone(), &spool, Default::default())
        .map_err(|e| PeripheralsError::Printer(spec.device(), e.to_string()))?;
    Ok(PrinterRun {
        handle,
        layout: layout(p),
        spool,
    })
}

impl Peripherals {
    /// Starts what `cfg` names, spooling under `data_dir/spool`; receipts and
    /// drawer kicks then follow `node`'s commits.
    pub fn start(
        node: Arc<Mutex<Node>>,
        cfg: &DevicesConfig,
        data_dir: &Path,
    ) -> Result<Peripherals, PeripheralsError> {
        let printer = match &cfg.printer {
            Some(p) => Some(start_printer(p, data_dir.join("spool").join("receipt"))?),
            None => None,
        };
        let kitchen = match &cfg.kitchen_printer {
            Some(p) => Some(start_printer(p, data_dir.join("spool").join("kitchen"))?),
            None => None,
        };
        let drawer = match (&cfg.drawer, &printer, &cfg.printer) {
            (Some(DrawerConfig::ViaPrinter), Some(run), Some(pc)) | (None, Some(run), Some(pc)) => {
                let pin = if pc.drawer_pin == 5 {
                    DrawerPin::Pin5
                } else {
                    DrawerPin::Pin2
                };
                Some(Drawer::ViaPrinter(run.handle.clone(), pin))
            }
            (Some(DrawerConfig::Serial { path, baud }), _, _) => Some(Drawer::Serial(
                SerialDrawer::new(LinkSpec::serial(path.clone(), *baud)),
            )),
            _ => None,
        };
        let devices = Arc::new(Devices {
            printer,
            kitchen,
            drawer,
        });
        let (tx, rx) = std::sync::mpsc::channel();
        node.lock()
            .unwrap_or_else(|p| p.into_inner())
            .add_commit_listener(Box::new(move |records| {
                let _ = tx.send(records);
            }));
        let feeder = {
            let devices = devices.clone();
            std::thread::Builder::new()
                .name("keel-print-feeder".into())
                .spawn(move || feeder::run(node, devices, rx))
                .map_err(PeripheralsError::Thread)?
        };
        let scan_channel = match &cfg.scanner {
            Some(sc) => Some(scanner::start(sc)?),
            None => None,
        };
        Ok(Peripherals {
            devices,
            scanner: cfg.scanner.is_some(),
            scan_channel: Mutex::new(scan_channel),
            scale: cfg.scale.clone(),
            feeder: Some(feeder),
        })
    }

    /// Queues a test page on the receipt printer.
    pub fn printer_test(&self, _node: &Node) -> Result<u64, String> {
        let p = self
            .devices
            .printer
            .as_ref()
            .ok_or("no receipt printer configured")?;
        let bytes = keel_devices::escpos::test_page(&p.layout);
        p.handle
            .submit(JobKind::Test, "test page", &bytes)
            .map(|id| id.0)
            .map_err(|e| format!("the test page was not queued: {e}"))
    }

    /// The receipt printer's status.
    pub fn printer_status(&self) -> Option<PrinterReport> {
        let p = self.devices.printer.as_ref()?;
        let v = p.handle.status();
        Some(PrinterReport {
            port: v.device,
            status: v.status,
            pending: v.pending,
            printed: v.printed_total,
            last_error: v.last_error,
        })
    }

    /// Queues receipt `receipt` (the last one when `None`) again; returns the
    /// receipt number and the job id.
    pub fn reprint(&self, node: &Node, receipt: Option<u64>) -> Result<(u64, u64), String> {
        let p = self
            .devices
            .printer
            .as_ref()
            .ok_or("no receipt printer configured")?;
        let no = match receipt {
            Some(n) => n,
            None => node.state.counters.last_receipt,
        };
        let rec = node
            .sale(keel_core::ids::ReceiptNo(no))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no receipt {no} on this terminal"))?;
        let r = keel_core::receipt::Receipt::from_sale(
            &node.profile,
            &rec.sale,
            rec.seq,
            &rec.hash,
            rec.time_ms,
        );
        let bytes = keel_devices::escpos::receipt(&r, &p.layout.clone().as_copy());
        p.handle
            .submit(JobKind::Reprint, &format!("receipt {no} (copy)"), &bytes)
            .map(|id| (no, id.0))
            .map_err(|e| format!("the reprint was not queued: {e}"))
    }

    /// Whether a cash drawer is configured.
    pub fn has_drawer(&self) -> bool {
        self.devices.drawer.is_some()
    }

    /// The drawer's state shortly after a kick (the kick goes out from the
    /// feeder once the no-sale is journaled): `None` when it does not report.
    /// Waits on the device: call it without holding the node.
    pub fn drawer_status_after_kick(&self) -> Option<bool> {
        let d = self.devices.drawer.as_ref()?;
        std::thread::sleep(std::time::Duration::from_millis(300));
        d.status()
    }

    /// The console input channel scans flow into, when a scanner runs: the
    /// console serves the receiver and feeds its own lines through the sender.
    /// Given out once.
    pub fn scans(&self) -> Option<ScanChannel> {
        self.scan_channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Whether a scanner is configured.
    pub fn has_scanner(&self) -> bool {
        self.scanner
    }

    /// Whether a scale is configured.
    pub fn has_scale(&self) -> bool {
        self.scale.is_some()
    }

    /// Reads the scale: waits up to 3 s for a settled reading. Call it without
    /// holding the node: it waits on the device.
    pub fn scale_read(&self) -> Result<ScaleReport, String> {
        use keel_devices::scale::{Scale, ScaleProtocol, ScaleState};
        let cfg = self.scale.as_ref().ok_or("no scale configured")?;
        let protocol = ScaleProtocol::from_names(&cfg.protocol, &cfg.mode)
            .ok_or_else(|| format!("scale protocol {} {} unknown", cfg.protocol, cfg.mode))?;
        // Opened per reading: nothing stale from an earlier frame is read.
        let mut port = keel_devices::link::open(
            &LinkSpec::serial(cfg.path.clone(), cfg.baud),
            keel_devices::link::Timeouts::default(),
        )
        .map_err(|e| e.to_string())?;
        let r = Scale::read(&mut *port, protocol, std::time::Duration::from_secs(3))
            .map_err(|e| e.to_string())?;
        Ok(ScaleReport {
            state: match r.state {
                ScaleState::Stable => "stable",
                ScaleState::Unstable => "unstable",
                ScaleState::Zero => "zero",
                ScaleState::Overload => "overload",
                ScaleState::UnderZero => "under zero",
            },
            grams: r.grams,
        })
    }
}

impl Drop for Peripherals {
    fn drop(&mut self) {
        // The feeder ends when the node drops its commit listener (with the node).
        if let Some(f) = self.feeder.take() {
            drop(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ConsoleArgs;
    use keel_devices::link::{DataBits, Parity, StopBits};

    fn printer(port: PortConfig, width_mm: u8, codepage: &str) -> PrinterConfig {
        PrinterConfig {
            port,
            width_mm,
            codepage: codepage.into(),
            drawer_pin: 2,
        }
    }

    #[test]
    fn the_config_sets_the_link_and_the_layout() {
        let serial = PortConfig::Serial {
            path: "/dev/ttyS1".into(),
            baud: 19200,
            flow: Flow::Hardware,
        };
        match link(&serial) {
            LinkSpec::Serial {
                path,
                baud,
                flow,
                data_bits,
                parity,
                stop_bits,
            } => {
                assert_eq!(path, PathBuf::from("/dev/ttyS1"));
                assert_eq!((baud, flow), (19200, FlowControl::Hardware));
                assert_eq!(
                    (data_bits, parity, stop_bits),
                    (DataBits::Eight, Parity::None, StopBits::One)
                );
            }
            other => panic!("{other:?}"),
        }
        let addr = "192.168.1.60:9100".parse().unwrap();
        assert!(matches!(link(&PortConfig::Tcp(addr)), LinkSpec::Tcp { addr: a } if a == addr));

        let l = layout(&printer(serial.clone(), 58, "wpc1252"));
        assert_eq!(
            (l.width, l.code_page),
            (PaperWidth::Mm58, CodePage::Wpc1252)
        );
        assert_eq!(l.columns(), 32);
        let l = layout(&printer(serial, 80, "cp437"));
        assert_eq!((l.width, l.code_page), (PaperWidth::Mm80, CodePage::Cp437));
        assert_eq!(l.columns(), 48);
    }

    #[test]
    fn printer_port_is_9600_8n1_unless_the_config_says_otherwise() {
        let args = ConsoleArgs {
            printer_port: Some("/dev/pts/7".into()),
            ..ConsoleArgs::default()
        };
        let mut bare = DevicesConfig::default();
        crate::app::apply_device_flags(&args, &mut bare);
        let p = bare.printer.expect("a printer from --printer-port");
        assert_eq!(
            p.port,
            PortConfig::Serial {
                path: "/dev/pts/7".into(),
                baud: 9600,
                flow: Flow::None
            }
        );
        assert_eq!(bare.drawer, Some(DrawerConfig::ViaPrinter));

        let mut configured = DevicesConfig {
            printer: Some(printer(
                PortConfig::Serial {
                    path: "/dev/ttyS1".into(),
                    baud: 38400,
                    flow: Flow::Software,
                },
                58,
                "cp437",
            )),
            ..DevicesConfig::default()
        };
        crate::app::apply_device_flags(&args, &mut configured);
        let p = configured.printer.expect("still configured");
        assert_eq!(
            p.port,
            PortConfig::Serial {
                path: "/dev/pts/7".into(),
                baud: 38400,
                flow: Flow::Software
            },
            "only the device changes"
        );
        assert_eq!((p.width_mm, p.codepage.as_str()), (58, "cp437"));
    }
}
