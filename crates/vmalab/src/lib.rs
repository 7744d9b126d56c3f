// SPDX-License-Identifier: GPL-2.0-or-later
//! vmalab: the VMA lab. Scenario language, live-kernel oracle and the
//! types both the oracle and the model runner produce (layouts, outcomes,
//! traces), so the two can be compared.
//!
//! Data flows one way: scenario text -> [`scenario::Scenario`] -> a side
//! that runs it ([`oracle`] for the kernel, [`model`] for `vma::Mm`) ->
//! [`trace::Trace`] of [`outcome::Outcome`]s and [`layout::Layout`]s ->
//! [`check`] (expectations) / [`diff`] (kernel vs model) / [`report`].

#![deny(unsafe_code)]

pub use vmalab_lang::{host, layout, machine, outcome, scenario, trace, window};

pub mod bench;
pub mod check;
pub mod diff;
pub mod explain;
pub mod export;
pub mod fuzz;
pub mod harness;
pub mod kernels;
pub mod maps_cmd;
pub mod model;
pub mod oracle;
pub mod render;
pub mod report;
pub mod run_cmd;
pub mod shadow;
pub mod snapshot;
pub mod verify;
pub mod vm;
