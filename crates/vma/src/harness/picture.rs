//! Layouts as drawings, the way the kernel's tests draw them in comments:
//! one character per page (0x1000 bytes), column 0 at address 0, a letter
//! per VMA and a space per hole. A test draws the layout, runs an
//! operation and compares the drawing of the result. VMAs keep their letter
//! through merges and splits (the letter follows the object, so a drawing
//! also shows which VMA survived); VMAs the operation created are drawn
//! `x`, `y`, `z`, `u`, `v`, `w` in address order.

use super::fixture::Ctx;
use super::Failure;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use crate::Env;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;

pub(crate) const PAGE: u64 = 0x1000;

/// Which letter names which VMA.
#[derive(Default, Debug, Clone)]
pub(crate) struct Names(pub BTreeMap<VmaId, char>);

impl Names {
    /// The VMA drawn with `letter`.
    pub(crate) fn id(&self, letter: char) -> VmaId {
        *self
            .0
            .iter()
            .find(|(_, &c)| c == letter)
            .map(|(id, _)| id)
            .expect("letter in the drawing")
    }
}

/// Links one VMA per run of equal letters in `drawing`, with `flags` and a
/// page offset equal to the start page (as anonymous memory has).
pub(crate) fn draw(ctx: &mut Ctx, drawing: &str, flags: VmFlags) -> Result<Names, Failure> {
    let mut names = Names::default();
    let chars: alloc::vec::Vec<char> = drawing.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        if c != ' ' {
            let id = ctx.alloc_and_link(i as u64 * PAGE, j as u64 * PAGE, i as u64, flags)?;
            names.0.insert(id, c);
        }
        i = j;
    }
    Ok(names)
}

/// Draws the address space: named VMAs by their letter, others `x`, `y`, ...
pub(crate) fn render<E: Env>(mm: &Mm<E>, names: &Names) -> String {
    let mut out = String::new();
    let mut fresh = "xyzuvwst".chars();
    for (id, vma) in mm.vmas() {
        let c = names
            .0
            .get(&id)
            .copied()
            .unwrap_or_else(|| fresh.next().unwrap_or('?'));
        while (out.len() as u64) < vma.start / PAGE {
            out.push(' ');
        }
        for _ in vma.start / PAGE..vma.end / PAGE {
            out.push(c);
        }
    }
    out
}

/// Fails unless the address space draws as `expected`.
pub(crate) fn expect(ctx: &Ctx, names: &Names, expected: &str) -> Result<(), Failure> {
    ctx.validate()?;
    let got = render(&ctx.mm, names);
    if got.trim_end() != expected.trim_end() {
        return Err(Failure {
            file: file!(),
            line: line!(),
            message: format!("layout\n  got:      |{got}|\n  expected: |{expected}|"),
        });
    }
    Ok(())
}
