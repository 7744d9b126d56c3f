// SPDX-License-Identifier: GPL-2.0-or-later
//! Other kernels: scenarios run inside a Linux kernel booted under qemu,
//! so the model can be checked against 6.1, 6.12, 7.2 or any vmlinuz on
//! a machine that runs something else. One boot runs a whole corpus.

pub mod boot;
pub mod cpio;
pub mod frame;
#[allow(unsafe_code)]
pub mod guest;
pub mod image;
pub mod report;

pub use boot::{run_in_guest, BootOptions, GuestRun};
pub use image::{at_hand, obtain, KernelImage, KernelSpec, Series};
