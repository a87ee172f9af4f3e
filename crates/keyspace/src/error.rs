//! The keyspace crate's error type.

/// Errors of the key table and keyspace construction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyspaceError {
    /// `begin_snapshot` was called while the previous snapshot still had unvisited entries.
    #[error("a snapshot is still in progress ({unvisited} entries not visited)")]
    SnapshotInProgress {
        /// Entries the previous snapshot has not visited yet.
        unvisited: usize,
    },
    /// A keyspace needs at least one shard.
    #[error("the number of shards must be at least 1")]
    NoShards,
    /// A keyspace needs at least one database.
    #[error("the number of databases must be at least 1")]
    NoDatabases,
}

/// Result alias for this crate.
pub type Result<T, E = KeyspaceError> = std::result::Result<T, E>;
