// SPDX-License-Identifier: GPL-2.0-or-later
//! Generates the C header from the crate's `extern "C"` items into
//! `OUT_DIR/vma.h`; a test checks that the committed `include/vma.h`
//! is the same, so C users read a header that matches the library.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("the C header generates")
        .write_to_file(format!("{out}/vma.h"));
}
