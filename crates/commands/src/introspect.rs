//! The COMMAND command (COUNT, DOCS, GETKEYS, GETKEYSANDFLAGS, HELP, INFO,
//! LIST) over the metadata table, with Redis 7.0's reply shapes
//! (server.c `addReplyCommandInfo`, `addReplyCommandDocs`, ...).
//!
//! Only commands the server implements are listed: the caller passes an
//! `implemented` predicate, applied to top-level commands and to subcommands.
//! A name that is in Redis's table but not implemented is reported like an
//! unknown one (a null INFO entry, no DOCS entry). Subcommand order inside a
//! container follows the table (name order); Redis uses hash order, which
//! clients cannot rely on.
//!
//! Depends on [`crate::meta`], [`crate::reply`], [`crate::errors`] and
//! `ferrodis_ds::glob` (Redis's `stringmatchlen`, for LIST FILTERBY PATTERN).

use bytes::Bytes;

use ferrodis_ds::glob::string_match;

use crate::errors;
use crate::meta::{
    self, acl_cat, arg_flags, cmd_flags, doc_flags, key_flags, ArgSpec, BeginSearch, CommandMeta,
    FindKeys, KeySpec, KeysError,
};
use crate::reply::Reply;

/// `COMMAND [subcommand ...]`. `argv[0]` is the command name as the client sent it.
pub fn command_cmd(argv: &[Bytes], implemented: &dyn Fn(&CommandMeta) -> bool) -> Reply {
    let Some(sub_name) = argv.get(1) else {
        return Reply::Array(
            visible(meta::all(), implemented)
                .map(|c| info_reply(c, implemented))
                .collect(),
        );
    };
    let container = argv.first().map(|a| a.as_ref()).unwrap_or(b"command");
    let container = String::from_utf8_lossy(container);
    let Some(sub) = meta::lookup(b"command").and_then(|c| c.subcommand(sub_name)) else {
        return errors::unknown_subcommand(sub_name, &container);
    };
    if !sub.arity_ok(argv.len()) {
        return errors::wrong_arity(sub.full_name());
    }
    let args = argv.get(2..).unwrap_or_default();
    match sub.declared_name {
        "count" => Reply::Int(visible(meta::all(), implemented).count() as i64),
        "info" => command_info(args, implemented),
        "docs" => command_docs(args, implemented),
        "list" => command_list(args, implemented),
        "getkeys" => command_getkeys(args, false, implemented),
        "getkeysandflags" => command_getkeys(args, true, implemented),
        "help" => help(&container),
        _ => errors::unknown_subcommand(sub_name, &container),
    }
}

/// The implemented, non-Sentinel commands of `iter`.
fn visible<'a>(
    iter: impl Iterator<Item = &'static CommandMeta> + 'a,
    implemented: &'a dyn Fn(&CommandMeta) -> bool,
) -> impl Iterator<Item = &'static CommandMeta> + 'a {
    iter.filter(move |c| !c.is_sentinel_only() && implemented(c))
}

/// A command by full name (`get`, `config|get`), if it is visible.
fn find(name: &[u8], implemented: &dyn Fn(&CommandMeta) -> bool) -> Option<&'static CommandMeta> {
    let cmd = meta::lookup_full_name(name)?;
    let container_ok = match cmd.container_name() {
        Some(parent) => meta::lookup(parent.as_bytes()).is_some_and(implemented),
        None => true,
    };
    (container_ok && !cmd.is_sentinel_only() && implemented(cmd)).then_some(cmd)
}

fn command_info(names: &[Bytes], implemented: &dyn Fn(&CommandMeta) -> bool) -> Reply {
    if names.is_empty() {
        return Reply::Array(
            visible(meta::all(), implemented)
                .map(|c| info_reply(c, implemented))
                .collect(),
        );
    }
    Reply::Array(
        names
            .iter()
            .map(|n| match find(n, implemented) {
                Some(c) => info_reply(c, implemented),
                None => Reply::Null,
            })
            .collect(),
    )
}

fn command_docs(names: &[Bytes], implemented: &dyn Fn(&CommandMeta) -> bool) -> Reply {
    let found: Vec<&'static CommandMeta> = if names.is_empty() {
        visible(meta::all(), implemented).collect()
    } else {
        names.iter().filter_map(|n| find(n, implemented)).collect()
    };
    Reply::Map(
        found
            .into_iter()
            .map(|c| (Reply::bulk_static(c.name), docs_reply(c, implemented)))
            .collect(),
    )
}

enum ListFilter<'a> {
    All,
    Module,
    AclCat(Option<u64>),
    Pattern(&'a [u8]),
}

fn command_list(args: &[Bytes], implemented: &dyn Fn(&CommandMeta) -> bool) -> Reply {
    let mut filter = ListFilter::All;
    let mut i = 0;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if !(opt.eq_ignore_ascii_case(b"filterby") && more == 2) {
            return errors::syntax();
        }
        let (kind, value) = (&args[i + 1], &args[i + 2]);
        filter = if kind.eq_ignore_ascii_case(b"module") {
            ListFilter::Module
        } else if kind.eq_ignore_ascii_case(b"aclcat") {
            ListFilter::AclCat(acl_cat::by_name(value))
        } else if kind.eq_ignore_ascii_case(b"pattern") {
            ListFilter::Pattern(value)
        } else {
            return errors::syntax();
        };
        i += 3;
    }
    let keep = |c: &CommandMeta| match &filter {
        ListFilter::All => true,
        // We have no modules, so no command belongs to one.
        ListFilter::Module => false,
        ListFilter::AclCat(cat) => cat.is_some_and(|cat| c.in_acl_category(cat)),
        ListFilter::Pattern(p) => string_match(p, c.name.as_bytes(), true),
    };
    let mut out = Vec::new();
    for c in visible(meta::all(), implemented) {
        if keep(c) {
            out.push(Reply::bulk_static(c.name));
        }
        for s in c.subcommands.iter().filter(|s| implemented(s)) {
            if keep(s) {
                out.push(Reply::bulk_static(s.name));
            }
        }
    }
    Reply::Array(out)
}

fn command_getkeys(
    line: &[Bytes],
    with_flags: bool,
    implemented: &dyn Fn(&CommandMeta) -> bool,
) -> Reply {
    // A command we do not serve is unknown here too, as in COMMAND INFO.
    let known =
        meta::lookup_argv(line).is_some_and(|c| find(c.name.as_bytes(), implemented).is_some());
    if !known {
        return getkeys_error(KeysError::InvalidCommand);
    }
    match meta::command_getkeys(line) {
        Ok(keys) => Reply::Array(
            keys.iter()
                .filter_map(|k| {
                    let key = Reply::Bulk(line.get(k.pos)?.clone());
                    Some(if with_flags {
                        Reply::Array(vec![key, key_flags_reply(k.flags)])
                    } else {
                        key
                    })
                })
                .collect(),
        ),
        Err(e) => getkeys_error(e),
    }
}

fn getkeys_error(e: KeysError) -> Reply {
    Reply::error(format!("ERR {e}"))
}

fn help(container: &str) -> Reply {
    const LINES: [&str; 16] = [
        "(no subcommand)",
        "    Describe every command of this server.",
        "COUNT",
        "    Number of commands of this server.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Names of the commands and subcommands, optionally filtered.",
        "INFO [<command-name> ...]",
        "    Describe the named commands, or all of them without names.",
        "DOCS [<command-name> ...]",
        "    Documentation of the named commands, or all of them without names.",
        "GETKEYS <full-command>",
        "    The key arguments of a complete command line.",
        "GETKEYSANDFLAGS <full-command>",
        "    The key arguments of a complete command line and how each is accessed.",
        "HELP",
        "    Prints this help.",
    ];
    let mut out = vec![Reply::Status(Bytes::from(format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        container.to_ascii_uppercase()
    )))];
    out.extend(LINES.iter().map(|l| Reply::status(l)));
    Reply::Array(out)
}

// ---- reply builders ---------------------------------------------------------

fn status_set<T: Copy + Into<u64>>(bits: T, names: &[(T, &'static str)]) -> Reply {
    let bits: u64 = bits.into();
    Reply::Set(
        names
            .iter()
            .filter(|(flag, _)| bits & (*flag).into() != 0)
            .map(|(_, name)| Reply::status(name))
            .collect(),
    )
}

fn key_flags_reply(flags: u32) -> Reply {
    status_set(flags, &key_flags::REPLY_NAMES)
}

fn map(pairs: Vec<(&'static str, Reply)>) -> Reply {
    Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::bulk_static(k), v))
            .collect(),
    )
}

/// One COMMAND INFO entry: name, arity, flags, first key, last key, step,
/// ACL categories, tips, key specs, subcommands.
pub fn info_reply(cmd: &CommandMeta, implemented: &dyn Fn(&CommandMeta) -> bool) -> Reply {
    let (first, last, step) = cmd.legacy_range;
    let categories = Reply::Set(
        acl_cat::ALL
            .iter()
            .filter(|(_, bit)| cmd.acl_categories & bit != 0)
            .map(|(name, _)| Reply::Status(Bytes::from(format!("@{name}"))))
            .collect(),
    );
    // A container reports an array of its subcommands; any other command an empty set.
    let subcommands = if cmd.is_container() {
        Reply::Array(
            cmd.subcommands
                .iter()
                .filter(|s| implemented(s))
                .map(|s| info_reply(s, implemented))
                .collect(),
        )
    } else {
        Reply::Set(Vec::new())
    };
    Reply::Array(vec![
        Reply::bulk_static(cmd.name),
        Reply::Int(i64::from(cmd.arity)),
        status_set(cmd.flags, &cmd_flags::REPLY_NAMES),
        Reply::Int(i64::from(first)),
        Reply::Int(i64::from(last)),
        Reply::Int(i64::from(step)),
        categories,
        Reply::Set(cmd.tips.iter().map(|t| Reply::bulk_static(t)).collect()),
        Reply::Set(cmd.key_specs.iter().map(key_spec_reply).collect()),
        subcommands,
    ])
}

fn key_spec_reply(spec: &KeySpec) -> Reply {
    let mut pairs = Vec::with_capacity(4);
    if let Some(notes) = spec.notes {
        pairs.push(("notes", Reply::bulk_static(notes)));
    }
    pairs.push(("flags", key_flags_reply(spec.flags)));
    let (bs_type, bs_spec) = match spec.begin_search {
        BeginSearch::Index { pos } => ("index", map(vec![("index", Reply::Int(pos.into()))])),
        BeginSearch::Keyword { keyword, startfrom } => (
            "keyword",
            map(vec![
                ("keyword", Reply::bulk_static(keyword)),
                ("startfrom", Reply::Int(startfrom.into())),
            ]),
        ),
        BeginSearch::Unknown => ("unknown", map(Vec::new())),
    };
    pairs.push((
        "begin_search",
        map(vec![
            ("type", Reply::bulk_static(bs_type)),
            ("spec", bs_spec),
        ]),
    ));
    let (fk_type, fk_spec) = match spec.find_keys {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => (
            "range",
            map(vec![
                ("lastkey", Reply::Int(lastkey.into())),
                ("keystep", Reply::Int(keystep.into())),
                ("limit", Reply::Int(limit.into())),
            ]),
        ),
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => (
            "keynum",
            map(vec![
                ("keynumidx", Reply::Int(keynumidx.into())),
                ("firstkey", Reply::Int(firstkey.into())),
                ("keystep", Reply::Int(keystep.into())),
            ]),
        ),
        FindKeys::Unknown => ("unknown", map(Vec::new())),
    };
    pairs.push((
        "find_keys",
        map(vec![
            ("type", Reply::bulk_static(fk_type)),
            ("spec", fk_spec),
        ]),
    ));
    map(pairs)
}

/// One COMMAND DOCS value (the map that follows the command's name).
pub fn docs_reply(cmd: &CommandMeta, implemented: &dyn Fn(&CommandMeta) -> bool) -> Reply {
    let mut pairs = vec![
        ("summary", Reply::bulk_static(cmd.summary)),
        ("since", Reply::bulk_static(cmd.since)),
        ("group", Reply::bulk_static(cmd.group)),
    ];
    if let Some(c) = cmd.complexity {
        pairs.push(("complexity", Reply::bulk_static(c)));
    }
    if cmd.doc_flags != 0 {
        pairs.push((
            "doc_flags",
            status_set(cmd.doc_flags, &doc_flags::REPLY_NAMES),
        ));
    }
    if let Some(v) = cmd.deprecated_since {
        pairs.push(("deprecated_since", Reply::bulk_static(v)));
    }
    if let Some(v) = cmd.replaced_by {
        pairs.push(("replaced_by", Reply::bulk_static(v)));
    }
    if !cmd.history.is_empty() {
        pairs.push((
            "history",
            Reply::Set(
                cmd.history
                    .iter()
                    .map(|(v, t)| Reply::Array(vec![Reply::bulk_static(v), Reply::bulk_static(t)]))
                    .collect(),
            ),
        ));
    }
    if !cmd.args.is_empty() {
        pairs.push(("arguments", args_reply(cmd.args)));
    }
    if cmd.is_container() {
        pairs.push((
            "subcommands",
            Reply::Map(
                cmd.subcommands
                    .iter()
                    .filter(|s| implemented(s))
                    .map(|s| (Reply::bulk_static(s.name), docs_reply(s, implemented)))
                    .collect(),
            ),
        ));
    }
    map(pairs)
}

fn args_reply(args: &[ArgSpec]) -> Reply {
    Reply::Array(
        args.iter()
            .map(|a| {
                let mut pairs = vec![
                    ("name", Reply::bulk_static(a.name)),
                    ("type", Reply::bulk_static(a.arg_type.as_str())),
                ];
                if let Some(i) = a.key_spec_index {
                    pairs.push(("key_spec_index", Reply::Int(i.into())));
                }
                if let Some(t) = a.token {
                    pairs.push(("token", Reply::bulk_static(t)));
                }
                if let Some(s) = a.since {
                    pairs.push(("since", Reply::bulk_static(s)));
                }
                if let Some(s) = a.deprecated_since {
                    pairs.push(("deprecated_since", Reply::bulk_static(s)));
                }
                if a.flags != 0 {
                    pairs.push(("flags", status_set(a.flags, &arg_flags::REPLY_NAMES)));
                }
                if matches!(a.arg_type, meta::ArgType::OneOf | meta::ArgType::Block) {
                    pairs.push(("arguments", args_reply(a.args)));
                }
                map(pairs)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }
    fn all(_: &CommandMeta) -> bool {
        true
    }

    #[test]
    fn count_and_filtering_by_implemented() {
        let only_get = |c: &CommandMeta| c.name == "get";
        assert_eq!(
            command_cmd(&argv("COMMAND COUNT"), &only_get),
            Reply::Int(1)
        );
        assert_eq!(command_cmd(&argv("command count"), &all), Reply::Int(240));
        match command_cmd(&argv("command info get set"), &only_get) {
            Reply::Array(v) => {
                assert_eq!(v.len(), 2);
                assert!(matches!(&v[0], Reply::Array(x) if x.len() == 10));
                assert_eq!(v[1], Reply::Null);
            }
            other => panic!("{other:?}"),
        }
        match command_cmd(&argv("command"), &only_get) {
            Reply::Array(v) => assert_eq!(v.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_filters() {
        let names = |line: &str| match command_cmd(&argv(line), &all) {
            Reply::Array(v) => v
                .into_iter()
                .map(|r| match r {
                    Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(names("command list filterby pattern set"), ["set"]);
        assert_eq!(
            names("command list filterby pattern config|*re*"),
            ["config|resetstat", "config|rewrite"]
        );
        assert!(names("command list filterby aclcat no_such_category").is_empty());
        assert!(names("command list filterby module m").is_empty());
        let scripting = names("command list filterby aclcat SCRIPTING");
        assert!(scripting.contains(&"eval".to_string()));
        assert!(scripting.contains(&"function|load".to_string()));
        assert!(!names("command list").contains(&"sentinel".to_string()));
        for bad in [
            "command list bad_arg",
            "command list filterby bad_arg",
            "command list filterby x y",
        ] {
            assert_eq!(command_cmd(&argv(bad), &all), errors::syntax(), "{bad}");
        }
    }

    #[test]
    fn errors_match_redis() {
        assert_eq!(
            command_cmd(&argv("command nope"), &all),
            Reply::error("ERR unknown subcommand 'nope'. Try COMMAND HELP.")
        );
        assert_eq!(
            command_cmd(&argv("command getkeys"), &all),
            Reply::error("ERR wrong number of arguments for 'command|getkeys' command")
        );
        assert_eq!(
            command_cmd(&argv("command count x"), &all),
            Reply::error("ERR wrong number of arguments for 'command|count' command")
        );
        assert_eq!(
            command_cmd(&argv("command getkeys nosuch a"), &all),
            Reply::error("ERR Invalid command specified")
        );
        assert_eq!(
            command_cmd(&argv("command getkeys get a b"), &all),
            Reply::error("ERR Invalid number of arguments specified for command")
        );
        assert_eq!(
            command_cmd(&argv("command getkeys publish a b"), &all),
            Reply::error("ERR The command has no key arguments")
        );
    }

    #[test]
    fn getkeys_of_unserved_commands_is_invalid() {
        let no_set = |c: &CommandMeta| c.name != "set";
        assert_eq!(
            command_cmd(&argv("command getkeys set k v"), &no_set),
            Reply::error("ERR Invalid command specified")
        );
        assert_eq!(
            command_cmd(&argv("command getkeys sentinel masters"), &all),
            Reply::error("ERR Invalid command specified")
        );
    }

    #[test]
    fn getkeys_replies() {
        assert_eq!(
            command_cmd(&argv("command getkeys set k v"), &all),
            Reply::Array(vec![Reply::bulk("k")])
        );
        assert_eq!(
            command_cmd(&argv("command getkeysandflags lmove a b left right"), &all),
            Reply::Array(vec![
                Reply::Array(vec![
                    Reply::bulk("a"),
                    Reply::Set(vec![
                        Reply::status("RW"),
                        Reply::status("access"),
                        Reply::status("delete")
                    ])
                ]),
                Reply::Array(vec![
                    Reply::bulk("b"),
                    Reply::Set(vec![Reply::status("RW"), Reply::status("insert")])
                ]),
            ])
        );
    }

    #[test]
    fn docs_skips_unknown_and_help_has_header() {
        match command_cmd(&argv("command docs get nosuch"), &all) {
            Reply::Map(m) => {
                assert_eq!(m.len(), 1);
                assert_eq!(m[0].0, Reply::bulk("get"));
            }
            other => panic!("{other:?}"),
        }
        match command_cmd(&argv("command help"), &all) {
            Reply::Array(lines) => {
                assert_eq!(
                    lines[0],
                    Reply::status(
                        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
                    )
                );
                assert_eq!(lines.last(), Some(&Reply::status("    Prints this help.")));
            }
            other => panic!("{other:?}"),
        }
    }
}
