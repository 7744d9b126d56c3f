// SPDX-License-Identifier: GPL-2.0-or-later
//! What a guest sends back through its console: length-prefixed frames,
//! so runner output of any content crosses unharmed, and a truncated
//! stream (the guest crashed or hung) is recognised as such.
//!
//! ```text
//! report LEN\n<LEN bytes>\n               the guest's configuration
//! run INDEX STATUS TIMEOUT_MS OUT ERR\n<OUT bytes><ERR bytes>\n
//! skip INDEX LEN\n<reason>\n
//! error INDEX LEN\n<message>\n
//! done\n
//! ```

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::oracle::RawRun;

/// One message from the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Report(String),
    Run(usize, RawRun),
    Skip(usize, String),
    Error(usize, String),
    Done,
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, f: &Frame) -> std::io::Result<()> {
    match f {
        Frame::Report(t) => write!(w, "report {}\n{t}\n", t.len()),
        Frame::Skip(i, t) => write!(w, "skip {i} {}\n{t}\n", t.len()),
        Frame::Error(i, t) => write!(w, "error {i} {}\n{t}\n", t.len()),
        Frame::Run(i, r) => {
            let timeout = r
                .timed_out
                .map_or("-".to_string(), |t| t.as_millis().to_string());
            write!(
                w,
                "run {i} {} {timeout} {} {}\n{}{}\n",
                r.status,
                r.stdout.len(),
                r.stderr.len(),
                r.stdout,
                r.stderr
            )
        }
        Frame::Done => writeln!(w, "done"),
    }?;
    w.flush()
}

/// Parses a whole stream. A stream cut short yields the frames before the
/// cut and no `Done`; malformed data is an error.
pub fn parse_frames(bytes: &[u8]) -> anyhow::Result<Vec<Frame>> {
    let mut frames = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            break; // a header cut short
        };
        let header = std::str::from_utf8(&rest[..nl]).context("frame header is not text")?;
        let words: Vec<&str> = header.split(' ').collect();
        rest = &rest[nl + 1..];
        let num = |i: usize| -> anyhow::Result<usize> {
            words
                .get(i)
                .and_then(|w| w.parse().ok())
                .with_context(|| format!("bad frame header `{header}`"))
        };
        let mut take = |n: usize| -> Option<String> {
            if rest.len() < n + 1 {
                return None;
            }
            let s = String::from_utf8_lossy(&rest[..n]).into_owned();
            rest = &rest[n..];
            Some(s)
        };
        let frame = match words[0] {
            "done" => Frame::Done,
            "report" => match take(num(1)?) {
                Some(t) => Frame::Report(t),
                None => break,
            },
            "skip" | "error" => {
                let (i, len) = (num(1)?, num(2)?);
                let Some(t) = take(len) else { break };
                if words[0] == "skip" {
                    Frame::Skip(i, t)
                } else {
                    Frame::Error(i, t)
                }
            }
            "run" => {
                let i = num(1)?;
                let status: i32 = words
                    .get(2)
                    .and_then(|w| w.parse().ok())
                    .with_context(|| format!("bad frame header `{header}`"))?;
                let timed_out = match words.get(3) {
                    Some(&"-") => None,
                    _ => Some(Duration::from_millis(num(3)? as u64)),
                };
                let (out_len, err_len) = (num(4)?, num(5)?);
                let Some(stdout) = take(out_len) else { break };
                let Some(stderr) = take(err_len) else { break };
                Frame::Run(
                    i,
                    RawRun {
                        stdout,
                        stderr,
                        status,
                        timed_out,
                    },
                )
            }
            other => bail!("unknown frame `{other}`"),
        };
        if frame != Frame::Done {
            match rest.first() {
                Some(b'\n') => rest = &rest[1..],
                Some(_) => bail!("frame `{header}` is not followed by a newline"),
                None => break,
            }
        }
        frames.push(frame);
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Frame> {
        vec![
            Frame::Report("release 6.1.0\nmachine x86_64\n".into()),
            Frame::Run(
                3,
                RawRun {
                    stdout: "hello\nrun 1 2 3\n".into(),
                    stderr: "oops".into(),
                    status: -9,
                    timed_out: Some(Duration::from_millis(1500)),
                },
            ),
            Frame::Skip(4, "needs kernel 6.10".into()),
            Frame::Error(5, "bad".into()),
            Frame::Done,
        ]
    }

    #[test]
    fn frames_round_trip() {
        let mut bytes = Vec::new();
        for f in sample() {
            write_frame(&mut bytes, &f).unwrap();
        }
        assert_eq!(parse_frames(&bytes).unwrap(), sample());
    }

    #[test]
    fn a_cut_stream_keeps_the_whole_frames() {
        let mut bytes = Vec::new();
        for f in sample() {
            write_frame(&mut bytes, &f).unwrap();
        }
        for cut in 0..bytes.len() {
            let frames = parse_frames(&bytes[..cut]).unwrap();
            assert!(frames.len() < sample().len(), "cut at {cut}");
            assert_eq!(frames[..], sample()[..frames.len()]);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_frames(b"hello there\n").is_err());
        assert!(parse_frames(b"skip x 1\na\n").is_err());
    }
}
