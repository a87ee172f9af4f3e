//! Typed access to collection values for the list, hash, set and sorted-set handlers: lookups
//! that answer WRONGTYPE for a value of another type, creation of a missing key, and deletion of
//! a collection emptied by a write (Redis never keeps an empty collection).

use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::reply::Reply;
use ferrodis_ds::hash::Hash;
use ferrodis_ds::list::QuickList;
use ferrodis_ds::set::Set;
use ferrodis_ds::stream::Stream;
use ferrodis_ds::value::Value;
use ferrodis_ds::zset::ZSet;

/// A collection type stored boxed in a [`Value`] variant.
pub trait Collection: Sized {
    /// The type's `TYPE` name.
    const TYPE_NAME: &'static str;
    fn of(v: &mut Value) -> Option<&mut Self>;
    fn of_ref(v: &Value) -> Option<&Self>;
    fn into_value(self) -> Value;
    fn is_empty(&self) -> bool;
}

macro_rules! collection {
    ($t:ty, $variant:ident, $name:literal) => {
        impl Collection for $t {
            const TYPE_NAME: &'static str = $name;
            fn of(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(c) => Some(&mut **c),
                    _ => None,
                }
            }
            fn of_ref(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(c) => Some(&**c),
                    _ => None,
                }
            }
            fn into_value(self) -> Value {
                Value::$variant(Box::new(self))
            }
            fn is_empty(&self) -> bool {
                <$t>::is_empty(self)
            }
        }
    };
}

collection!(QuickList, List, "list");
collection!(Hash, Hash, "hash");
collection!(Set, Set, "set");
collection!(ZSet, ZSet, "zset");
collection!(Stream, Stream, "stream");

/// The collection at `key` for a read command (counts keyspace hits/misses, touches the
/// access clock): `Ok(None)` when missing, WRONGTYPE for another type.
pub fn read<'c, T: Collection>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c mut T>, Reply> {
    match kv::lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => T::of(e.value_mut()).map(Some).ok_or_else(errors::wrongtype),
    }
}

/// The collection at `key` for a write command (no hit/miss accounting, as Redis's
/// lookupKeyWrite): `Ok(None)` when missing, WRONGTYPE for another type.
pub fn write<'c, T: Collection>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c mut T>, Reply> {
    match kv::lookup(ctx, key) {
        None => Ok(None),
        Some(e) => T::of(e.value_mut()).map(Some).ok_or_else(errors::wrongtype),
    }
}

/// As [`write`] in database `dbi` (SMOVE/LMOVE-style commands that address another key).
pub fn write_in<'c, T: Collection>(
    ctx: &'c mut Ctx<'_, '_>,
    dbi: usize,
    key: &[u8],
) -> Result<Option<&'c mut T>, Reply> {
    match kv::lookup_in(ctx, dbi, key) {
        None => Ok(None),
        Some(e) => T::of(e.value_mut()).map(Some).ok_or_else(errors::wrongtype),
    }
}

/// Checks that `key` is missing or holds a `T`, without touching it (for commands that must
/// reject WRONGTYPE before doing anything else). Counts no hit or miss.
pub fn check_type<T: Collection>(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<bool, Reply> {
    match kv::lookup_notouch(ctx, key) {
        None => Ok(false),
        Some(e) if T::of_ref(e.value()).is_some() => Ok(true),
        Some(_) => Err(errors::wrongtype()),
    }
}

/// The collection at `key`, created with `make` when missing. WRONGTYPE for another type.
pub fn get_or_create<'c, T: Collection>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
    make: impl FnOnce(&Ctx<'_, '_>) -> T,
) -> Result<&'c mut T, Reply> {
    let exists = check_type::<T>(ctx, key)?;
    if !exists {
        let value = make(ctx).into_value();
        kv::add_key(ctx, key, value);
    }
    match write::<T>(ctx, key)? {
        Some(c) => Ok(c),
        // The key was just added under our locks; only a broken invariant gets here.
        None => Err(Reply::error("ERR internal error: collection vanished")),
    }
}

/// Stores `value` as a new key (overwriting whatever is there, TTL dropped): the STORE
/// variants of SINTERSTORE, ZUNIONSTORE, SORT ... STORE, LMOVE destinations and so on.
pub fn store<T: Collection>(ctx: &mut Ctx<'_, '_>, key: &[u8], value: T) {
    kv::set_key(ctx, key, value.into_value(), false);
}

/// Deletes `key` if its collection became empty, with the `del` keyspace event (Redis's
/// pattern after every removing write). Returns whether the key was deleted.
pub fn delete_if_empty<T: Collection>(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> bool {
    let empty = match kv::lookup_notouch(ctx, key) {
        Some(e) => T::of_ref(e.value()).is_some_and(|c| c.is_empty()),
        None => false,
    };
    if empty {
        kv::delete(ctx, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    empty
}

/// A new list shaped by the configured fill and compression depth.
pub fn new_list(ctx: &Ctx<'_, '_>) -> QuickList {
    ctx.engine.settings.new_list()
}
