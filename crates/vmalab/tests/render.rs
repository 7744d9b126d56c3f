// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab render` checked in a real browser: headless Chromium opens the
//! HTML, and the page's self-check (filled in by the browser: VMAs laid
//! out with a size, what is found at their centres, the fill resolved per
//! permission) is read back from the DOM. Skipped, with the reason
//! printed, where Chromium is not installed (Debian: `chromium`).

mod common;
use common::vmalab;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vmalab-render-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Chromium's DOM of `page` after its scripts ran.
fn dump_dom(browser: &str, page: &Path, extra: &[&str]) -> String {
    let url = format!("file://{}", page.display());
    let out = Command::new("timeout")
        .arg("300")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1450,1000",
            "--virtual-time-budget=2000",
        ])
        .args(extra)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A number from the self-check's JSON.
fn field(drawn: &str, key: &str) -> u64 {
    let k = format!("\"{key}\":");
    let at = drawn
        .find(&k)
        .unwrap_or_else(|| panic!("no {key} in {drawn}"))
        + k.len();
    drawn[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// The self-check the page wrote into `<pre id="drawn">`.
fn self_check(dom: &str) -> String {
    let start = dom
        .find("<pre id=\"drawn\">")
        .expect("no #drawn in the DOM")
        + 16;
    let end = dom[start..].find("</pre>").unwrap() + start;
    dom[start..end].replace("&quot;", "\"")
}

#[test]
fn a_scenario_timeline_is_drawn_in_chromium() {
    let sc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/merge/anon_vma_blocks_merge.scenario"
    );
    let html = temp("timeline.html");
    let (code, out) = vmalab(&["render", sc, "-o", html.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        !page.contains("http://") || !page.contains("src=\"http"),
        "no network references"
    );
    let vmas = page.matches("<rect class=\"vma").count() as u64;
    // Five steps; the last row holds the window's two guards and the two
    // 4-page VMAs that stayed apart, with an anon_vma boundary between.
    assert_eq!(page.matches("class=\"rowlabel\"").count(), 5);
    assert!(
        page.contains("data-class=\"anon_vma\""),
        "no anon_vma boundary"
    );
    let svg = temp("timeline.svg");
    let (code, out) = vmalab(&["render", sc, "-o", svg.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<?xml") && svg_text.trim_end().ends_with("</svg>"));
    assert_eq!(svg_text.matches("<rect class=\"vma").count() as u64, vmas);

    let (code, out) = vmalab(&["render", sc, "-o", "/tmp/picture.png"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(".svg or .html"), "{out}");

    let Some(browser) = chromium() else {
        println!("skipped the browser check: chromium is not installed");
        return;
    };
    let dom = dump_dom(browser, &html, &[]);
    let drawn = self_check(&dom);
    println!("{drawn}");
    assert_eq!(field(&drawn, "vmas"), vmas, "{drawn}");
    assert_eq!(
        field(&drawn, "drawn"),
        vmas,
        "every VMA has a size on screen: {drawn}"
    );
    let tried = field(&drawn, "tried");
    assert!(tried >= vmas - 2, "{drawn}");
    assert_eq!(
        field(&drawn, "hits"),
        tried,
        "the VMA is what is at its centre: {drawn}"
    );
    assert!(drawn.contains("\"rw-p\":\"rgb(129, 201, 149)\""), "{drawn}");
    assert!(field(&drawn, "boundaries") >= 5, "{drawn}");
}

#[test]
fn a_60000_vma_snapshot_renders_and_chromium_screenshots_it() {
    // A JVM-like address space: 60,000 mappings alternating reserved and
    // committed pages, a few files, holes every so often.
    let mut text = String::new();
    let mut at: u64 = 0x7f00_0000_0000;
    for i in 0..60_000u64 {
        let pages = 1 + (i * 7919) % 32;
        let (perms, ino, path) = match i % 5 {
            0 => ("---p", 0, ""),
            1 | 2 => ("rw-p", 0, ""),
            3 => ("r--p", 1000 + i % 7, "/usr/lib/libbig thing.so"),
            _ => ("r-xp", 1000 + i % 7, "/usr/lib/libbig thing.so"),
        };
        let dev = if ino == 0 { "00:00" } else { "08:01" };
        text.push_str(&format!(
            "{:x}-{:x} {perms} {:08x} {dev} {ino} {path}\n",
            at,
            at + pages * 4096,
            (i % 64) * 4096
        ));
        at += pages * 4096;
        if i % 97 == 0 {
            at += (1 + i % 1000) * 4096;
        }
    }
    let maps = temp("big.maps");
    std::fs::write(&maps, &text).unwrap();
    let html = temp("big.html");
    let t = std::time::Instant::now();
    let (code, out) = vmalab(&[
        "render",
        maps.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("60000 VMAs drawn"), "{out}");
    println!(
        "rendered in {:?}, {} bytes",
        t.elapsed(),
        std::fs::metadata(&html).unwrap().len()
    );
    let (code, out) = vmalab(&["maps", maps.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("60000 VMAs"), "{out}");

    let Some(browser) = chromium() else {
        println!("skipped the browser check: chromium is not installed");
        return;
    };
    let t = std::time::Instant::now();
    let dom = dump_dom(browser, &html, &[]);
    let drawn = self_check(&dom);
    println!("chromium laid it out in {:?}: {drawn}", t.elapsed());
    assert_eq!(field(&drawn, "vmas"), 60_000);
    assert_eq!(field(&drawn, "drawn"), 60_000, "{drawn}");
    let tried = field(&drawn, "tried");
    assert!(tried > 100, "{drawn}");
    assert_eq!(field(&drawn, "hits"), tried, "{drawn}");
    let png = temp("big.png");
    let status = Command::new("timeout")
        .arg("300")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1450,1000",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(status.status.success(), "{status:?}");
    let shot = std::fs::read(&png).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 10_000,
        "{} bytes",
        shot.len()
    );
    let _ = std::fs::remove_dir_all(html.parent().unwrap());
}
