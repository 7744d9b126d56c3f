// SPDX-License-Identifier: GPL-2.0-or-later
//! The runner's processes: `fork`, `wait` and `in parent` / `in child`.
//!
//! The runner forks as the scenario does, so its processes form a chain,
//! one child each. Exactly one runs steps at a time; the others wait,
//! each blocked reading the pipe from the process that will hand the
//! steps back to it. A hand-over tells the step the receiver answers and
//! goes on from, and the names bound so far (they belong to the scenario,
//! not to a process). Only the running process writes to the output, so
//! results come in step order. A process that finds its pipe closed (the
//! process at the other end ended the run or died) ends as well.

use std::fs::File;
use std::io::{Read, Write};

use nix::sys::prctl::set_pdeathsig;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::ForkResult;

use super::{emit, errno_outcome, wait_for, Runner};
use vmalab_lang::machine::{Bindings, Reply, ONE_CHILD};
use vmalab_lang::outcome::Outcome;
use vmalab_lang::scenario::names::signal_name;

/// The two pipes between a process and its parent or child, seen from
/// one end.
pub struct Link {
    tx: File,
    rx: File,
}

/// What one process tells another.
enum Message {
    /// Answer step `at` and run the steps after it (the sender waits).
    Resume { at: usize, names: Bindings },
    /// The child exited at `wait`, step `at`: answer it and go on.
    Exited { at: usize, names: Bindings },
    /// The parent reaps the waiting child: exit (after its own child).
    Exit,
}

impl Message {
    fn send(&self, to: &mut File) -> bool {
        let (kind, at, names) = match self {
            Message::Resume { at, names } => (1u8, *at, names.encode()),
            Message::Exited { at, names } => (2, *at, names.encode()),
            Message::Exit => (3, 0, String::new()),
        };
        let mut buf = vec![kind];
        buf.extend_from_slice(&(at as u64).to_le_bytes());
        buf.extend_from_slice(&(names.len() as u32).to_le_bytes());
        buf.extend_from_slice(names.as_bytes());
        to.write_all(&buf).is_ok()
    }

    /// The next message; `None` once the other end is closed.
    fn receive(from: &mut File) -> Option<Message> {
        let mut head = [0u8; 13];
        from.read_exact(&mut head).ok()?;
        let at = u64::from_le_bytes(head[1..9].try_into().ok()?) as usize;
        let len = u32::from_le_bytes(head[9..13].try_into().ok()?) as usize;
        let mut text = vec![0u8; len];
        from.read_exact(&mut text).ok()?;
        let names = Bindings::decode(&String::from_utf8_lossy(&text));
        match head[0] {
            1 => Some(Message::Resume { at, names }),
            2 => Some(Message::Exited { at, names }),
            3 => Some(Message::Exit),
            _ => None,
        }
    }
}

/// A pair of pipes: this end and the other.
fn link_pair() -> Result<(Link, Link), Outcome> {
    let (a_rx, b_tx) = nix::unistd::pipe().map_err(|e| errno_outcome(e as i32))?;
    let (b_rx, a_tx) = nix::unistd::pipe().map_err(|e| errno_outcome(e as i32))?;
    let link = |tx, rx| Link {
        tx: File::from(tx),
        rx: File::from(rx),
    };
    Ok((link(a_tx, a_rx), link(b_tx, b_rx)))
}

impl Runner<'_> {
    /// `fork`: the child returns at once and runs the following steps;
    /// the parent waits until they are handed back to it.
    pub(super) fn fork_step(&mut self) -> Reply {
        if self.down.is_some() {
            return Err(Outcome::Refused(ONE_CHILD.into()));
        }
        let (parent_end, child_end) = link_pair()?;
        // Nothing the child writes may sit in a buffer it shares.
        let _ = std::io::stdout().lock().flush();
        // SAFETY: the runner is single-threaded, so the child may run any code.
        match unsafe { nix::unistd::fork() } {
            Err(e) => Err(errno_outcome(e as i32)),
            Ok(ForkResult::Child) => {
                // As in main(): die with the parent.
                let _ = set_pdeathsig(Signal::SIGKILL);
                drop(parent_end);
                // Only its own pipes: an inherited end of the parent's
                // would keep the grandparent from seeing the parent end.
                self.up = Some(child_end);
                Ok(0)
            }
            Ok(ForkResult::Parent { child }) => {
                drop(child_end);
                self.down = Some((parent_end, child));
                self.await_child()
            }
        }
    }

    /// Waits until the child hands the steps back: it waits itself (`in
    /// parent`) or exited (`wait`). If it ran the scenario to its end or
    /// died, this process ends as it did.
    fn await_child(&mut self) -> Reply {
        let Some((link, child)) = self.down.as_mut() else {
            return Err(errno_outcome(libc::ECHILD));
        };
        let child = *child;
        match Message::receive(&mut link.rx) {
            Some(Message::Resume { at, names }) => self.resume(at, names),
            Some(Message::Exited { at, names }) => {
                self.down = None;
                wait_for(child);
                self.resume(at, names)
            }
            _ => {
                match wait_for(child) {
                    WaitStatus::Exited(_, code) => std::process::exit(code),
                    WaitStatus::Signaled(_, sig, _) => {
                        emit(&format!("child-died {}\n", signal_name(sig as i32)));
                    }
                    _ => emit("child-died unknown\n"),
                }
                std::process::exit(3)
            }
        }
    }

    /// Goes on after step `at`, which this process answers.
    fn resume(&mut self, at: usize, names: Bindings) -> Reply {
        self.resume_at = Some(at);
        self.names = names;
        Ok(0)
    }

    /// `wait`: a waiting child exits; otherwise this process exits and
    /// its parent goes on; ECHILD if it is no fork child.
    pub(super) fn wait_step(&mut self) -> Reply {
        if self.down.is_some() {
            self.reap_child();
            return Ok(0);
        }
        let Some(mut up) = self.up.take() else {
            return Err(errno_outcome(libc::ECHILD));
        };
        let _ = std::io::stdout().lock().flush();
        let exited = Message::Exited {
            at: self.current,
            names: self.names.clone(),
        };
        if !exited.send(&mut up.tx) {
            emit("child-died lost (cannot reach the parent)\n");
            std::process::exit(3);
        }
        std::process::exit(0)
    }

    /// Tells the waiting child to exit and reaps it.
    fn reap_child(&mut self) {
        if let Some((mut link, child)) = self.down.take() {
            Message::Exit.send(&mut link.tx);
            drop(link);
            wait_for(child);
        }
    }

    /// `in parent` / `in child`: hands the steps after this one to the
    /// parent or the waiting child and waits until they come back.
    pub(super) fn switch_step(&mut self, to_parent: bool) -> Reply {
        let _ = std::io::stdout().lock().flush();
        let resume = Message::Resume {
            at: self.current,
            names: self.names.clone(),
        };
        if !to_parent {
            let Some((link, _)) = self.down.as_mut() else {
                return Err(errno_outcome(libc::ECHILD));
            };
            resume.send(&mut link.tx);
            return self.await_child();
        }
        let Some(up) = self.up.as_mut() else {
            return Err(errno_outcome(libc::ECHILD));
        };
        resume.send(&mut up.tx);
        match Message::receive(&mut up.rx) {
            Some(Message::Resume { at, names }) => self.resume(at, names),
            // Reaped, or the run ended above: a waiting child goes first.
            _ => {
                self.reap_child();
                std::process::exit(0)
            }
        }
    }
}
