// SPDX-License-Identifier: GPL-2.0-or-later
//! Parser tests: accepted forms, error positions, canonical round trip and
//! garbage input (no panics).

use super::*;
use crate::rng::Rng;

const SAMPLE: &str = "\
# merge of two adjacent anonymous mappings
name anon_adjacent_merge   # trailing comment
min-kernel 6.16
window 64
file f1 pages=16 rw
file f2 pages=2+100b ro

mmap 0 4 PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
expect = 0
mmap 8 4 PROT_READ MAP_SHARED|MAP_FIXED fd=f1 off=2
expect ok
mmap 1+100b 1 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
expect errno EINVAL
munmap abs:0xfffffffffffff000 0xFFFFb
mremap 0 4 8 MREMAP_MAYMOVE|MREMAP_FIXED 32
mremap 0 4 8
pkey_mprotect 1 2 PROT_READ -1
madvise 0 4 MADV_DONTFORK
mlock2 0 4 MLOCK_ONFAULT
mlockall MCL_CURRENT|MCL_FUTURE
munlockall
mseal 0 4
mbind 0 4 MPOL_BIND nodes=0,1 flags=MPOL_MF_STRICT
uffd-register 0 4 MISSING|WP
set-anon-name 0 4 heap
set-anon-name 0 4
memory-merge on
setrlimit RLIMIT_MEMLOCK 4 unlimited
setrlimit RLIMIT_AS 0xFFFFFFFFFFFFFFFFb 1+5b
drop-cap CAP_IPC_LOCK
sysctl vm.max_map_count 1000
repeat 3 stride=2
  mprotect 0 1 PROT_NONE   # comment
  touch read 0
end
expect = 3
touch write 3
expect signal SIGSEGV SEGV_MAPERR
fork
brk 0
expect skip
expect layout
  0-4   rw-p 0 anon [rd wr mr mw me ac]   # comment
  8-12  r--s 2 f1

  12-13 rw-p * * [+ac -lo]
end
";

#[test]
fn parses_sample() {
    let s = parse("x/sample.scenario", SAMPLE).unwrap();
    assert_eq!(s.name, "anon_adjacent_merge");
    assert_eq!(s.window_pages, 64);
    assert_eq!(s.min_kernel, Some(KernelVersion(6, 16, 0)));
    assert_eq!(s.files.len(), 2);
    assert_eq!(
        s.files[1].size,
        Amount {
            pages: 2,
            bytes: 100
        }
    );
    assert!(!s.files[1].writable);
    assert_eq!(s.steps[0].line, 8);
    assert_eq!(
        s.steps[0].expect,
        vec![Expect::Value(ExpectValue::Amount(Amount::pages(0)))]
    );
    let mmap = &s.steps[1].kind;
    assert_eq!(mmap.keyword(), "mmap");
    assert_eq!(mmap.args[4], Arg::Fd(FdArg::File("f1".into())));
    assert_eq!(mmap.args[5], Arg::Amount(Amount::pages(2)));
    assert!(matches!(&mmap.args[3], Arg::Flags(f) if f.value == 0x11));
    let munmap = &s.steps[3].kind;
    assert_eq!(munmap.keyword(), "munmap");
    assert_eq!(
        munmap.args[0],
        Arg::Addr(AddrArg::Absolute(0xffff_ffff_ffff_f000))
    );
    assert!(matches!(&munmap.args[1], Arg::Amount(l) if l.bytes == 0xffff));
    let last = s.steps.last().unwrap();
    assert_eq!(last.kind.keyword(), "brk");
    assert_eq!(
        last.kind.args,
        [Arg::Addr(AddrArg::Window(Amount::pages(0)))]
    );
    assert_eq!(last.expect.len(), 2);
    let Expect::Layout(l) = &last.expect[1] else {
        panic!()
    };
    assert_eq!(l.0.len(), 3);
}

#[test]
fn default_name_is_file_stem() {
    let s = parse("dir/my_case.scenario", "munmap 0 1\n").unwrap();
    assert_eq!(s.name, "my_case");
    assert_eq!(s.window_pages, DEFAULT_WINDOW_PAGES);
}

/// Results bound to names and far addresses print back as written.
#[test]
fn bindings_and_far_addresses_round_trip() {
    let text = "@a = mmap abs:0x0 4 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS\n\
                expect = far-4\n\
                @b2 = mremap @a+1 2 4 MREMAP_MAYMOVE\n\
                munmap @b2-1b 2\n\
                touch write far-2+100b 5\n\
                mprotect far-8 1 PROT_NONE\n\
                expect layout\n  far-8-far-7 ---p 0 anon\n  far-4-far r--p 0 anon\nend\n";
    let s = parse("t", text).unwrap();
    assert_eq!(s.steps[0].kind.bind.as_deref(), Some("a"));
    assert_eq!(
        s.steps[1].kind.args[0],
        Arg::Addr(AddrArg::Named("a".into(), Amount::pages(1)))
    );
    let again = parse("t", &s.to_string()).unwrap();
    assert_eq!(again.to_string(), s.to_string());
    assert!(s.to_string().contains("touch write far-2+100b 5"), "{s}");
}

#[test]
fn canonical_text_round_trips() {
    let s = parse("sample.scenario", SAMPLE).unwrap();
    let text = s.to_string();
    let again = parse("sample.scenario", &text).unwrap();
    let strip = |s: &Scenario| {
        let mut s = s.clone();
        for st in &mut s.steps {
            st.line = 0;
        }
        for f in &mut s.files {
            f.line = 0;
        }
        s
    };
    assert_eq!(strip(&again), strip(&s), "{text}");
    assert_eq!(again.to_string(), text);
}

/// (input, line, col, message fragment)
const BAD: &[(&str, usize, usize, &str)] = &[
    (
        "mmap 0 4 PROT_READ MAP_FIXED|MAP_BOGUS\n",
        1,
        30,
        "MAP_BOGUS",
    ),
    ("mmap 0 4 PROT_READ\n", 1, 19, "missing mmap flags"),
    ("munmap 0 1 2\n", 1, 12, "unexpected `2`"),
    ("expect ok\n", 1, 1, "before any step"),
    (
        "munmap 0 1\nexpect errno ENOTHING\n",
        2,
        14,
        "unknown errno",
    ),
    (
        "munmap 0 1\nexpect signal SIGSEGV BUS_ADRERR\n",
        2,
        23,
        "si_code",
    ),
    (
        "munmap 0 1\nexpect layout\n 0-4 rw-p 0 anon\n",
        2,
        1,
        "closing `end`",
    ),
    (
        "munmap 0 1\nexpect layout\n  0-4 rw-z 0 anon\nend\n",
        3,
        7,
        "permissions",
    ),
    (
        "munmap 0 1\nexpect layout\n0-4 rw-p 0 anon\n2-3 rw-p 0 anon\nend\n",
        5,
        1,
        "overlap",
    ),
    ("munmap 0 1\nwindow 4\n", 2, 1, "before the first step"),
    ("window 0\n", 1, 8, "window must be"),
    ("munmap @a 1\n", 1, 8, "not bound"),
    ("process_madvise MADV_COLD 0 1 @z 1\n", 1, 31, "not bound"),
    ("@a = munmap 0 1\n", 1, 6, "returns no address"),
    ("@a munmap 0 1\n", 1, 4, "expected `=`"),
    (
        "@ = mmap 0 1 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS\n",
        1,
        1,
        "no result name",
    ),
    ("munmap far*2 1\n", 1, 11, "expected `+` or `-`"),
    (
        "munmap 1 1\nexpect layout\nfar-4-far rw-p 0 anon\n0-1 rw-p 0 anon\nend\n",
        5,
        1,
        "not sorted",
    ),
    (
        "mmap 0 4 PROT_READ MAP_SHARED fd=nope\n",
        1,
        34,
        "no file named",
    ),
    ("file anon pages=1\n", 1, 6, "bad file name"),
    ("file f pages=1\nfile f pages=2\n", 2, 6, "declared twice"),
    ("file f\n", 1, 7, "missing pages"),
    (
        "file z /dev/zero\nfile y /dev/zero\n",
        2,
        17,
        "declared once",
    ),
    ("file z /dev/zero pages=2\n", 1, 25, "only a memfd"),
    ("file p pipe sealable\n", 1, 21, "only a memfd"),
    ("file s socket ro\n", 1, 17, "read-write (rw) only"),
    ("file s shm\n", 1, 11, "missing pages"),
    ("file s shm pages=1 ro\n", 1, 22, "no open mode"),
    ("file s shm pages=0\n", 1, 19, "1 byte to 1 GiB"),
    ("file s shm pages=262145\n", 1, 24, "1 byte to 1 GiB"),
    ("file s shm pages=1\nshmat s 0 SHM_FOO\n", 2, 11, "SHM_FOO"),
    ("shmat s 0\n", 1, 7, "no file named"),
    ("file k secret\n", 1, 14, "missing pages"),
    ("file k secret pages=1 ro\n", 1, 25, "opens read-write"),
    ("ftruncate nope 1\n", 1, 11, "no file named"),
    ("file f pages=1 xo\n", 1, 16, "unexpected `xo`"),
    ("frobnicate 1\n", 1, 1, "unknown step"),
    ("munmap 1+ 1\n", 1, 10, "missing number"),
    ("munmap 0x1_0000_0000_0000_0000 1\n", 1, 8, "64 bits"),
    ("min-kernel six\n", 1, 12, "kernel version"),
    ("touch poke 1\n", 1, 7, "read or write"),
    ("  end\n", 1, 3, "without `expect layout`"),
    ("munmap \u{e9}\u{e9} 1\n", 1, 8, "number"),
];

#[test]
fn errors_carry_positions() {
    for &(input, line, col, frag) in BAD {
        let e = parse("bad.scenario", input).unwrap_err();
        assert_eq!((e.line, e.col), (line, col), "{input:?}: {e}");
        assert!(e.msg.contains(frag), "{input:?}: {e}");
        assert!(e
            .to_string()
            .starts_with(&format!("bad.scenario:{line}:{col}: ")));
    }
}

#[test]
fn garbage_never_panics() {
    let alphabet: Vec<char> = "0123456789abxfABXF +-|=:#\n\t[]*!_.,\u{e9}"
        .chars()
        .collect();
    let tokens = [
        "mmap ",
        "munmap ",
        "expect ",
        "layout\n",
        "end\n",
        "= ",
        "errno ",
        "signal ",
        "0x",
        "PROT_READ",
        "MAP_FIXED",
        "abs:",
        "fd=",
        "off=",
        "nodes=",
        "file ",
        "pages=",
        "window ",
        "touch ",
        "read ",
        "mremap ",
        "b",
        "-",
        "+",
        "\n",
        " ",
        "[",
        "]",
        "rw-p ",
        "anon ",
    ];
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let n = (rng.next_u64() % 40) as usize;
        let mut s = String::new();
        for _ in 0..n {
            if rng.next_u64() % 2 == 0 {
                s.push(alphabet[(rng.next_u64() % alphabet.len() as u64) as usize]);
            } else {
                s.push_str(tokens[(rng.next_u64() % tokens.len() as u64) as usize]);
            }
        }
        if let Ok(sc) = parse("g.scenario", &s) {
            // Anything accepted must also survive its canonical form.
            parse("g.scenario", &sc.to_string()).unwrap();
        }
    }
}

#[test]
fn mutated_sample_never_panics() {
    let mut rng = Rng::new(42);
    let bytes = SAMPLE.as_bytes();
    for _ in 0..5_000 {
        let mut b = bytes.to_vec();
        for _ in 0..(1 + rng.next_u64() % 4) {
            let i = (rng.next_u64() % b.len() as u64) as usize;
            match rng.next_u64() % 3 {
                0 => b[i] = (rng.next_u64() % 128) as u8,
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, b"0 -+|#\nb"[(rng.next_u64() % 8) as usize]),
            }
        }
        let s = String::from_utf8_lossy(&b);
        if let Ok(sc) = parse("m.scenario", &s) {
            parse("m.scenario", &sc.to_string()).unwrap();
        }
    }
}

#[test]
fn expect_when_kernel_version() {
    let text = "\
madvise 0 1 MADV_GUARD_INSTALL
expect when kernel>=6.13 = 0
expect when kernel<6.18.37 ok
expect when !pku errno EINVAL
expect when kernel>=6.11 when kernel<6.17 = 0
";
    let s = parse("v.scenario", text).unwrap();
    let e = &s.steps[0].expect;
    assert_eq!(
        e[0],
        Expect::When {
            condition: Condition::Kernel {
                at_least: true,
                version: parse_version("6.13").unwrap(),
            },
            then: Box::new(Expect::Value(ExpectValue::Amount(Amount::pages(0)))),
        }
    );
    assert!(matches!(
        &e[1],
        Expect::When { condition: Condition::Kernel { at_least: false, version }, .. }
            if version.2 == 37
    ));
    let again = parse("v.scenario", &s.to_string()).unwrap();
    assert_eq!(again.to_string(), s.to_string());
    assert!(s.to_string().contains("expect when kernel<6.18.37 ok"));
    assert!(s
        .to_string()
        .contains("expect when kernel>=6.11 when kernel<6.17 = 0"));
    for bad in [
        "kernel>6.13",
        "kernel>=6",
        "kernel<=6.1",
        "kernel",
        "kernel>=x.y",
    ] {
        let t = format!("madvise 0 1 MADV_GUARD_INSTALL\nexpect when {bad} ok\n");
        assert!(parse("v.scenario", &t).is_err(), "{bad}");
    }
}

#[test]
fn kernel_condition_holds_by_version() {
    let c = Condition::Kernel {
        at_least: true,
        version: parse_version("6.13").unwrap(),
    };
    let m = crate::host::Features::default();
    assert_eq!(c.holds(parse_version("6.12.118"), &m), Some(false));
    assert_eq!(c.holds(parse_version("6.13"), &m), Some(true));
    assert_eq!(c.holds(None, &m), None);
}

#[test]
fn repeat_blocks() {
    let s = parse(
        "r",
        "repeat 2\n\n  munlockall\nmunmap 0 1\nend\nexpect ok\nmunmap 0 1\n",
    )
    .unwrap();
    assert_eq!(s.steps.len(), 2);
    assert_eq!(s.steps[0].kind.body.len(), 2);
    assert_eq!(s.steps[0].expect, vec![Expect::Ok]);
    assert_eq!(s.steps[1].line, 7);
    let bad = [
        ("repeat 0\nmunlockall\nend\n", 1, "count"),
        ("repeat 2000000\nmunlockall\nend\n", 1, "count"),
        ("repeat 2 stride=1+5b\nmunlockall\nend\n", 1, "whole pages"),
        ("repeat 2\nend\n", 1, "without steps"),
        ("repeat 2\nmunlockall\n", 1, "without a closing"),
        (
            "repeat 2\nmunlockall\nexpect ok\nend\n",
            3,
            "inside a `repeat`",
        ),
        ("repeat 2\nrepeat 2\nend\nend\n", 2, "inside a `repeat`"),
        ("repeat 2\nmunlockall\nend x\n", 3, "unexpected"),
        ("repeat 2\nmunmap 0\nend\n", 2, "missing"),
        ("repeat 2\nfork\nend\n", 2, "`fork` inside"),
        ("end\n", 1, "without"),
    ];
    for (text, line, msg) in bad {
        let e = parse("r", text).unwrap_err();
        assert_eq!(e.line, line, "{text}: {e}");
        assert!(e.msg.contains(msg), "{text}: {e}");
    }
}

#[test]
fn limits_capabilities_and_sysctls() {
    let s = parse("l", "setrlimit RLIMIT_AS unlimited 4\n").unwrap();
    assert_eq!(s.steps[0].kind.args[1], Arg::Amount(UNLIMITED));
    assert_eq!(
        s.steps[0].kind.to_string(),
        "setrlimit RLIMIT_AS unlimited 4"
    );
    for (text, msg) in [
        ("setrlimit RLIMIT_NOFILE 1 1\n", "not a resource"),
        ("setrlimit RLIMIT_AS 1\n", "missing a hard limit"),
        ("setrlimit RLIMIT_AS -1 1\n", ""),
        ("drop-cap CAP_NOPE\n", "not a capability"),
        ("sysctl kernel.pid_max 1\n", "not a sysctl"),
        ("sysctl vm.max_map_count\n", "missing a value"),
    ] {
        // A negative limit parses (and is refused when resolved: the lab's
        // tests run it on the model).
        if let Err(e) = parse("l", text) {
            assert!(e.msg.contains(msg), "{text}: {e}");
        }
    }
}

#[test]
fn touch_write_values() {
    let s = parse("t", "touch write 3 0x5a\ntouch write 3 1\ntouch read 3\n").unwrap();
    assert_eq!(s.steps[0].kind.args[2], Arg::Int(0x5a));
    assert_eq!(s.steps[0].kind.to_string(), "touch write 3 90");
    assert_eq!(s.steps[1].kind.to_string(), "touch write 3");
    for (text, msg) in [
        ("touch write 3 256\n", "0..=255"),
        ("touch write 3 -1\n", "0..=255"),
        ("touch read 3 1\n", "only `touch write`"),
        ("touch write 3 1 2\n", "unexpected"),
    ] {
        let e = parse("t", text).unwrap_err();
        assert!(e.msg.contains(msg), "{text}: {e}");
    }
}

/// Files beyond memfds: open modes, /dev/zero, pipes and directories,
/// printed back as written; file steps name them.
#[test]
fn file_sources_and_modes() {
    let dirs = parse("t", "file d dir\nfile o pages=1 path\nfile e dir path\n").unwrap();
    let modes: Vec<(FileSource, bool, bool)> = dirs
        .files
        .iter()
        .map(|f| (f.source, f.readable, f.writable))
        .collect();
    assert_eq!(
        modes,
        [
            (FileSource::Dir, true, false),
            (FileSource::Memfd, false, false),
            (FileSource::Dir, false, false)
        ]
    );
    let again = parse("t", &dirs.to_string()).unwrap();
    assert_eq!(again.files, {
        let mut f = dirs.files.clone();
        for (a, b) in f.iter_mut().zip(&again.files) {
            a.line = b.line;
        }
        f
    });
    assert!(parse("t", "file d dir rw\n").is_err());
    let text = "file w pages=2 wo sealable\nfile z /dev/zero ro\nfile p pipe\nfile s socket\n\
                ftruncate w 1\nadd-seals w F_SEAL_GROW|F_SEAL_SHRINK\npwrite w 3 7\n\
                fallocate w FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE 0 1\n";
    let s = parse("t", text).unwrap();
    assert_eq!(s.files[0].source, FileSource::Memfd);
    assert!(!s.files[0].readable && s.files[0].writable && s.files[0].sealable);
    assert_eq!(s.files[1].source, FileSource::DevZero);
    assert!(s.files[1].readable && !s.files[1].writable);
    assert_eq!(s.files[2].source, FileSource::Pipe);
    assert_eq!(s.files[3].source, FileSource::Socket);
    assert!(s.files[3].readable && s.files[3].writable);
    let again = parse("t", &s.to_string()).unwrap();
    let unlined = |f: &[FileDecl]| -> Vec<FileDecl> {
        f.iter()
            .map(|d| FileDecl {
                line: 0,
                ..d.clone()
            })
            .collect()
    };
    assert_eq!(unlined(&again.files), unlined(&s.files));
    assert_eq!(again.steps.len(), 4);
    assert_eq!(s.steps[0].kind.to_string(), "ftruncate w 1");
    assert_eq!(s.steps[2].kind.to_string(), "pwrite w 3 7");
}

/// A vector of ranges: any number of `ADDR LEN` pairs up to a `KEY=`
/// word, printed back as written; a pair cut short is an error, and the
/// window rule checks every pair.
#[test]
fn range_vectors() {
    let s = parse(
        "t",
        "process_madvise MADV_COLD 0 2 4+1b 3 flags=1\nprocess_madvise 999\n",
    )
    .unwrap();
    assert_eq!(
        s.steps[0].kind.to_string(),
        "process_madvise MADV_COLD 0 2 4+1b 3 flags=1"
    );
    assert_eq!(s.steps[1].kind.to_string(), "process_madvise 999");
    let e = parse("t", "process_madvise MADV_COLD 0 2 4\n").unwrap_err();
    assert!(e.msg.contains("length"), "{e}");
    let w = crate::window::Window {
        base: 1 << 40,
        pages: 8,
        page_size: 4096,
        far: None,
    };
    let s = parse("t", "process_madvise MADV_COLD 0 2 7 2\n").unwrap();
    assert!(matches!(
        w.admit(&s.steps[0].kind),
        crate::window::Admission::Refuse(_)
    ));
}

/// SysV segments: declared with a size, attached and detached by name,
/// printed back as written; an attach at an address must fit the window
/// with the whole segment (0 is the kernel's choice).
#[test]
fn sysv_segments() {
    let text = "file s shm pages=4\n@a = shmat s abs:0\nshmat s 4 SHM_RDONLY|SHM_RND\n\
                shmat s 6\nshmat s 0+1b SHM_RND|SHM_REMAP\nshmat s abs:100 SHM_RND|SHM_REMAP\n\
                shmat s abs:100 SHM_RND\nshmdt 4\n";
    let s = parse("t", text).unwrap();
    assert_eq!(s.files[0].source, FileSource::Shm);
    assert_eq!(s.steps[0].kind.to_string(), "@a = shmat s abs:0x0 0");
    assert_eq!(s.steps[1].kind.to_string(), "shmat s 4 SHM_RDONLY|SHM_RND");
    let again = parse("t", &s.to_string()).unwrap();
    assert_eq!(again.files[0].size, s.files[0].size);
    assert_eq!(again.files[0].source, FileSource::Shm);
    let w = crate::window::Window {
        base: 1 << 40,
        pages: 8,
        page_size: 4096,
        far: None,
    };
    let ok: Vec<bool> = s
        .steps
        .iter()
        .map(|st| w.admit_segments(&st.kind, &s.files).is_ok())
        .collect();
    assert_eq!(ok, [true, true, false, true, true, false, true]);
}
