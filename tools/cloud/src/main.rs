//! `keel-cloud`: the reference cloud service. (Command line under construction.)

fn main() {
    eprintln!("keel-cloud: not built yet");
    std::process::exit(2);
}
