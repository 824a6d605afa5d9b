//! Compiles the .slint screens (ui/app.slint and what it imports, fonts
//! included) into Rust, included by `src/generated.rs`.

fn main() -> Result<(), slint_build::CompileError> {
    slint_build::compile("ui/app.slint")
}
