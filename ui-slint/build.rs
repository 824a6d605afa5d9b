//! Compiles the .slint screens (ui/app.slint and what it imports, fonts
//! included) into Rust, included by `src/generated.rs`, with the
//! translations under `lang/` bundled in (Slint's bundled translations,
//! `lang/<lang>/LC_MESSAGES/keel-ui.po`, no per-component context), and
//! writes `$OUT_DIR/i18n_bundled.rs`: the same catalogues as text for the
//! strings built in Rust (`src/i18n.rs`). Adding a language is adding its
//! directory under `lang/`.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR")?;
    let lang = Path::new(&manifest).join("lang");
    println!("cargo:rerun-if-changed={}", lang.display());
    let config = slint_build::CompilerConfiguration::new()
        .with_bundled_translations(&lang)
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    slint_build::compile_with_config("ui/app.slint", config)?;

    let mut dirs: Vec<_> = std::fs::read_dir(&lang)?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|e| e.path())
        .filter(|p| p.join("LC_MESSAGES/keel-ui.po").is_file())
        .collect();
    dirs.sort();
    let mut out = String::from(
        "/// (language, catalogue text) of every `lang/<lang>/LC_MESSAGES/keel-ui.po`.\n\
         pub(crate) const BUNDLED: &[(&str, &str)] = &[\n",
    );
    for dir in dirs {
        let po = dir.join("LC_MESSAGES/keel-ui.po");
        println!("cargo:rerun-if-changed={}", po.display());
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("a language directory name is not UTF-8")?;
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            po.display().to_string()
        )?;
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR")?).join("i18n_bundled.rs");
    std::fs::write(dest, out)?;
    Ok(())
}
