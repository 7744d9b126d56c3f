// SPDX-License-Identifier: GPL-2.0-or-later
//! The record of running a scenario on one side (kernel or model): each
//! step's outcome and the window layout after it.

use crate::host::Features;
use crate::layout::Layout;
use crate::outcome::Outcome;
use crate::scenario::KernelVersion;

/// The result of one executed step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepResult {
    /// Index into `Scenario::steps`.
    pub index: usize,
    pub outcome: Outcome,
    /// The window's mappings after the step (as seen by the process that
    /// runs the remaining steps, i.e. the child after `fork`).
    pub layout: Layout,
}

/// A run of a whole scenario.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Trace {
    /// Page size the scenario's page amounts were evaluated with.
    pub page_size: u64,
    /// Results in step order. Shorter than the scenario only if the run
    /// stopped early (a `ChildCrash` is then the last outcome) or was
    /// skipped as a whole.
    pub steps: Vec<StepResult>,
    /// Set when the whole scenario was skipped (e.g. `min-kernel`).
    pub skipped: Option<String>,
    /// The machine the run reproduced or ran on; `expect when` lines are
    /// judged against it.
    pub features: Features,
    /// The version of the kernel the run reproduced or ran on; `expect
    /// when kernel>=...` lines are judged against it.
    pub kernel: Option<KernelVersion>,
}
