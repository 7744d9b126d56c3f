// SPDX-License-Identifier: GPL-2.0-or-later
//! A /proc/PID/maps or smaps snapshot -- of a live process, or pasted
//! into a bug report -- read strictly enough to trust and tolerantly
//! enough for what real snapshots contain (`(deleted)`, paths with spaces,
//! `[anon:NAME]`, a missing last newline), and turned into a model
//! address space.
//!
//! What a snapshot cannot show is approximated, and the reports built on
//! it say so: each VMA with anonymous pages gets an `anon_vma` of its own,
//! policies, userfaultfd contexts and `vm_ops` are unknown, and a plain
//! maps file has no `VmFlags` (the flags are guessed from the permissions).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use vma::{Config, File, FileKind, Mm, SeedProcess, SeedVma, VmFlags};

/// A line of a snapshot that could not be read.
#[derive(Debug)]
pub struct SnapshotError {
    pub source: String,
    pub line: usize,
    pub what: String,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.what)
    }
}

impl std::error::Error for SnapshotError {}

/// One mapping of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapVma {
    pub start: u64,
    pub end: u64,
    /// `rwxp` / `rw-s`.
    pub perms: [u8; 4],
    /// File offset in bytes.
    pub offset: u64,
    pub dev: (u32, u32),
    pub inode: u64,
    /// The pathname column, without a ` (deleted)` suffix.
    pub path: String,
    /// The file was deleted (the path ended in ` (deleted)`).
    pub deleted: bool,
    /// smaps `VmFlags`, if the snapshot is smaps.
    pub flags: Option<VmFlags>,
    /// smaps `Anonymous:` in kB, if given.
    pub anonymous_kb: Option<u64>,
    /// The line the mapping starts on.
    pub line: usize,
}

impl SnapVma {
    /// The name of an anonymous VMA (`[anon:NAME]`).
    pub fn anon_name(&self) -> Option<&str> {
        self.path
            .strip_prefix("[anon:")
            .and_then(|n| n.strip_suffix(']'))
    }

    /// Maps a file (an inode), as opposed to anonymous or special memory.
    pub fn has_file(&self) -> bool {
        self.inode != 0
    }

    /// Flags: smaps' if given, else a guess from the permissions (with the
    /// `MAY*` bits a typical mapping has).
    pub fn vm_flags(&self) -> VmFlags {
        if let Some(f) = self.flags {
            return f;
        }
        let mut f = VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC;
        let bits = [
            (b'r', VmFlags::READ),
            (b'w', VmFlags::WRITE),
            (b'x', VmFlags::EXEC),
        ];
        for (i, (c, flag)) in bits.into_iter().enumerate() {
            if self.perms[i] == c {
                f |= flag;
            }
        }
        if self.perms[3] == b's' {
            f |= VmFlags::SHARED | VmFlags::MAYSHARE;
        }
        if self.path == "[stack]" {
            f |= VmFlags::GROWSDOWN;
        }
        f
    }

    pub fn perms_str(&self) -> &str {
        std::str::from_utf8(&self.perms).unwrap_or("????")
    }
}

/// A whole snapshot.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Where it came from (a file name or `/proc/PID/smaps`), for messages.
    pub source: String,
    pub vmas: Vec<SnapVma>,
    /// It had smaps fields (`VmFlags`, `Anonymous`), not just maps lines.
    pub smaps: bool,
}

/// Parses maps or smaps text. `source` names it in errors.
pub fn parse(source: &str, text: &str) -> Result<Snapshot, SnapshotError> {
    let mut snap = Snapshot {
        source: source.to_string(),
        ..Default::default()
    };
    let err = |line: usize, what: String| SnapshotError {
        source: source.to_string(),
        line,
        what,
    };
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(v) = header(line, n).map_err(|w| err(n, w))? {
            if let Some(last) = snap.vmas.last() {
                if v.start < last.end {
                    return Err(err(
                        n,
                        format!(
                            "mapping {:x}-{:x} overlaps or precedes the one on line {}",
                            v.start, v.end, last.line
                        ),
                    ));
                }
            }
            snap.vmas.push(v);
            continue;
        }
        let Some((key, value)) = field(line) else {
            return Err(err(
                n,
                format!("neither a mapping line (START-END PERMS OFFSET DEV INODE [PATH]) nor an smaps field: {line:?}"),
            ));
        };
        let Some(last) = snap.vmas.last_mut() else {
            return Err(err(
                n,
                format!("smaps field {key:?} before any mapping line"),
            ));
        };
        snap.smaps = true;
        match key {
            "VmFlags" => last.flags = Some(vm_flags(value).map_err(|w| err(n, w))?),
            "Anonymous" => {
                last.anonymous_kb = value.split_whitespace().next().and_then(|v| v.parse().ok())
            }
            _ => {}
        }
    }
    Ok(snap)
}

/// An smaps field line: `Name:   value`.
fn field(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some((key, value))
}

fn vm_flags(value: &str) -> Result<VmFlags, String> {
    let mut f = VmFlags::NONE;
    for m in value.split_whitespace() {
        // Mnemonics of newer kernels than the model knows are kept out of
        // the comparison rather than refused.
        if let Some(flag) = VmFlags::from_mnemonic(m) {
            f |= flag;
        } else if m.len() != 2 || !m.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(format!("bad VmFlags mnemonic {m:?}"));
        }
    }
    Ok(f)
}

/// A mapping line, `None` if the line does not start like one (a field
/// line), an error if it starts like one but is broken.
fn header(line: &str, n: usize) -> Result<Option<SnapVma>, String> {
    let Some((range, rest)) = line.split_once(' ') else {
        return Ok(None);
    };
    let Some((s, e)) = range.split_once('-') else {
        return Ok(None);
    };
    let hex = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(s) || !hex(e) {
        return Ok(None);
    }
    let num = |t: &str, what: &str| {
        u64::from_str_radix(t, 16).map_err(|_| format!("{what} {t:?} is not a hex number"))
    };
    let start = num(s, "start")?;
    let end = num(e, "end")?;
    if start >= end || start % 4096 != 0 || end % 4096 != 0 {
        return Err(format!(
            "mapping {s}-{e} is empty, reversed or not page aligned"
        ));
    }
    let mut it = rest.splitn(4, ' ');
    let perms = it.next().unwrap_or("");
    let pb = perms.as_bytes();
    let perms_ok = pb.len() == 4
        && matches!(pb[0], b'r' | b'-')
        && matches!(pb[1], b'w' | b'-')
        && matches!(pb[2], b'x' | b'-')
        && matches!(pb[3], b'p' | b's');
    if !perms_ok {
        return Err(format!("permissions {perms:?} are not like rwxp"));
    }
    let offset = num(it.next().unwrap_or(""), "offset")?;
    let dev_s = it.next().unwrap_or("");
    let (ma, mi) = dev_s
        .split_once(':')
        .ok_or_else(|| format!("device {dev_s:?} is not MAJOR:MINOR"))?;
    let major =
        u32::from_str_radix(ma, 16).map_err(|_| format!("device {dev_s:?} is not MAJOR:MINOR"))?;
    let minor =
        u32::from_str_radix(mi, 16).map_err(|_| format!("device {dev_s:?} is not MAJOR:MINOR"))?;
    let tail = it.next().unwrap_or("");
    let (ino_s, path) = tail.split_once(' ').unwrap_or((tail, ""));
    let inode = ino_s
        .parse()
        .map_err(|_| format!("inode {ino_s:?} is not a number"))?;
    // The path is padded to a column; a path may itself contain spaces.
    let path = path.trim_start();
    let (path, deleted) = match path.strip_suffix(" (deleted)") {
        Some(p) => (p, true),
        None => (path, false),
    };
    Ok(Some(SnapVma {
        start,
        end,
        perms: [pb[0], pb[1], pb[2], pb[3]],
        offset,
        dev: (major, minor),
        inode,
        path: path.to_string(),
        deleted,
        flags: None,
        anonymous_kb: None,
        line: n,
    }))
}

/// Reads a snapshot file, or the smaps of a process when `input` is a
/// PID (`self` for this one).
pub fn read(input: &str) -> anyhow::Result<Snapshot> {
    let path = if input == "self" || input.bytes().all(|b| b.is_ascii_digit()) && !input.is_empty()
    {
        if Path::new(input).exists() {
            input.to_string()
        } else {
            format!("/proc/{input}/smaps")
        }
    } else {
        input.to_string()
    };
    let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    Ok(parse(&path, &String::from_utf8_lossy(&bytes))?)
}

/// The model of a snapshot: the address space, and which snapshot
/// mapping each model VMA came from (by start address).
pub struct Modelled {
    pub mm: Mm,
    /// Snapshot mappings the model leaves out (above the user address
    /// space: the `[vsyscall]` page).
    pub left_out: Vec<SnapVma>,
}

/// Seeds a model of `config` with the snapshot: one file per distinct
/// (device, inode), file offsets as pages, anonymous offsets as the
/// page number, `faulted` where smaps shows anonymous pages of a private
/// mapping; anonymous names are set as shown.
pub fn model(snap: &Snapshot, config: Config) -> anyhow::Result<Modelled> {
    let mut config = config;
    config.anon_vma_name = true;
    let task_size = config.task_size;
    let mut files: HashMap<((u32, u32), u64, String), File> = HashMap::new();
    let mut seeds = Vec::new();
    let mut left_out = Vec::new();
    for v in &snap.vmas {
        if v.end > task_size {
            left_out.push(v.clone());
            continue;
        }
        let file = v.has_file().then(|| {
            files
                .entry((v.dev, v.inode, v.path.clone()))
                .or_insert_with(|| {
                    let kind = if v.dev.0 == 0 {
                        FileKind::Shmem
                    } else {
                        FileKind::Regular
                    };
                    File::new(&v.path, u64::MAX >> 13, kind, true, v.perms[1] == b'w')
                })
                .clone()
        });
        let private = v.perms[3] == b'p';
        seeds.push(SeedVma {
            start: v.start,
            end: v.end,
            pgoff: SeedVma::pgoff_from_maps(v.start, v.offset, file.is_some()),
            flags: v.vm_flags(),
            faulted: private && v.anonymous_kb.is_some_and(|kb| kb > 0),
            file,
        });
    }
    let heap = snap.vmas.iter().find(|v| v.path == "[heap]");
    let stack = snap.vmas.iter().find(|v| v.path == "[stack]");
    let process = SeedProcess {
        start_brk: heap.map_or(0, |h| h.start),
        brk: heap.map_or(0, |h| h.end),
        start_stack: stack.map(|s| s.end - 4096),
        mmap_base: None,
    };
    let mut mm = Mm::new(config);
    mm.seed(&seeds, process).map_err(|e| {
        anyhow::anyhow!(
            "{}: the model cannot hold this address space ({e:?})",
            snap.source
        )
    })?;
    for v in &snap.vmas {
        if let (Some(name), true) = (v.anon_name(), v.end <= task_size) {
            let _ = mm.seed_anon_name(v.start, name);
        }
    }
    Ok(Modelled { mm, left_out })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0c0000000-55d0c0002000 r--p 00000000 08:01 1234                       /usr/bin/my prog
55d0c0002000-55d0c0004000 r-xp 00002000 08:01 1234                       /usr/bin/my prog
7f0000000000-7f0000001000 rw-s 00000000 00:01 77                         /memfd:buf (deleted)
7f0000001000-7f0000003000 rw-p 00000000 00:00 0                          [anon:jit code]
7f0000003000-7f0000004000 rw-p 00000000 00:00 0 \r
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

    #[test]
    fn reads_what_real_snapshots_contain() {
        let s = parse("m", MAPS).unwrap();
        assert_eq!(s.vmas.len(), 7);
        assert!(!s.smaps);
        assert_eq!(s.vmas[0].path, "/usr/bin/my prog");
        assert_eq!(s.vmas[1].offset, 0x2000);
        assert_eq!(s.vmas[2].path, "/memfd:buf");
        assert!(s.vmas[2].deleted);
        assert_eq!(s.vmas[3].anon_name(), Some("jit code"));
        assert_eq!(s.vmas[4].path, "");
        assert_eq!(s.vmas[6].line, 7);
        let m = model(&s, Config::default()).unwrap();
        assert_eq!(m.mm.map_count(), 6);
        assert_eq!(m.left_out.len(), 1);
        let named = m.mm.vma_at(0x7f00_0000_1000).unwrap();
        assert_eq!(
            m.mm.get(named)
                .unwrap()
                .anon_name
                .as_deref()
                .map(String::as_str),
            Some("jit code")
        );
    }

    #[test]
    fn smaps_fields_give_flags_and_anonymous_pages() {
        let text = "\
7f0000000000-7f0000002000 rw-p 00000000 00:00 0 
Size:                  8 kB
Anonymous:             4 kB
VmFlags: rd wr mr mw me ac zz
7f0000002000-7f0000004000 rw-p 00000000 00:00 0 
Anonymous:             4 kB
VmFlags: rd wr mr mw me ac
";
        let s = parse("s", text).unwrap();
        assert!(s.smaps);
        assert_eq!(s.vmas[0].anonymous_kb, Some(4));
        let want = VmFlags::READ
            | VmFlags::WRITE
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC
            | VmFlags::ACCOUNT;
        assert_eq!(s.vmas[0].flags, Some(want));
        let m = model(&s, Config::default()).unwrap();
        let v = m.mm.merge_verdicts();
        assert_eq!(v.len(), 1);
        // Nothing smaps shows keeps them apart: anon_vma identity must.
        let why = crate::maps_cmd::snapshot_reason(&v[0].verdict, true);
        assert!(why.contains("must be anon_vma identity"), "{why}");
    }

    #[test]
    fn bad_lines_are_named_by_file_and_line() {
        let cases = [
            ("7f00-7f01 rw-p 0 00:00 0\n", 1, "page aligned"),
            ("1000-2000 rw-p 0 00:00 0\ngarbage here\n", 2, "neither"),
            ("1000-2000 rwzp 0 00:00 0\n", 1, "permissions"),
            ("1000-2000 rw-p 0 0000 0\n", 1, "device"),
            ("1000-2000 rw-p 0 00:00 x\n", 1, "inode"),
            (
                "2000-3000 rw-p 0 00:00 0\n1000-2000 rw-p 0 00:00 0\n",
                2,
                "overlaps",
            ),
            ("Size: 4 kB\n", 1, "before any mapping"),
            ("1000-2000 rw-p 0 00:00 0\nVmFlags: rd !!\n", 2, "mnemonic"),
            ("1000-2000 rw-p zz 00:00 0\n", 1, "offset"),
        ];
        for (text, line, what) in cases {
            let e = parse("f.txt", text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("f.txt:{line}: ")), "{msg}");
            assert!(msg.contains(what), "{text:?}: {msg}");
        }
    }

    #[test]
    fn no_input_panics() {
        let mut built = 0;
        let mut seed = 7u64;
        let alphabet = b"0123456789abcdef-: rwxps\n[]()/";
        for _ in 0..3000 {
            let mut t = Vec::new();
            for _ in 0..(seed % 90) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                t.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let text = String::from_utf8_lossy(&t);
            if let Ok(s) = parse("fuzz", &text) {
                let _ = model(&s, Config::default());
            }
            // A random subset of real lines (which always parses), or
            // real lines followed by junk.
            let subset: Vec<&str> = MAPS
                .lines()
                .enumerate()
                .filter(|(i, _)| seed >> (i % 60) & 1 == 1)
                .map(|(_, l)| l)
                .collect();
            let mixed = if seed % 2 == 0 {
                subset.join("\n")
            } else {
                format!("{}{}", &MAPS[..MAPS.len() / 2], text)
            };
            if let Ok(s) = parse("fuzz", &mixed) {
                if let Ok(m) = model(&s, Config::default()) {
                    // And what is built on a snapshot: the report, the
                    // explanation and the picture.
                    let _ = crate::maps_cmd::report(&s, &m, Some(10));
                    let space = crate::explain::Space {
                        mm: m.mm,
                        title: String::new(),
                        window: None,
                        snapshot: Some(s),
                    };
                    let pairs = crate::explain::pairs(&space, &[]).unwrap_or_default();
                    let _ = crate::explain::explain_text(&space, &pairs);
                    let row = crate::render::row_of(&space, String::new(), None);
                    let picture = crate::render::Picture {
                        title: String::new(),
                        rows: vec![row],
                        linear: None,
                    };
                    let _ = crate::render::html(&picture);
                    built += 1;
                }
            }
        }
        assert!(
            built > 500,
            "only {built} snapshots got as far as a picture"
        );
    }
}
