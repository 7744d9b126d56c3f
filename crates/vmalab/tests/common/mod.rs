// SPDX-License-Identifier: GPL-2.0-or-later
//! What the command-line tests share: running the built `vmalab`.

use std::process::Command;

/// Runs the built `vmalab` with `args`: its exit code, stdout and stderr.
pub fn vmalab_split(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vmalab"))
        .args(args)
        .output()
        .expect("run vmalab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the built `vmalab` with `args`: its exit code and its output,
/// stdout then stderr.
#[allow(dead_code)] // not every test file uses both forms
pub fn vmalab(args: &[&str]) -> (i32, String) {
    let (code, out, err) = vmalab_split(args);
    (code, out + &err)
}
