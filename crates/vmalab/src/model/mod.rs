// SPDX-License-Identifier: GPL-2.0-or-later
//! The model side of the checker: a scenario run on `vma::Mm` instead of
//! the kernel, producing the same [`Trace`](crate::trace::Trace) so the two
//! can be diffed step by step.

mod config;
mod content;
mod layout;
mod machine;
mod runner;

pub use config::config_for;
pub use runner::{run_model, run_model_with, ModelOptions, ModelTrace, PlantedBug};
