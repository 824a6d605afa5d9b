//! `keel-uinput-scan`: creates the virtual scanner, links its event node,
//! then types each barcode (from the command line, or one a line from a
//! file, FIFO or virtio port) as a scanner would.

use keel_devices::scanner::keymap::Layout;
use keel_uinput_scan::plan::{key_codes, scan_steps};
use keel_uinput_scan::uinput::{link, VirtualKeyboard};
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage: keel-uinput-scan [--name NAME] [--link PATH] [--layout us|de] [--wait-ms MS] (--from PATH | CODE...)
  creates a /dev/uinput keyboard named NAME (default \"Keel test scanner\"), links PATH to its
  /dev/input/eventN, waits MS (default 1500) for a reader to open it, then types each CODE and
  Enter with a scanner's timing; --from reads one code a line until end of file";

struct Args {
    name: String,
    link: Option<PathBuf>,
    layout: Layout,
    wait: Duration,
    from: Option<PathBuf>,
    codes: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        name: "Keel test scanner".into(),
        link: None,
        layout: Layout::Us,
        wait: Duration::from_millis(1500),
        from: None,
        codes: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--name" => a.name = value()?,
            "--link" => a.link = Some(PathBuf::from(value()?)),
            "--layout" => {
                let v = value()?;
                a.layout = Layout::from_name(&v).ok_or(format!("unknown layout `{v}`"))?
            }
            "--wait-ms" => {
                a.wait =
                    Duration::from_millis(value()?.parse().map_err(|_| "--wait-ms: milliseconds")?)
            }
            "--from" => a.from = Some(PathBuf::from(value()?)),
            s if s.starts_with("--") => return Err(format!("unknown option `{s}`")),
            code => a.codes.push(code.to_string()),
        }
    }
    if a.from.is_none() && a.codes.is_empty() {
        return Err("no barcode: give CODE... or --from PATH".into());
    }
    Ok(a)
}

fn run(a: &Args) -> Result<(), String> {
    // Every key a scan in this layout may press: digits, letters, shift, Enter.
    let alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.";
    let keys = key_codes(&scan_steps(alphabet, a.layout, 1).map_err(|e| e.to_string())?);
    let mut kbd = VirtualKeyboard::create(std::path::Path::new("/dev/uinput"), &a.name, &keys)
        .map_err(|e| e.to_string())?;
    log::info!("created {} at {}", a.name, kbd.event_node.display());
    if let Some(l) = &a.link {
        link(&kbd.event_node, l).map_err(|e| e.to_string())?;
    }
    println!("keel-uinput-scan: {} ready", kbd.event_node.display());
    std::thread::sleep(a.wait);
    let mut type_code = |code: &str, seed: u64| -> Result<(), String> {
        let steps = scan_steps(code, a.layout, seed).map_err(|e| e.to_string())?;
        for s in &steps {
            std::thread::sleep(s.wait);
            kbd.write(&s.event).map_err(|e| e.to_string())?;
        }
        println!("keel-uinput-scan: typed {code}");
        Ok(())
    };
    let mut seed = 1;
    for code in &a.codes {
        type_code(code, seed)?;
        seed += 1;
    }
    if let Some(path) = &a.from {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
            let code = line.trim();
            if !code.is_empty() {
                type_code(code, seed)?;
                seed += 1;
            }
        }
    }
    // Let the reader take the last events before the device goes away.
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}

fn main() {
    env_logger::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let code = match parse(&args) {
        Err(e) => {
            eprintln!("keel-uinput-scan: {e}\n{USAGE}");
            2
        }
        Ok(a) => match run(&a) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("keel-uinput-scan: {e}");
                1
            }
        },
    };
    std::process::exit(code);
}
