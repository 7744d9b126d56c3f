//! `Debug`: a readable dump of the node structure.

use crate::node::NIL;
use crate::MapleTree;
use core::fmt;

impl<V: fmt::Debug> fmt::Debug for MapleTree<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "MapleTree {{ len: {}, height: {}, leaves: {} ({} free), inners: {} ({} free) }}",
            self.len,
            self.height,
            self.leaves.len(),
            self.n_free_leaves,
            self.inners.len(),
            self.n_free_inners
        )?;
        if self.root != NIL {
            self.dump(f, self.root, self.height, 1)?;
        }
        Ok(())
    }
}

impl<V: fmt::Debug> MapleTree<V> {
    fn dump(&self, f: &mut fmt::Formatter<'_>, id: u32, h: usize, depth: usize) -> fmt::Result {
        let pad = depth * 2;
        if h == 0 {
            let leaf = &self.leaves[id as usize];
            writeln!(f, "{:pad$}leaf {id} ({} entries)", "", leaf.len())?;
            for k in 0..leaf.len() {
                writeln!(
                    f,
                    "{:pad$}  [{:#x}, {:#x}) => {:?}",
                    "", leaf.starts[k], leaf.ends[k], leaf.vals[k]
                )?;
            }
            return Ok(());
        }
        let node = &self.inners[id as usize];
        writeln!(f, "{:pad$}inner {id} ({} children)", "", node.len())?;
        for k in 0..node.len() {
            writeln!(
                f,
                "{:pad$}  child {k}: [{:#x}, {:#x}) max gap {:#x}",
                "", node.starts[k], node.ends[k], node.gaps[k]
            )?;
            self.dump(f, node.kids[k], h - 1, depth + 2)?;
        }
        Ok(())
    }
}
