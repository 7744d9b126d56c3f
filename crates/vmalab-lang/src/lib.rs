// SPDX-License-Identifier: GPL-2.0-or-later
//! The VMA lab's language, shared by the lab and its oracle runner: the
//! scenario language and its step table, the [`machine::Machine`] trait
//! that the kernel and the model both implement, the window a scenario
//! runs in, and what a run produces -- outcomes, layouts, traces, and the
//! runner's line protocol. With the host's feature tables and probes, so a
//! scenario's requirements are judged the same way on either side.

#![deny(unsafe_code)]

pub mod host;
pub mod layout;
pub mod machine;
pub mod outcome;
#[allow(unsafe_code)]
pub mod probe;
pub mod protocol;
pub mod rng;
pub mod scenario;
pub mod smaps;
pub mod trace;
pub mod window;
