//! Unit tests drawn as pictures: one character per address, a letter for an
//! entry's value and `.` for a gap. `paint` builds a tree from a picture
//! (each run of one letter is one entry), `draw` renders a tree back.

use maple::MapleTree;

fn paint(picture: &str) -> MapleTree<char> {
    let mut t = MapleTree::new();
    let b = picture.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let mut j = i + 1;
        while j < b.len() && b[j] == b[i] {
            j += 1;
        }
        if b[i] != b'.' {
            t.store(i as u64..j as u64, b[i] as char);
        }
        i = j;
    }
    t.validate().unwrap();
    t
}

fn draw(t: &MapleTree<char>, width: u64) -> String {
    t.validate().unwrap();
    (0..width)
        .map(|a| t.get(a).copied().unwrap_or('.'))
        .collect()
}

/// The entries as `start..end=value`, so adjacent runs of one value show.
fn entries(t: &MapleTree<char>) -> Vec<String> {
    t.iter()
        .map(|(r, v)| format!("{}..{}={v}", r.start, r.end))
        .collect()
}

#[test]
fn store_into_a_hole() {
    let mut t = paint("AAA....BBB");
    t.store(4..6, 'C');
    assert_eq!(draw(&t, 10), "AAA.CC.BBB");
}

#[test]
fn store_splits_an_entry_in_the_middle() {
    let mut t = paint("AAAAAAAA");
    t.store(3..5, 'B');
    assert_eq!(draw(&t, 8), "AAABBAAA");
    assert_eq!(entries(&t), ["0..3=A", "3..5=B", "5..8=A"]);
}

#[test]
fn store_trims_both_neighbours_and_swallows_the_middle() {
    let mut t = paint("AAA.BB.CC.DDD");
    t.store(1..11, 'X');
    assert_eq!(draw(&t, 13), "AXXXXXXXXXXDD");
    assert_eq!(t.len(), 3);
}

#[test]
fn store_over_exactly_one_entry_replaces_it() {
    let mut t = paint("AAABBBCCC");
    t.store(3..6, 'X');
    assert_eq!(entries(&t), ["0..3=A", "3..6=X", "6..9=C"]);
}

#[test]
fn erase_punches_a_hole() {
    let mut t = paint("AAAAAAAA");
    t.erase(2..4);
    assert_eq!(draw(&t, 8), "AA..AAAA");
    assert_eq!(entries(&t), ["0..2=A", "4..8=A"]);
}

#[test]
fn erase_trims_and_removes() {
    let mut t = paint("AA.BBBB.CC.DD");
    t.erase(4..12);
    assert_eq!(draw(&t, 13), "AA.B........D");
}

#[test]
fn erase_everything() {
    let mut t = paint("AB.CD.EF");
    t.erase(0..u64::MAX);
    assert_eq!(draw(&t, 8), "........");
    assert!(t.is_empty());
    assert_eq!(t.lowest_gap(0, u64::MAX, 5), Some(0));
}

#[test]
fn empty_and_inverted_ranges_do_nothing() {
    let mut t = paint("AAA");
    t.store(2..2, 'X');
    #[allow(clippy::reversed_empty_ranges)]
    t.store(3..1, 'X');
    #[allow(clippy::reversed_empty_ranges)]
    t.erase(3..0);
    assert_eq!(draw(&t, 4), "AAA.");
    assert_eq!(t.find(2, 1), None);
    assert_eq!(t.lowest_gap(5, 1, 1), None);
    assert_eq!(t.lowest_gap(0, 10, 0), None);
}

#[test]
fn lookups() {
    let t = paint("..AA.BBB..C");
    assert_eq!(t.load(5), Some((5..8, &'B')));
    assert_eq!(t.load(4), None);
    assert_eq!(t.find(4, 11), Some((5..8, &'B')));
    assert_eq!(t.find_rev(0, 10), Some((5..8, &'B')));
    assert_eq!(t.next_entry(3), Some((5..8, &'B')));
    assert_eq!(t.prev_entry(7), Some((2..4, &'A')));
    assert_eq!(t.prev_entry(8), Some((5..8, &'B')));
}

#[test]
fn gaps() {
    //            0123456789012
    let t = paint("AA..B...CC.DD");
    assert_eq!(t.lowest_gap(0, 100, 2), Some(2));
    assert_eq!(t.lowest_gap(0, 100, 3), Some(5));
    assert_eq!(t.lowest_gap(6, 100, 2), Some(6));
    assert_eq!(t.lowest_gap(0, 100, 4), Some(13));
    assert_eq!(t.highest_gap(0, 13, 1), Some(10));
    assert_eq!(t.highest_gap(0, 10, 2), Some(6));
    assert_eq!(t.highest_gap(0, 8, 3), Some(5));
    assert_eq!(t.highest_gap(0, 7, 3), None);
}

#[test]
fn cursor_walks_slots() {
    let t = paint("..AABB.C");
    let mut c = t.cursor(0);
    assert_eq!((c.range(), c.value()), (0..2, None));
    assert_eq!(c.next_range(), Some((2..4, Some(&'A'))));
    assert_eq!(c.next_range(), Some((4..6, Some(&'B'))));
    assert_eq!(c.next_range(), Some((6..7, None)));
    assert_eq!(c.next_entry(), Some((7..8, &'C')));
    assert_eq!(c.next_range(), Some((8..u64::MAX, None)));
    assert_eq!(c.next_range(), None);
    assert_eq!(c.prev_entry(), Some((7..8, &'C')));
    assert_eq!(c.prev_entry(), Some((4..6, &'B')));
    assert_eq!(c.prev_range(), Some((2..4, Some(&'A'))));
    assert_eq!(c.prev_range(), Some((0..2, None)));
    assert_eq!(c.prev_range(), None);
}

#[test]
fn edges_of_the_key_space() {
    let mut t = MapleTree::new();
    t.store(0..1, 'A');
    t.store(u64::MAX - 1..u64::MAX, 'Z');
    t.validate().unwrap();
    assert_eq!(t.get(0), Some(&'A'));
    assert_eq!(t.get(u64::MAX - 1), Some(&'Z'));
    assert_eq!(t.get(u64::MAX), None);
    assert_eq!(t.lowest_gap(0, u64::MAX, u64::MAX - 2), Some(1));
    assert_eq!(t.lowest_gap(0, u64::MAX, u64::MAX - 1), None);
    assert_eq!(t.highest_gap(0, u64::MAX, 1), Some(u64::MAX - 2));
    let c = t.cursor(u64::MAX);
    assert_eq!((c.range(), c.value()), (u64::MAX - 1..u64::MAX, Some(&'Z')));
    t.store(0..u64::MAX, 'X');
    assert_eq!(t.len(), 1);
    assert_eq!(t.lowest_gap(0, u64::MAX, 1), None);
    t.erase(1..u64::MAX - 1);
    assert_eq!(
        t.iter().map(|(r, v)| (r, *v)).collect::<Vec<_>>(),
        [(0..1, 'X'), (u64::MAX - 1..u64::MAX, 'X')]
    );
    t.validate().unwrap();
}

#[test]
fn debug_dump_shows_nodes() {
    let t = paint("AB.C");
    let s = format!("{t:?}");
    assert!(s.contains("leaf"), "{s}");
    assert!(s.contains("[0x3, 0x4) => 'C'"), "{s}");
}

#[test]
fn preallocate_then_store() {
    let mut t = paint("AAAA");
    t.preallocate().unwrap();
    t.store(1..2, 'B');
    t.try_store(8..9, 'C').unwrap();
    t.try_erase(0..1).unwrap();
    assert_eq!(draw(&t, 10), ".BAA....C.");
}
