use maple::MapleTree;
use std::hint::black_box;
use std::time::Instant;
const PAGE: u64 = 4096;
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
fn main() {
    let what = std::env::args().nth(1).unwrap_or("store".into());
    let n: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1_000_000);
    let mut rng = Rng(7);
    let mut t = MapleTree::new();
    let mut at = 16 * PAGE;
    for k in 0..n {
        let len = (1 + rng.below(16)) * PAGE;
        t.store(at..at + len, k as u64);
        at += len;
        if rng.below(3) == 0 {
            at += (1 + rng.below(4)) * PAGE;
        }
    }
    let top = at;
    let ops: Vec<(u64, u64)> = (0..1_000_000)
        .map(|_| {
            let s = rng.below(top / PAGE) * PAGE;
            (s, s + (1 + rng.below(6)) * PAGE)
        })
        .collect();
    let t0 = Instant::now();
    let mut acc = 0u64;
    for (k, &(s, e)) in ops.iter().enumerate() {
        match what.as_str() {
            "store" => t.store(s..e.min(s + 2 * PAGE), k as u64),
            "erase" => t.erase(s..e.min(s + 3 * PAGE)),
            "low" => acc += t.lowest_gap(s, u64::MAX, e - s).unwrap_or(0),
            "high" => acc += t.highest_gap(0, s, e - s).unwrap_or(0),
            _ => acc += black_box(t.get(s)).copied().unwrap_or(0),
        }
    }
    println!(
        "{what}: {:.1} ns/op {acc}",
        t0.elapsed().as_nanos() as f64 / ops.len() as f64
    );
}
