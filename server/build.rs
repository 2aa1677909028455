//! Compiles the web app (`web/`) into the server: every file in that folder
//! becomes an entry of `WEB_FILES` in `$OUT_DIR/web_files.rs`, so the
//! binary serves `/app` with no files beside it.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it is compiled: cargo shares one
    // compiled script between checkouts of the workspace that use the same
    // target dir, and each must embed its own `web/`.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("web");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out =
        String::from("/// The web app's files, by name.\npub static WEB_FILES: &[(&str, &[u8])] = &[\n");
    for name in names {
        let path = dir.join(&name);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(out, "    ({name:?}, include_bytes!({:?})),", path.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("web_files.rs");
    std::fs::write(target, out).unwrap();
}
