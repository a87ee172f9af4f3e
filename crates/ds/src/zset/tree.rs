//! The large sorted-set encoding (reported as `skiplist`, like Redis 7.0).
//!
//! Instead of Redis's skiplist + dict (one node, one sds and one dict entry per member), this is:
//! - a slab `Vec<Slot>` holding each member once with its score (24 bytes, members of up to 15
//!   bytes inline) under a stable `u32` id;
//! - a hash index (`hashbrown::HashTable<u32>`) of ids keyed by the member's hash, for O(1)
//!   ZSCORE/ZADD lookups (5 bytes per bucket);
//! - a counted B+tree of `(score, id)` ordered by `(score, member)`, giving O(log n) insert,
//!   delete, rank, select-by-rank and partition points; leaves pack 12 bytes per entry.
//!
//! Ids are stable while a member exists (freed slots are marked with a NaN score and reused), so
//! ZSCAN can use the slab position as its cursor and keep Redis's guarantee.
//!
//! Depends only on `compact` and the hashing crates; no I/O, no globals.

use std::cmp::Ordering;

use hashbrown::HashTable;

use crate::compact::CompactBytes;

// 84 entries make a leaf 1,016 bytes: just under the 1 KiB allocator size class.
#[cfg(not(test))]
const LEAF_CAP: usize = 84;
#[cfg(not(test))]
const INNER_CAP: usize = 64;
// Unit tests use tiny nodes so that small random sets already split, merge and grow levels.
#[cfg(test)]
const LEAF_CAP: usize = 8;
#[cfg(test)]
const INNER_CAP: usize = 8;
const LEAF_MIN: usize = LEAF_CAP / 4;
const INNER_MIN: usize = INNER_CAP / 4;

/// Orders two entries as Redis does: by score (with `-0.0 == 0.0`), then bytewise by member.
#[inline]
pub(crate) fn cmp_key(sa: f64, ma: &[u8], sb: f64, mb: &[u8]) -> Ordering {
    if sa < sb {
        Ordering::Less
    } else if sa > sb {
        Ordering::Greater
    } else {
        ma.cmp(mb)
    }
}

struct Slot {
    member: CompactBytes,
    /// NaN marks a free slot (a real score is never NaN).
    score: f64,
}

struct Leaf {
    len: usize,
    scores: [f64; LEAF_CAP],
    ids: [u32; LEAF_CAP],
}

impl Leaf {
    fn new() -> Box<Leaf> {
        Box::new(Leaf {
            len: 0,
            scores: [0.0; LEAF_CAP],
            ids: [0; LEAF_CAP],
        })
    }

    fn insert_at(&mut self, pos: usize, score: f64, id: u32) {
        let len = self.len;
        self.scores.copy_within(pos..len, pos + 1);
        self.ids.copy_within(pos..len, pos + 1);
        self.scores[pos] = score;
        self.ids[pos] = id;
        self.len += 1;
    }

    fn remove_at(&mut self, pos: usize) -> u32 {
        let id = self.ids[pos];
        let len = self.len;
        self.scores.copy_within(pos + 1..len, pos);
        self.ids.copy_within(pos + 1..len, pos);
        self.len -= 1;
        id
    }
}

struct Inner {
    total: usize,
    children: Vec<Node>,
    counts: Vec<usize>,
    /// `seps[i]` separates `children[i]` and `children[i + 1]`: every key of the left side is
    /// smaller, every key of the right side is greater or equal. Separators own their member
    /// (ids may be reused after the member is deleted).
    seps: Vec<(f64, CompactBytes)>,
}

enum Node {
    Leaf(Box<Leaf>),
    Inner(Box<Inner>),
}

impl Node {
    fn len(&self) -> usize {
        match self {
            Node::Leaf(l) => l.len,
            Node::Inner(i) => i.total,
        }
    }

    /// Fill measure used for underflow: entries of a leaf, children of an inner node.
    fn units(&self) -> usize {
        match self {
            Node::Leaf(l) => l.len,
            Node::Inner(i) => i.children.len(),
        }
    }
}

fn member_of(slab: &[Slot], id: u32) -> &[u8] {
    slab.get(id as usize)
        .map_or(&[][..], |s| s.member.as_slice())
}

/// Inserts; returns the separator and new right sibling when the node split.
fn insert(
    node: &mut Node,
    slab: &[Slot],
    score: f64,
    id: u32,
) -> Option<((f64, CompactBytes), Node)> {
    let member = member_of(slab, id);
    match node {
        Node::Leaf(leaf) => {
            let n = leaf.len;
            let pos = partition_in_leaf(leaf, slab, |s, m| {
                cmp_key(s, m, score, member) == Ordering::Less
            });
            if n < LEAF_CAP {
                leaf.insert_at(pos, score, id);
                return None;
            }
            let mut right = Leaf::new();
            if pos == n {
                // Appending at the end (ascending loads): keep this leaf full.
                right.insert_at(0, score, id);
            } else if pos == 0 {
                // Prepending (descending loads): move everything right, keep only the new entry.
                right.scores = leaf.scores;
                right.ids = leaf.ids;
                right.len = n;
                leaf.len = 0;
                leaf.insert_at(0, score, id);
            } else {
                let mid = n / 2;
                right.scores[..n - mid].copy_from_slice(&leaf.scores[mid..n]);
                right.ids[..n - mid].copy_from_slice(&leaf.ids[mid..n]);
                right.len = n - mid;
                leaf.len = mid;
                if pos <= mid {
                    leaf.insert_at(pos, score, id);
                } else {
                    right.insert_at(pos - mid, score, id);
                }
            }
            let sep = (
                right.scores[0],
                CompactBytes::new(member_of(slab, right.ids[0])),
            );
            Some((sep, Node::Leaf(right)))
        }
        Node::Inner(inner) => {
            let i = inner
                .seps
                .partition_point(|(s, m)| cmp_key(*s, m, score, member) != Ordering::Greater);
            inner.total += 1;
            let split = insert(&mut inner.children[i], slab, score, id);
            let Some((sep, new_node)) = split else {
                inner.counts[i] += 1;
                return None;
            };
            inner.counts[i] = inner.children[i].len();
            inner.counts.insert(i + 1, new_node.len());
            inner.children.insert(i + 1, new_node);
            inner.seps.insert(i, sep);
            let n = inner.children.len();
            if n <= INNER_CAP {
                return None;
            }
            // Split this inner node; lopsided when the new child is the last one (ascending).
            let mid = if i + 2 == n { n - 1 } else { n / 2 };
            let children = inner.children.split_off(mid);
            let counts = inner.counts.split_off(mid);
            let seps = inner.seps.split_off(mid);
            let up = inner.seps.pop()?;
            let right_total: usize = counts.iter().sum();
            inner.total -= right_total;
            let right = Inner {
                total: right_total,
                children,
                counts,
                seps,
            };
            Some((up, Node::Inner(Box::new(right))))
        }
    }
}

/// Inserts at the root, growing the tree by one level when the root splits.
fn insert_into_root(root: &mut Node, slab: &[Slot], score: f64, id: u32) {
    if let Some((sep, right)) = insert(root, slab, score, id) {
        let left = std::mem::replace(root, Node::Leaf(Leaf::new()));
        let (lc, rc) = (left.len(), right.len());
        *root = Node::Inner(Box::new(Inner {
            total: lc + rc,
            children: vec![left, right],
            counts: vec![lc, rc],
            seps: vec![sep],
        }));
    }
}

fn partition_in_leaf(leaf: &Leaf, slab: &[Slot], p: impl Fn(f64, &[u8]) -> bool) -> usize {
    let (mut lo, mut hi) = (0, leaf.len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if p(leaf.scores[mid], member_of(slab, leaf.ids[mid])) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Number of entries for which the monotone predicate `p` holds (true on a prefix of the order).
fn partition(node: &Node, slab: &[Slot], p: &dyn Fn(f64, &[u8]) -> bool) -> usize {
    let mut node = node;
    let mut acc = 0;
    loop {
        match node {
            Node::Leaf(leaf) => return acc + partition_in_leaf(leaf, slab, p),
            Node::Inner(inner) => {
                let i = inner.seps.partition_point(|(s, m)| p(*s, m));
                acc += inner.counts[..i].iter().sum::<usize>();
                node = &inner.children[i];
            }
        }
    }
}

/// The child of an inner node that holds `rank`, and the rank within it
/// (ranks past the end fall into the last child).
fn child_for_rank(counts: &[usize], mut rank: usize) -> (usize, usize) {
    let mut i = 0;
    while i + 1 < counts.len() && rank >= counts[i] {
        rank -= counts[i];
        i += 1;
    }
    (i, rank)
}

/// The id at `rank` (which must be < the node's length).
fn select(node: &Node, mut rank: usize) -> Option<(f64, u32)> {
    let mut node = node;
    loop {
        match node {
            Node::Leaf(leaf) => {
                return if rank < leaf.len {
                    Some((leaf.scores[rank], leaf.ids[rank]))
                } else {
                    None
                };
            }
            Node::Inner(inner) => {
                let i;
                (i, rank) = child_for_rank(&inner.counts, rank);
                node = &inner.children[i];
            }
        }
    }
}

/// The leaf holding `rank` and the position in it.
fn leaf_at_mut(node: &mut Node, mut rank: usize) -> Option<(&mut Leaf, usize)> {
    let mut node = node;
    loop {
        match node {
            Node::Leaf(leaf) => {
                return if rank < leaf.len {
                    Some((leaf, rank))
                } else {
                    None
                }
            }
            Node::Inner(inner) => {
                let i;
                (i, rank) = child_for_rank(&inner.counts, rank);
                node = &mut inner.children[i];
            }
        }
    }
}

fn remove_at(node: &mut Node, slab: &[Slot], mut rank: usize) -> u32 {
    match node {
        Node::Leaf(leaf) => leaf.remove_at(rank),
        Node::Inner(inner) => {
            let mut i = 0;
            while i + 1 < inner.counts.len() && rank >= inner.counts[i] {
                rank -= inner.counts[i];
                i += 1;
            }
            let id = remove_at(&mut inner.children[i], slab, rank);
            inner.counts[i] -= 1;
            inner.total -= 1;
            fix_underflow(inner, slab, i);
            id
        }
    }
}

/// Merges or rebalances `children[i]` with a neighbour when it became too small.
fn fix_underflow(inner: &mut Inner, slab: &[Slot], i: usize) {
    let n = inner.children.len();
    let child = &inner.children[i];
    let min = if matches!(child, Node::Leaf(_)) {
        LEAF_MIN
    } else {
        INNER_MIN
    };
    if child.units() >= min || n == 1 {
        return;
    }
    let (l, r) = if i + 1 < n { (i, i + 1) } else { (i - 1, i) };
    let (left_part, right_part) = inner.children.split_at_mut(r);
    let merged = match (&mut left_part[l], &mut right_part[0]) {
        (Node::Leaf(a), Node::Leaf(b)) => {
            if a.len + b.len <= LEAF_CAP {
                let (al, bl) = (a.len, b.len);
                a.scores[al..al + bl].copy_from_slice(&b.scores[..bl]);
                a.ids[al..al + bl].copy_from_slice(&b.ids[..bl]);
                a.len += bl;
                inner.seps.remove(l);
                true
            } else {
                let total = a.len + b.len;
                let target = total / 2;
                if a.len > target {
                    let k = a.len - target;
                    let bl = b.len;
                    b.scores.copy_within(0..bl, k);
                    b.ids.copy_within(0..bl, k);
                    b.scores[..k].copy_from_slice(&a.scores[target..target + k]);
                    b.ids[..k].copy_from_slice(&a.ids[target..target + k]);
                    b.len += k;
                    a.len = target;
                } else {
                    let k = target - a.len;
                    let al = a.len;
                    a.scores[al..al + k].copy_from_slice(&b.scores[..k]);
                    a.ids[al..al + k].copy_from_slice(&b.ids[..k]);
                    a.len += k;
                    let bl = b.len;
                    b.scores.copy_within(k..bl, 0);
                    b.ids.copy_within(k..bl, 0);
                    b.len -= k;
                }
                inner.counts[l] = a.len;
                inner.counts[r] = b.len;
                inner.seps[l] = (b.scores[0], CompactBytes::new(member_of(slab, b.ids[0])));
                false
            }
        }
        // Inner nodes are only merged: an underfull one costs little and rebalancing it is not
        // worth the rotation code.
        (Node::Inner(a), Node::Inner(b)) if a.children.len() + b.children.len() <= INNER_CAP => {
            let sep = inner.seps.remove(l);
            a.seps.push(sep);
            a.seps.append(&mut b.seps);
            a.children.append(&mut b.children);
            a.counts.append(&mut b.counts);
            a.total += b.total;
            true
        }
        // Inner nodes too full to merge, or (never) siblings of different depths.
        _ => false,
    };
    if merged {
        inner.children.remove(r);
        inner.counts.remove(r);
        inner.counts[l] = inner.children[l].len();
    }
}

/// An in-order walk over a rank range, forwards or backwards.
pub(crate) struct Iter<'a> {
    slab: &'a [Slot],
    stack: Vec<(&'a Inner, usize)>,
    leaf: Option<&'a Leaf>,
    pos: usize,
    remaining: usize,
    reverse: bool,
}

impl<'a> Iter<'a> {
    fn descend(&mut self, mut node: &'a Node, first: bool) {
        loop {
            match node {
                Node::Leaf(leaf) => {
                    self.leaf = Some(leaf);
                    self.pos = if first { 0 } else { leaf.len.saturating_sub(1) };
                    return;
                }
                Node::Inner(inner) => {
                    let i = if first { 0 } else { inner.children.len() - 1 };
                    self.stack.push((inner, i));
                    node = &inner.children[i];
                }
            }
        }
    }

    /// Moves to the next (or previous) leaf; false at the end.
    fn step_leaf(&mut self) -> bool {
        while let Some((inner, i)) = self.stack.pop() {
            let next = if self.reverse {
                if i == 0 {
                    continue;
                }
                i - 1
            } else {
                if i + 1 >= inner.children.len() {
                    continue;
                }
                i + 1
            };
            self.stack.push((inner, next));
            self.descend(&inner.children[next], !self.reverse);
            return true;
        }
        false
    }

    pub(crate) fn remaining(&self) -> usize {
        self.remaining
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        // Skip empty leaves (possible under a one-child inner node after deletions).
        loop {
            let leaf = self.leaf?;
            if self.pos < leaf.len {
                break;
            }
            if !self.step_leaf() {
                self.remaining = 0;
                return None;
            }
        }
        let leaf = self.leaf?;
        let item = (
            member_of(self.slab, leaf.ids[self.pos]),
            leaf.scores[self.pos],
        );
        self.remaining -= 1;
        if self.reverse {
            if self.pos == 0 {
                if !self.step_leaf() {
                    self.remaining = 0;
                }
            } else {
                self.pos -= 1;
            }
        } else {
            self.pos += 1;
            if self.pos >= leaf.len && self.remaining > 0 && !self.step_leaf() {
                self.remaining = 0;
            }
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

/// The large encoding. See the module docs.
pub(crate) struct Large {
    slab: Vec<Slot>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: ahash::RandomState,
    root: Node,
}

impl Large {
    pub(crate) fn new() -> Large {
        Large {
            slab: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: ahash::RandomState::new(),
            root: Node::Leaf(Leaf::new()),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.root.len()
    }

    fn find_id(&self, member: &[u8]) -> Option<u32> {
        let h = self.hasher.hash_one(member);
        let slab = &self.slab;
        self.index
            .find(h, |&id| member_of(slab, id) == member)
            .copied()
    }

    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        let id = self.find_id(member)?;
        self.slab.get(id as usize).map(|s| s.score)
    }

    /// Inserts a member known to be absent.
    pub(crate) fn insert_new(&mut self, member: &[u8], score: f64) {
        let slot = Slot {
            member: CompactBytes::new(member),
            score,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slab[id as usize] = slot;
                id
            }
            None => {
                self.slab.push(slot);
                (self.slab.len() - 1) as u32
            }
        };
        let Large {
            slab,
            index,
            hasher,
            root,
            ..
        } = self;
        let h = hasher.hash_one(member);
        index.insert_unique(h, id, |&x| hasher.hash_one(member_of(slab, x)));
        insert_into_root(root, slab, score, id);
    }

    fn rank_of_key(&self, score: f64, member: &[u8]) -> usize {
        partition(&self.root, &self.slab, &|s, m| {
            cmp_key(s, m, score, member) == Ordering::Less
        })
    }

    /// Changes the score of an existing member (remove from the tree and re-insert).
    pub(crate) fn update_score(&mut self, member: &[u8], new_score: f64) -> bool {
        let Some(id) = self.find_id(member) else {
            return false;
        };
        let old = self.slab[id as usize].score;
        let rank = self.rank_of_key(old, member);
        // Like Redis's zslUpdateScore: when the new key still sits between the same
        // neighbours inside one leaf, change the score in place (no separator is affected).
        let Large { slab, root, .. } = self;
        if let Some((leaf, pos)) = leaf_at_mut(root, rank) {
            if pos > 0 && pos + 1 < leaf.len {
                let (ls, li) = (leaf.scores[pos - 1], leaf.ids[pos - 1]);
                let (rs, ri) = (leaf.scores[pos + 1], leaf.ids[pos + 1]);
                if cmp_key(ls, member_of(slab, li), new_score, member) == Ordering::Less
                    && cmp_key(new_score, member, rs, member_of(slab, ri)) == Ordering::Less
                {
                    leaf.scores[pos] = new_score;
                    slab[id as usize].score = new_score;
                    return true;
                }
            }
        }
        let removed = remove_at(&mut self.root, &self.slab, rank);
        debug_assert_eq!(removed, id);
        self.collapse_root();
        self.slab[id as usize].score = new_score;
        let Large { slab, root, .. } = self;
        insert_into_root(root, slab, new_score, id);
        true
    }

    fn collapse_root(&mut self) {
        loop {
            let Node::Inner(inner) = &mut self.root else {
                return;
            };
            if inner.children.len() != 1 {
                return;
            }
            let Some(child) = inner.children.pop() else {
                return;
            };
            self.root = child;
        }
    }

    /// Frees the slot of `id` (already out of the tree) and drops it from the index.
    fn release(&mut self, id: u32) -> (CompactBytes, f64) {
        let Large {
            slab,
            index,
            hasher,
            free,
            ..
        } = self;
        let member = member_of(slab, id);
        let h = hasher.hash_one(member);
        if let Ok(entry) = index.find_entry(h, |&x| x == id) {
            entry.remove();
        }
        let slot = &mut slab[id as usize];
        let member = std::mem::take(&mut slot.member);
        let score = std::mem::replace(&mut slot.score, f64::NAN);
        if id as usize + 1 == slab.len() {
            slab.pop();
        } else {
            free.push(id);
        }
        if self.root.len() == 0 {
            // Everything is gone: drop the free list and slab capacity too.
            self.slab = Vec::new();
            self.free = Vec::new();
            self.index = HashTable::new();
        }
        (member, score)
    }

    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let id = self.find_id(member)?;
        let score = self.slab[id as usize].score;
        let rank = self.rank_of_key(score, member);
        let removed = remove_at(&mut self.root, &self.slab, rank);
        debug_assert_eq!(removed, id);
        self.collapse_root();
        Some(self.release(id).1)
    }

    pub(crate) fn remove_rank(&mut self, rank: usize) -> Option<(CompactBytes, f64)> {
        if rank >= self.len() {
            return None;
        }
        let id = remove_at(&mut self.root, &self.slab, rank);
        self.collapse_root();
        Some(self.release(id))
    }

    pub(crate) fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.rank_of_key(score, member))
    }

    pub(crate) fn partition(&self, p: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        partition(&self.root, &self.slab, p)
    }

    pub(crate) fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        let (score, id) = select(&self.root, rank)?;
        Some((member_of(&self.slab, id), score))
    }

    /// Walks `count` entries starting at `rank`, towards higher ranks or (reverse) lower ones.
    pub(crate) fn iter(&self, rank: usize, count: usize, reverse: bool) -> Iter<'_> {
        let mut it = Iter {
            slab: &self.slab,
            stack: Vec::new(),
            leaf: None,
            pos: 0,
            remaining: 0,
            reverse,
        };
        if rank >= self.len() || count == 0 {
            return it;
        }
        let count = if reverse {
            count.min(rank + 1)
        } else {
            count.min(self.len() - rank)
        };
        let mut node = &self.root;
        let mut r = rank;
        loop {
            match node {
                Node::Leaf(leaf) => {
                    it.leaf = Some(leaf);
                    it.pos = r;
                    break;
                }
                Node::Inner(inner) => {
                    let mut i = 0;
                    while i + 1 < inner.counts.len() && r >= inner.counts[i] {
                        r -= inner.counts[i];
                        i += 1;
                    }
                    it.stack.push((inner, i));
                    node = &inner.children[i];
                }
            }
        }
        it.remaining = count;
        it
    }

    /// ZSCAN over slab positions: returns the live entries of up to `count` slots after
    /// `cursor` and the next cursor (0 when done).
    pub(crate) fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(&[u8], f64)>) {
        let start = usize::try_from(cursor)
            .unwrap_or(usize::MAX)
            .min(self.slab.len());
        let end = start.saturating_add(count.max(1)).min(self.slab.len());
        let out = self.slab[start..end]
            .iter()
            .filter(|s| !s.score.is_nan())
            .map(|s| (s.member.as_slice(), s.score))
            .collect();
        let next = if end >= self.slab.len() {
            0
        } else {
            end as u64
        };
        (next, out)
    }

    /// Bytes allocated by this structure (approximate for the hash index's control bytes).
    pub(crate) fn allocated_bytes(&self) -> usize {
        fn node_bytes(n: &Node) -> usize {
            match n {
                Node::Leaf(_) => std::mem::size_of::<Leaf>(),
                Node::Inner(i) => {
                    std::mem::size_of::<Inner>()
                        + i.children.capacity() * std::mem::size_of::<Node>()
                        + i.counts.capacity() * 8
                        + i.seps.capacity() * 24
                        + i.seps.iter().map(|(_, m)| m.heap_size()).sum::<usize>()
                        + i.children.iter().map(node_bytes).sum::<usize>()
                }
            }
        }
        self.slab.capacity() * std::mem::size_of::<Slot>()
            + self
                .slab
                .iter()
                .map(|s| s.member.heap_size())
                .sum::<usize>()
            + self.free.capacity() * 4
            + self.index.capacity() * 5
            + node_bytes(&self.root)
    }

    /// Checks the tree's invariants (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        fn walk(n: &Node, slab: &[Slot], out: &mut Vec<(f64, u32)>) -> usize {
            match n {
                Node::Leaf(l) => {
                    for i in 0..l.len {
                        out.push((l.scores[i], l.ids[i]));
                    }
                    l.len
                }
                Node::Inner(inner) => {
                    assert_eq!(inner.children.len(), inner.counts.len());
                    assert_eq!(inner.children.len(), inner.seps.len() + 1);
                    let mut total = 0;
                    for (k, c) in inner.children.iter().enumerate() {
                        let start = out.len();
                        let got = walk(c, slab, out);
                        assert_eq!(got, inner.counts[k]);
                        for &(s, id) in &out[start..] {
                            let m = member_of(slab, id);
                            if k > 0 {
                                let (ss, sm) = &inner.seps[k - 1];
                                assert_ne!(cmp_key(s, m, *ss, sm), Ordering::Less);
                            }
                            if k < inner.seps.len() {
                                let (ss, sm) = &inner.seps[k];
                                assert_eq!(cmp_key(s, m, *ss, sm), Ordering::Less);
                            }
                        }
                        total += got;
                    }
                    assert_eq!(total, inner.total);
                    total
                }
            }
        }
        let mut all = Vec::new();
        walk(&self.root, &self.slab, &mut all);
        for w in all.windows(2) {
            let a = member_of(&self.slab, w[0].1);
            let b = member_of(&self.slab, w[1].1);
            assert_eq!(cmp_key(w[0].0, a, w[1].0, b), Ordering::Less);
        }
        assert_eq!(all.len(), self.index.len());
        for &(s, id) in &all {
            assert_eq!(self.slab[id as usize].score.to_bits(), s.to_bits());
            assert_eq!(self.find_id(member_of(&self.slab, id)), Some(id));
        }
    }
}
