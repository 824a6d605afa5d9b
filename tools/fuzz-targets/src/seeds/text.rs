//! Seeds that are text files: console sessions, configs, board files, model
//! manifests, catalog imports and `fw_env.config`.

use super::{read, Seed, SeedError};
use keel_core::ids::StoreId;
use keel_terminal::console::command::USAGE;
use keel_terminal::provision::{render_config, ProvisionPlan};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// The command lines a console test types: the string literals of
/// `k.ok("…")` and `k.err("…")` calls, in order.
fn console_lines(test_source: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for call in ["k.ok(\"", "k.err(\""] {
        let mut rest = test_source;
        while let Some(at) = rest.find(call) {
            rest = &rest[at + call.len()..];
            if let Some(end) = rest.find('"') {
                lines.push(rest[..end].to_string());
            }
        }
    }
    lines
}

/// The files directly under `dir/*/` called `name`, sorted.
fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join(name))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// The parent directory's name of `path` (for seed file names).
fn parent_name(path: &Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(super) fn seeds(root: &Path) -> Result<Vec<Seed>, SeedError> {
    let mut out = Vec::new();

    let flow = root.join("firmware/terminal/tests/console_flow.rs");
    let session = console_lines(&String::from_utf8_lossy(&read(&flow)?)).join("\n");
    out.push(Seed::new("console_line", "console_flow_session", session));
    let usage: Vec<&str> = USAGE.iter().map(|(_, u)| *u).collect();
    out.push(Seed::new("console_line", "usage_lines", usage.join("\n")));

    // A provisioned terminal's config, with users whose PINs are hashed with a
    // fixed salt so the seed stays the same from run to run.
    let plan = ProvisionPlan {
        store: StoreId("fuzz-store".into()),
        terminals: 3,
        out: PathBuf::from("/var/lib/keel"),
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        base_port: 7101,
        mdns: true,
        demo_catalog: true,
    };
    let mut users = String::new();
    for (id, role, pin) in [
        ("cashier", "cashier", "1111"),
        ("manager", "manager", "9999"),
    ] {
        let hash = keel_core::auth::hash_pin(pin, b"fuzz-corpus-salt", 1);
        users.push_str(&format!(
            "[[users]]\nid = \"{id}\"\nname = \"{id}\"\nrole = \"{role}\"\npin_hash = \"{hash}\"\n\n"
        ));
    }
    out.push(Seed::new(
        "terminal_config",
        "provisioned_t2",
        render_config(&plan, 2, &users),
    ));

    for path in files_named(&root.join("board"), "board.toml") {
        out.push(Seed::new("board_toml", parent_name(&path), read(&path)?));
    }
    let models = root.join("models");
    for path in files_named(&models, "manifest.toml")
        .into_iter()
        .chain(files_named(&models.join("testdata"), "manifest.toml"))
    {
        out.push(Seed::new(
            "model_manifest",
            parent_name(&path),
            read(&path)?,
        ));
    }

    out.push(Seed::new(
        "catalog_import",
        "items.csv",
        "sku,barcodes,name,category,price,tax_class,sold_by,active,kitchen_station\n\
TEA-GREEN,4006381333948,\"Green Tea, 20 bags\",Drinks,2.95,reduced,unit,true,\n\
NUTS,,Mixed Nuts (per kg),Produce,12.80,reduced,weight,yes,\n\
COFFEE,,Coffee,Cafe,2.40,standard,unit,true,bar\n",
    ));
    out.push(Seed::new(
        "catalog_import",
        "items.json",
        r#"{"items":[{"sku":"SCONE","name":"Scone","category":"Cafe","price":"2.40","tax_class":"standard","kitchen_station":"kitchen"},{"sku":"APPLES","barcodes":["2012345000001"],"name":"Apples","price":"3.10","tax_class":"reduced","sold_by":"weight"}]}"#,
    ));

    let fw_env = root.join("yocto-layer/meta-keel/recipes-bsp/keel-boot-uboot/files/fw_env.config");
    out.push(Seed::new(
        "ubootenv_config",
        "meta_keel_fw_env",
        read(&fw_env)?,
    ));
    Ok(out)
}
