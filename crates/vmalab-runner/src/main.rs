// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab-runner`: the oracle runner on its own (what `vmalab
//! oracle-runner` runs), a small binary for machines that need no more.

fn main() {
    std::process::exit(vmalab_runner::main());
}
