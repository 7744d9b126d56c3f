// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab render INPUT -o OUT.svg|OUT.html`: a picture of an address
//! space. VMAs are coloured by permissions (shared ones outlined with a
//! dashed line), labelled, and every boundary between neighbours that did
//! not merge is marked with the verdict of the model's merge rules.
//!
//! A scenario is drawn as a timeline: one row per step, its window to
//! scale, so splits and merges show from row to row. A trace is a timeline
//! too: one row per call that changed a layout, showing the VMAs around the
//! change. A snapshot, and each row of a trace, is drawn as a flow of VMAs
//! over lines, each VMA's width growing with the
//! logarithm of its size and each hole drawn as a short hatched spacer
//! (an address space spans 128 TiB; its VMAs are pages). The file is
//! self-contained: no fonts, scripts or styles from anywhere else. The
//! HTML form adds hover details, zoom, and a self-check that a browser
//! fills in (which VMAs it laid out, and what it found at their centres).

use std::borrow::Borrow;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::bail;
use vma::verdict::{MergeVerdict, NoMerge};
use vma::Mm;

use crate::explain::{read_input, scenario_space, Input, Space};
use crate::host::HostConfig;

/// One VMA to draw.
#[derive(Clone, Debug)]
pub struct Seg {
    pub start: u64,
    pub end: u64,
    /// `rwxp`.
    pub perms: [u8; 4],
    /// Short label (file name, `[heap]`, ...).
    pub name: String,
    /// Hover text.
    pub detail: String,
}

/// A boundary between neighbours that did not merge.
#[derive(Clone, Debug)]
pub struct Mark {
    /// The address where the upper VMA starts.
    pub at: u64,
    /// Rule class, for the colour: `flags`, `anon_vma`, `file`, `offset`,
    /// `special`, `merges`, `other`.
    pub class: &'static str,
    pub words: String,
}

/// One address space.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub label: String,
    pub segs: Vec<Seg>,
    pub marks: Vec<Mark>,
}

/// What to draw.
#[derive(Clone, Debug)]
pub struct Picture {
    pub title: String,
    pub rows: Vec<Row>,
    /// Draw `[lo, hi)` to scale (a scenario's window); otherwise flow.
    pub linear: Option<(u64, u64)>,
}

/// The colour of a VMA with these permissions.
pub fn fill(perms: &[u8; 4]) -> &'static str {
    match &perms[..3] {
        b"---" => "#d0d0d0",
        b"r--" => "#8ab4f8",
        b"rw-" => "#81c995",
        b"r-x" => "#f28b82",
        b"rwx" => "#c58af9",
        _ => "#fdd663",
    }
}

fn mark_colour(class: &str) -> &'static str {
    match class {
        "flags" => "#e8710a",
        "anon_vma" => "#9334e6",
        "file" => "#1a73e8",
        "offset" => "#129eaf",
        "special" => "#202124",
        "merges" => "#188038",
        _ => "#d93025",
    }
}

fn class_of(v: &MergeVerdict) -> &'static str {
    match v {
        MergeVerdict::Merges => "merges",
        MergeVerdict::Refused(why) => match why {
            NoMerge::FlagsDiffer { .. } => "flags",
            NoMerge::AnonVma(_) | NoMerge::PrevNextAnonVma => "anon_vma",
            NoMerge::FileDiffers => "file",
            NoMerge::PgoffDiscontiguous { .. } => "offset",
            NoMerge::Special { .. } => "special",
            _ => "other",
        },
    }
}

/// The row of one address space: its VMAs within `range` (all if `None`)
/// and its merge-blocking boundaries.
pub fn row_of<M: Borrow<Mm>>(space: &Space<M>, label: String, range: Option<(u64, u64)>) -> Row {
    let mm: &Mm = space.mm.borrow();
    let inside = |s: u64, e: u64| range.is_none_or(|(lo, hi)| s < hi && e > lo);
    let mut row = Row {
        label,
        ..Default::default()
    };
    for (id, v) in mm.vmas() {
        if !inside(v.start, v.end) {
            continue;
        }
        let e = mm.map_entry(v);
        let label = space.label(id);
        let full = space.name(id);
        let name = if full.starts_with('[') {
            full
        } else {
            full.rsplit('/').next().unwrap_or("").to_string()
        };
        let detail = format!(
            "{label}\n{:#x}-{:#x} ({} pages), offset {:#x}\nVmFlags: {}{}",
            v.start,
            v.end,
            v.pages(),
            e.offset,
            v.flags.smaps(),
            if v.anon_vma.is_some() {
                "\nhas an anon_vma"
            } else {
                ""
            }
        );
        row.segs.push(Seg {
            start: v.start,
            end: v.end,
            perms: e.perms,
            name,
            detail,
        });
    }
    for p in mm.merge_verdicts() {
        let Some(u) = mm.get(p.upper) else { continue };
        if !inside(u.start, u.start + 1) {
            continue;
        }
        row.marks.push(Mark {
            at: u.start,
            class: class_of(&p.verdict),
            words: space.words(&p.verdict),
        });
    }
    row
}

/// The picture of an input: a scenario's timeline (up to step `at`), or a
/// trace's or snapshot's address space.
pub fn picture(path: &Path, at: Option<u64>) -> anyhow::Result<Picture> {
    match read_input(path)? {
        Input::Scenario(sc) => {
            let host = HostConfig::detect();
            let n = at.map_or(sc.steps.len(), |a| (a as usize).min(sc.steps.len()));
            let mut rows = Vec::new();
            let mut linear = None;
            for k in 1..=n {
                let space = match scenario_space(&sc, &host, Some(k)) {
                    Ok(s) => s,
                    Err(why) => bail!("{}: skipped: {why}", path.display()),
                };
                let Some(w) = space.window else {
                    bail!("{}: the model run has no window", path.display());
                };
                let range = (
                    w.base.saturating_sub(w.page_size),
                    w.end().saturating_add(w.page_size),
                );
                linear = Some(range);
                let step = &sc.steps[k - 1];
                let label = format!("{k}. L{} {}", step.line, step.kind);
                rows.push(row_of(&space, label, Some(range)));
            }
            if rows.is_empty() {
                bail!("{}: the scenario has no steps to draw", path.display());
            }
            Ok(Picture {
                title: format!("scenario {}", sc.name),
                rows,
                linear,
            })
        }
        Input::Trace(path) => trace_timeline(&path, at),
        input => {
            let space = crate::explain::load(input, at)?;
            let row = row_of(&space, String::new(), None);
            Ok(Picture {
                title: space.title.clone(),
                rows: vec![row],
                linear: None,
            })
        }
    }
}

/// The most rows a trace's timeline draws: past it the page would be too
/// long to read (the title says how many changes were left out).
const MAX_TRACE_ROWS: usize = 400;

/// One VMA of a layout, as far as a change to it shows.
type VmaKey = (u64, u64, u64, u64);

/// A trace drawn as a timeline (up to call `at`): one row per call that
/// changed its address space's layout, showing the VMAs the call created,
/// removed or reshaped and one neighbour on each side, labelled with the
/// call and the address space that made it.
fn trace_timeline(path: &Path, at: Option<u64>) -> anyhow::Result<Picture> {
    let mut before: std::collections::HashMap<usize, Vec<VmaKey>> = Default::default();
    let mut rows = Vec::new();
    let mut changes = 0usize;
    crate::shadow::trace::replay_each(path, at, &mut |r| {
        let now: Vec<VmaKey> =
            r.mm.vmas()
                .map(|(_, v)| (v.start, v.end, v.flags.0, v.pgoff))
                .collect();
        let old = before.insert(r.space, now.clone());
        let Some((lo, hi)) = changed_span(old.as_deref().unwrap_or_default(), &now) else {
            return;
        };
        // The layout before a space's first call is not in the trace: that
        // row draws the whole space as the call left it.
        let first = if old.is_none() { ", first seen" } else { "" };
        changes += 1;
        if rows.len() < MAX_TRACE_ROWS {
            let space = Space {
                mm: r.mm,
                title: String::new(),
                window: None,
                snapshot: None,
            };
            let label = format!("call {} (space {}{first}): {}", r.number, r.space, r.call);
            rows.push(row_of(&space, label, Some(widen(r.mm, lo, hi))));
        }
    })?;
    if rows.is_empty() {
        bail!("{}: no call of the trace changed a layout", path.display());
    }
    let shown = if changes > rows.len() {
        format!(" (the first {} of {changes} changes)", rows.len())
    } else {
        String::new()
    };
    Ok(Picture {
        title: format!("trace {}{shown}", path.display()),
        rows,
        linear: None,
    })
}

/// The span `[lo, hi)` of the VMAs that differ between two layouts (sorted
/// by start), `None` if they are the same.
fn changed_span(old: &[VmaKey], now: &[VmaKey]) -> Option<(u64, u64)> {
    let only_in = |a: &[VmaKey], b: &[VmaKey]| -> Vec<VmaKey> {
        a.iter()
            .filter(|k| b.binary_search(k).is_err())
            .copied()
            .collect()
    };
    let diff: Vec<VmaKey> = [only_in(old, now), only_in(now, old)].concat();
    let lo = diff.iter().map(|k| k.0).min()?;
    let hi = diff.iter().map(|k| k.1).max()?;
    Some((lo, hi))
}

/// `[lo, hi)` grown to take in the VMA just below and the one just above.
fn widen(mm: &Mm, lo: u64, hi: u64) -> (u64, u64) {
    let below = mm
        .vmas()
        .take_while(|(_, v)| v.start < lo)
        .last()
        .map_or(lo, |(_, v)| v.start.min(lo));
    let above = mm
        .vmas()
        .find(|(_, v)| v.end > hi)
        .map_or(hi, |(_, v)| v.end.max(hi));
    (below, above)
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Characters of a label that fit in `width` pixels.
fn fit(name: &str, width: f64) -> Option<String> {
    let n = ((width - 6.0) / 6.5) as usize;
    if n < 3 || name.is_empty() {
        return None;
    }
    if name.chars().count() <= n {
        return Some(name.to_string());
    }
    let mut s: String = name.chars().take(n - 1).collect();
    s.push('…');
    Some(s)
}

const BAR: f64 = 22.0;
const LINE: f64 = 36.0;
const WIDTH: f64 = 1400.0;
const GUTTER: f64 = 120.0;
const LEGEND: f64 = 40.0;

/// Where the picture goes: a plain SVG carries its hover texts as
/// `<title>`s; the HTML page keeps them in attributes (and the verdicts,
/// which repeat, once each in a table) for its script.
struct Writer {
    out: String,
    html: bool,
    words: Vec<String>,
    index: std::collections::HashMap<String, usize>,
}

impl Writer {
    fn new(html: bool) -> Writer {
        Writer {
            out: String::new(),
            html,
            words: Vec::new(),
            index: Default::default(),
        }
    }

    /// A rectangle of one VMA, with its label if it fits.
    fn seg(&mut self, s: &Seg, x: f64, y: f64, w: f64) {
        let perms = std::str::from_utf8(&s.perms).unwrap_or("????");
        let shared = if s.perms[3] == b's' { " s" } else { "" };
        let out = &mut self.out;
        let _ = write!(
            out,
            "<rect class=\"vma{shared}\" data-perms=\"{perms}\" x=\"{x:.1}\" y=\"{y:.1}\" \
             width=\"{w:.1}\" height=\"{BAR}\" fill=\"{}\"",
            fill(&s.perms)
        );
        if self.html {
            let _ = writeln!(out, " data-d=\"{}\"/>", esc(&s.detail));
        } else {
            let _ = writeln!(out, "><title>{}</title></rect>", esc(&s.detail));
        }
        if let Some(t) = fit(&s.name, w) {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" pointer-events=\"none\">{}</text>",
                x + 3.0,
                y + 15.0,
                esc(&t)
            );
        }
    }

    /// A merge-blocking boundary at `x`.
    fn mark(&mut self, m: &Mark, x: f64, y: f64) {
        let _ = write!(
            self.out,
            "<line class=\"boundary b-{}\" data-class=\"{}\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"",
            m.class,
            m.class,
            y - 5.0,
            y + BAR + 5.0
        );
        if self.html {
            let next = self.words.len();
            let i = *self.index.entry(m.words.clone()).or_insert(next);
            if i == next {
                self.words.push(m.words.clone());
            }
            let _ = writeln!(self.out, " data-v=\"{i}\"/>");
        } else {
            let _ = writeln!(self.out, "><title>{}</title></line>", esc(&m.words));
        }
    }
}

fn legend(out: &mut String) {
    let items: [(&str, &str); 6] = [
        ("---", "#d0d0d0"),
        ("r--", "#8ab4f8"),
        ("rw-", "#81c995"),
        ("r-x", "#f28b82"),
        ("rwx", "#c58af9"),
        ("other", "#fdd663"),
    ];
    let mut x = 8.0;
    for (t, c) in items {
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"8\" width=\"14\" height=\"14\" fill=\"{c}\" stroke=\"#3c4043\"/>\
             <text x=\"{}\" y=\"20\" font-size=\"12\">{t}</text>",
            x + 18.0
        );
        x += 70.0;
    }
    let marks = [
        ("flags", "flags differ"),
        ("anon_vma", "anon_vma"),
        ("file", "file"),
        ("offset", "offset"),
        ("special", "special"),
        ("merges", "would merge"),
        ("other", "other"),
    ];
    for (class, t) in marks {
        let c = mark_colour(class);
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"6\" x2=\"{x}\" y2=\"24\" stroke=\"{c}\" stroke-width=\"3\"/>\
             <text x=\"{}\" y=\"20\" font-size=\"12\">{t}</text>",
            x + 6.0
        );
        x += 18.0 + 7.0 * t.len() as f64;
    }
    let _ = write!(
        out,
        "<text x=\"{x}\" y=\"20\" font-size=\"12\">dashed outline: shared</text>"
    );
}

/// Styles of the drawing (inside the SVG, so a plain SVG has them too).
fn svg_style() -> String {
    let mut s = String::from(
        ".vma{stroke:#3c4043;stroke-width:.6}.vma.s{stroke-dasharray:4 2}\
         .boundary{stroke-width:3}.b-merges{stroke-dasharray:2 2}",
    );
    for c in [
        "flags", "anon_vma", "file", "offset", "special", "merges", "other",
    ] {
        let _ = write!(s, ".b-{c}{{stroke:{}}}", mark_colour(c));
    }
    s
}

/// The picture as an SVG document (no XML declaration: it also goes
/// inline into HTML), and for HTML the verdict table its boundaries index.
fn draw(p: &Picture, html: bool) -> (String, Vec<String>) {
    let mut w = Writer::new(html);
    let height;
    match p.linear {
        Some((lo, hi)) => {
            let label_w = 430.0;
            let span = (hi - lo).max(1) as f64;
            let scale = (WIDTH - label_w) / span;
            for (i, row) in p.rows.iter().enumerate() {
                let y = LEGEND + 10.0 + i as f64 * LINE;
                let _ = writeln!(
                    w.out,
                    "<text class=\"rowlabel\" x=\"4\" y=\"{:.1}\" font-size=\"11\">{}</text>",
                    y + 15.0,
                    esc(&fit(&row.label, label_w - 8.0).unwrap_or_default())
                );
                let _ = writeln!(
                    w.out,
                    "<rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" fill=\"#ffffff\" stroke=\"#dadce0\"/>",
                    WIDTH - label_w
                );
                for s in &row.segs {
                    let a = s.start.max(lo);
                    let b = s.end.min(hi);
                    let x = label_w + (a - lo) as f64 * scale;
                    w.seg(s, x, y, ((b - a) as f64 * scale).max(1.0));
                }
                for m in &row.marks {
                    w.mark(m, label_w + (m.at - lo) as f64 * scale, y);
                }
            }
            height = LEGEND + 20.0 + p.rows.len() as f64 * LINE;
        }
        None => {
            let mut y = LEGEND + 10.0;
            for row in &p.rows {
                if !row.label.is_empty() {
                    // A timeline's row names its call above its VMAs.
                    let _ = writeln!(
                        w.out,
                        "<text class=\"rowlabel\" x=\"4\" y=\"{:.1}\" font-size=\"11\">{}</text>",
                        y + 12.0,
                        esc(&fit(&row.label, WIDTH - 8.0).unwrap_or_default())
                    );
                    y += 18.0;
                }
                y = flow_row(&mut w, row, y) + LINE;
            }
            height = y;
        }
    }
    let mut out = String::with_capacity(w.out.len() + 2048);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"picture\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\">\n<title>{}</title>\n<style>{}</style>\n",
        esc(&p.title),
        svg_style()
    );
    legend(&mut out);
    out.push('\n');
    out.push_str(&w.out);
    out.push_str("</svg>\n");
    (out, w.words)
}

/// The picture as an SVG document.
pub fn svg(p: &Picture) -> String {
    draw(p, false).0
}

/// Lays out one address space as a flow of VMAs and hole spacers from
/// `y`; returns the y of its last line.
fn flow_row(w: &mut Writer, row: &Row, mut y: f64) -> f64 {
    let lg = |x: u64| 64.0 - f64::from(x.max(1).leading_zeros());
    let page = 4096;
    let mut x = GUTTER;
    let mut last_end: Option<u64> = None;
    let mut line_start = true;
    let mut marks = row.marks.iter().peekable();
    let newline = |out: &mut String, y: &mut f64, x: &mut f64, at: u64| {
        *y += LINE;
        *x = GUTTER;
        let _ = writeln!(
            out,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"10\" fill=\"#5f6368\">{at:x}</text>",
            *y + 15.0
        );
    };
    if let Some(first) = row.segs.first() {
        y -= LINE;
        newline(&mut w.out, &mut y, &mut x, first.start);
    }
    for s in &row.segs {
        if let Some(e) = last_end {
            if s.start > e {
                let gw = 4.0 + lg((s.start - e) / page);
                if x + gw > WIDTH {
                    newline(&mut w.out, &mut y, &mut x, s.start);
                } else {
                    let _ = writeln!(
                        w.out,
                        "<rect class=\"gap\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{gw:.1}\" height=\"{:.1}\" \
                         fill=\"#f1f3f4\"><title>hole {e:#x}-{:#x}</title></rect>",
                        y + 6.0,
                        BAR - 12.0,
                        s.start
                    );
                    x += gw;
                }
            }
        }
        let width = (8.0 + 8.0 * lg((s.end - s.start) / page)).min(WIDTH - GUTTER);
        if x + width > WIDTH && !line_start {
            newline(&mut w.out, &mut y, &mut x, s.start);
        }
        line_start = false;
        w.seg(s, x, y, width);
        while let Some(m) = marks.next_if(|m| m.at <= s.start) {
            if m.at == s.start {
                w.mark(m, x, y);
            }
        }
        x += width;
        last_end = Some(s.end);
    }
    y
}

/// The interactive page: the SVG inline, hover details, zoom, and a
/// self-check a browser fills in (`#drawn`).
pub fn html(p: &Picture) -> String {
    let (svg, words) = draw(p, true);
    let mut out = String::with_capacity(svg.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title>\n<style>{STYLE}</style></head>\n<body>\n<h1>{}</h1>\n\
         <div id=\"bar\"><button id=\"zin\">+</button><button id=\"zout\">&#8722;</button>\
         <button id=\"zfit\">fit</button> <span>{} row(s); hover a VMA or a boundary</span></div>\n\
         <pre id=\"info\"></pre>\n<div id=\"wrap\">\n",
        esc(&p.title),
        esc(&p.title),
        p.rows.len()
    );
    out.push_str(&svg);
    out.push_str("</div>\n<pre id=\"drawn\"></pre>\n<script>\nvar VERDICTS=[");
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&js_string(w));
    }
    out.push_str("];\n");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body></html>\n");
    out
}

/// `s` as a JavaScript string literal that is safe inside `<script>`.
fn js_string(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '<' => o.push_str("\\u003c"),
            c if (c as u32) < 0x20 => o.push(' '),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

const STYLE: &str = "body{font-family:sans-serif;margin:8px}h1{font-size:16px;margin:4px 0}\
#info{position:sticky;top:0;background:#fffbe6;border:1px solid #e0d080;min-height:3.6em;\
margin:4px 0;padding:4px;white-space:pre-wrap;font-size:12px;z-index:1}\
#wrap{overflow:auto;border:1px solid #dadce0}#drawn{display:none}\
.vma:hover{stroke:#000;stroke-width:2}.boundary:hover{stroke-width:6}";

/// Hover details, zoom, and the self-check: how many VMAs the browser
/// laid out with a size, what it finds at the centre of each visible one,
/// and the fill it resolved per permission.
const SCRIPT: &str = r#"
(function(){
var svg=document.getElementById('picture'),info=document.getElementById('info');
var w0=svg.width.baseVal.value,h0=svg.height.baseVal.value,z=1;
function zoom(f){z=f?z*f:1;svg.setAttribute('width',w0*z);svg.setAttribute('height',h0*z);}
document.getElementById('zin').onclick=function(){zoom(1.5)};
document.getElementById('zout').onclick=function(){zoom(1/1.5)};
document.getElementById('zfit').onclick=function(){zoom(0)};
svg.addEventListener('mouseover',function(e){var t=e.target;
 if(t.hasAttribute('data-d'))info.textContent=t.getAttribute('data-d');
 else if(t.hasAttribute('data-v'))info.textContent=VERDICTS[+t.getAttribute('data-v')];});
var vmas=document.querySelectorAll('.vma'),drawn=0,hits=0,tried=0,fills={};
var vw=window.innerWidth,vh=window.innerHeight;
for(var i=0;i<vmas.length;i++){var r=vmas[i].getBoundingClientRect();
 if(r.width>0&&r.height>0)drawn++;
 var cx=r.left+r.width/2,cy=r.top+r.height/2;
 if(r.width>=2&&cx>0&&cy>0&&cx<vw&&cy<vh){tried++;var el=document.elementFromPoint(cx,cy);
  if(el===vmas[i])hits++;}
 var p=vmas[i].getAttribute('data-perms');if(!(p in fills))fills[p]=getComputedStyle(vmas[i]).fill;}
document.getElementById('drawn').textContent=JSON.stringify({vmas:vmas.length,drawn:drawn,
 boundaries:document.querySelectorAll('.boundary').length,tried:tried,hits:hits,fills:fills});
})();
"#;

/// `vmalab render INPUT -o OUT`: `.svg` or `.html` by the extension.
pub fn render_command(input: &Path, out: &Path, at: Option<u64>) -> anyhow::Result<bool> {
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    let p = picture(input, at)?;
    let text = match ext {
        "svg" => format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", svg(&p)),
        "html" | "htm" => html(&p),
        _ => bail!("{}: the output must end in .svg or .html", out.display()),
    };
    std::fs::write(out, text).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let vmas: usize = p.rows.iter().map(|r| r.segs.len()).sum();
    println!(
        "{}: {} row(s), {vmas} VMAs drawn",
        out.display(),
        p.rows.len()
    );
    Ok(true)
}
