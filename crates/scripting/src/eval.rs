//! EVAL scripts: the cache of compiled scripts by SHA1 (SCRIPT LOAD / EXISTS / FLUSH) and
//! one run of a script with its KEYS and ARGV.

use crate::convert;
use crate::shebang;
use crate::vm::{Kind, Vm};
use crate::{Host, Reply, Watchdog};
use bytes::Bytes;
use mlua::{Function, Value};
use std::collections::HashMap;
use std::rc::Rc;

pub struct Script {
    pub body: Bytes,
    /// Shebang flags ([`shebang::flags`]); `EVAL_COMPAT` without a shebang.
    pub flags: u32,
    func: Function,
}

pub struct Scripts {
    vm: Vm,
    cache: HashMap<String, Script>,
    watch: Rc<dyn Watchdog>,
    /// Bytes of script bodies held (used_memory_scripts_eval).
    bodies_bytes: usize,
}

impl Scripts {
    pub fn new(watch: Rc<dyn Watchdog>) -> mlua::Result<Scripts> {
        Ok(Scripts {
            vm: Vm::new(watch.clone(), Kind::Eval)?,
            cache: HashMap::new(),
            watch,
            bodies_bytes: 0,
        })
    }

    /// Compiles and caches `body` (EVAL, SCRIPT LOAD); returns its SHA1.
    pub fn create(&mut self, body: &Bytes) -> Result<String, Reply> {
        let sha = crate::sha1_hex(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, header) =
            shebang::eval_flags(body).map_err(|e| Reply::error(format!("ERR {e}")))?;
        let func = self
            .vm
            .compile(&body[header..], "@user_script")
            .map_err(|e| Reply::error(format!("ERR Error compiling script (new function): {e}")))?;
        self.bodies_bytes += body.len() + 40;
        self.cache.insert(
            sha.clone(),
            Script {
                body: body.clone(),
                flags,
                func,
            },
        );
        Ok(sha)
    }

    pub fn get(&self, sha: &str) -> Option<&Script> {
        self.cache.get(sha)
    }

    /// The cached script an EVALSHA argument names (SHA1 digits in either case) and its SHA1
    /// as cached (lowercase), without allocating.
    pub fn find(&self, sha: &[u8]) -> Option<(&str, &Script)> {
        let mut lower = [0u8; 40];
        if sha.len() != lower.len() {
            return None;
        }
        for (l, c) in lower.iter_mut().zip(sha) {
            *l = c.to_ascii_lowercase();
        }
        let key = std::str::from_utf8(&lower).ok()?;
        self.cache.get_key_value(key).map(|(k, s)| (k.as_str(), s))
    }

    /// SHA1s of the cached scripts declaring `no-writes` (CLIENT PAUSE WRITE lets them run).
    pub fn no_writes_shas(&self) -> impl Iterator<Item = &str> {
        self.cache
            .iter()
            .filter(|(_, s)| s.flags & crate::shebang::flags::NO_WRITES != 0)
            .map(|(sha, _)| sha.as_str())
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        self.find(sha).is_some()
    }

    /// SCRIPT FLUSH: a new Lua state and an empty cache, as Redis's scriptingReset.
    pub fn flush(&mut self) -> mlua::Result<()> {
        self.cache.clear();
        self.bodies_bytes = 0;
        self.vm = Vm::new(self.watch.clone(), Kind::Eval)?;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    pub fn bodies_bytes(&self) -> usize {
        self.bodies_bytes
    }

    pub fn vm_memory(&self) -> usize {
        self.vm.used_memory()
    }

    /// Runs a cached script (the caller checked it exists and may run) with `host` serving its
    /// `redis.call`s.
    pub fn run(&self, sha: &str, keys: &[Bytes], args: &[Bytes], host: &mut dyn Host) -> Reply {
        let Some(script) = self.cache.get(sha) else {
            return Reply::err_static("NOSCRIPT No matching script. Please use EVAL.");
        };
        let vm = &self.vm;
        let (reply, counted) = vm.with_host(host, |vm| {
            let r = vm.run_script(&script.func, keys, args);
            finish(vm, r, sha)
        });
        if counted {
            host.error_already_counted();
        }
        if self.watch.killed() {
            vm.restore_hook(self.watch.clone());
        }
        reply
    }
}

/// The reply of a finished run: the converted value, or Redis 7's error line
/// "<msg> script: <name>, on <source>:<line>.".
/// Also tells whether that error was already counted when a command failed inside the script.
pub(crate) fn finish(
    vm: &Vm,
    r: Result<Value, crate::vm::ScriptError>,
    name: &str,
) -> (Reply, bool) {
    match r {
        // Reading the result allocates nothing of the script's: no memory limit needed.
        Ok(v) => crate::vm::unlimited(&vm.lua, || {
            let counted = match &v {
                Value::Table(t) => {
                    matches!(t.raw_get::<Value>("err"), Ok(Value::String(_)))
                        && matches!(
                            t.raw_get::<Value>("ignore_error_stats_update"),
                            Ok(Value::Boolean(true))
                        )
                }
                _ => false,
            };
            (convert::lua_to_reply(&v, vm.resp()), counted)
        }),
        Err(e) => {
            let counted = e.counted;
            let mut msg = e.msg;
            if let (Some(src), Some(line)) = (e.source, e.line) {
                msg.extend_from_slice(b" script: ");
                msg.extend_from_slice(name.as_bytes());
                msg.extend_from_slice(b", on ");
                msg.extend_from_slice(&src);
                msg.extend_from_slice(format!(":{line}.").as_bytes());
            }
            for b in msg.iter_mut() {
                if *b == b'\r' || *b == b'\n' {
                    *b = b' ';
                }
            }
            (Reply::Error(Bytes::from(msg)), counted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    struct NoWatch(Cell<bool>);
    impl Watchdog for NoWatch {
        fn check(&self) -> bool {
            false
        }
        fn killed(&self) -> bool {
            self.0.get()
        }
    }

    /// Answers INCR with an error and everything else with its first argument.
    struct Echo;
    impl Host for Echo {
        fn call(&mut self, argv: Vec<Bytes>, _resp: u8) -> Reply {
            if argv[0].eq_ignore_ascii_case(b"incr") {
                return Reply::err_static("ERR value is not an integer or out of range");
            }
            Reply::Bulk(argv[0].clone())
        }
        fn log(&mut self, _level: i64, _msg: &[u8]) {}
        fn set_repl(&mut self, _flags: u8) {}
    }

    fn eval(s: &mut Scripts, body: &str) -> Reply {
        let sha = match s.create(&Bytes::copy_from_slice(body.as_bytes())) {
            Ok(sha) => sha,
            Err(e) => return e,
        };
        s.run(
            &sha,
            &[Bytes::from_static(b"k")],
            &[Bytes::from_static(b"a")],
            &mut Echo,
        )
    }

    #[track_caller]
    fn err(r: Reply) -> String {
        match r {
            Reply::Error(e) => String::from_utf8_lossy(&e).into_owned(),
            other => panic!("not an error: {other:?}"),
        }
    }

    #[test]
    fn basics_and_errors() {
        let mut s = Scripts::new(Rc::new(NoWatch(Cell::new(false)))).unwrap();
        assert_eq!(eval(&mut s, "return 1.9"), Reply::Int(1));
        assert_eq!(
            eval(&mut s, "return {KEYS[1], ARGV[1], redis.call('x')}"),
            Reply::Array(vec![
                Reply::Bulk(Bytes::from_static(b"k")),
                Reply::Bulk(Bytes::from_static(b"a")),
                Reply::Bulk(Bytes::from_static(b"x"))
            ])
        );
        let sha = crate::sha1_hex(b"return a");
        assert_eq!(
            err(eval(&mut s, "return a")),
            format!("ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: {sha}, on @user_script:1.")
        );
        assert!(err(eval(&mut s, "a = 10"))
            .starts_with("ERR user_script:1: Attempt to modify a readonly table script:"));
        assert!(err(eval(&mut s, "redis.call = 1"))
            .starts_with("ERR user_script:1: Attempt to modify a readonly table"));
        assert!(err(eval(&mut s, "setmetatable(_G, {})"))
            .starts_with("ERR Attempt to modify a readonly table script"));
        assert!(
            err(eval(&mut s, "local g = getmetatable(_G); g.__index = {}"))
                .starts_with("ERR user_script:1: Attempt to modify a readonly table")
        );
        assert!(
            err(eval(&mut s, "cjson.encode = 1")).contains("Attempt to modify a readonly table")
        );
        assert!(err(eval(&mut s, "return redis.call('incr','x')"))
            .starts_with("ERR value is not an integer or out of range script: "));
        assert_eq!(
            err(eval(&mut s, "return redis.pcall('incr','x')")),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(err(eval(&mut s, "return {err='X y'}")), "X y");
        assert!(err(eval(&mut s, "error('boom')")).starts_with("ERR user_script:1: boom script:"));
        assert!(err(eval(
            &mut s,
            "return loadstring(string.dump(function() return 1 end))()"
        ))
        .contains("attempt to call a nil value"));
        assert!(err(eval(&mut s, "print('x')")).contains("nonexistent global variable 'print'"));
        assert!(err(eval(&mut s, "return foo("))
            .starts_with("ERR Error compiling script (new function): user_script:1:"));
        assert!(err(eval(&mut s, "return debug")).contains("nonexistent global variable 'debug'"));
        assert!(err(eval(&mut s, "return os")).contains("nonexistent global variable 'os'"));
        assert_eq!(
            eval(&mut s, "return redis.sha1hex('')"),
            Reply::Bulk(Bytes::from_static(
                b"da39a3ee5e6b4b0d3255bfef95601890afd80709"
            ))
        );
        assert_eq!(
            eval(&mut s, "return bit.tohex(65535, -4)"),
            Reply::Bulk(Bytes::from_static(b"FFFF"))
        );
        assert_eq!(
            eval(&mut s, "return ('x'):upper()"),
            Reply::Bulk(Bytes::from_static(b"X"))
        );
        assert_eq!(
            eval(
                &mut s,
                "local n = 0 for k in pairs(redis) do n = n + 1 end return n > 5"
            ),
            Reply::Int(1)
        );
        assert!(
            err(eval(&mut s, "return string.rep('x', 2^30)")).contains("memory"),
            "{:?}",
            eval(&mut s, "return string.rep('x', 2^30)")
        );
        assert!(err(eval(
            &mut s,
            "local function f() return f() + 1 end return f()"
        ))
        .contains("stack overflow"));
        let b = |s: &'static str| Reply::Bulk(Bytes::from_static(s.as_bytes()));
        assert_eq!(
            eval(&mut s, "return cjson.encode({1,2,'x',{a=true}})"),
            b("[1,2,\"x\",{\"a\":true}]")
        );
        assert_eq!(
            eval(
                &mut s,
                "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')"
            ),
            b("0 -5000 -1 0.0003 1023.2 0")
        );
        assert_eq!(
            eval(
                &mut s,
                "return cjson.decode('{\"a\":null}').a == cjson.null"
            ),
            Reply::Int(1)
        );
        assert_eq!(eval(&mut s, "local e = cmsgpack.pack(0.1) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h"), b("cb3fb999999999999a"));
        assert_eq!(eval(&mut s, "local e = cmsgpack.pack(-1099511627776) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h"), b("d3ffffff0000000000"));
        assert_eq!(eval(&mut s, "local t = cmsgpack.unpack(cmsgpack.pack({1, 'a', {x = 2}})) return {t[1], t[2], t[3].x}"), Reply::Array(vec![Reply::Int(1), b("a"), Reply::Int(2)]));
        assert_eq!(
            eval(
                &mut s,
                "return {struct.unpack('>I2', struct.pack('>I2', 258))}"
            ),
            Reply::Array(vec![Reply::Int(258), Reply::Int(3)])
        );
        assert_eq!(eval(&mut s, "return struct.size('<iHb')"), Reply::Int(7));
        let sha = crate::sha1_hex(b"return redis.call('incr','x')");
        assert_eq!(
            err(eval(&mut s, "return redis.call('incr','x')")),
            format!(
                "ERR value is not an integer or out of range script: {sha}, on @user_script:1."
            )
        );
        assert_eq!(
            eval(
                &mut s,
                "local ok, e = pcall(redis.call, 'incr', 'x') return e"
            ),
            // Redis 7.0's pcall hands back the error table's message, a string.
            Reply::Bulk(Bytes::from_static(
                b"ERR value is not an integer or out of range"
            ))
        );
        assert!(err(eval(&mut s, "redis.setresp(4)"))
            .starts_with("ERR RESP version must be 2 or 3. script:"));
    }
}

#[cfg(test)]
mod big_inputs {
    use super::tests_support::*;
    use super::*;
    #[test]
    fn big_pack_alone() {
        let mut s = Scripts::new(Rc::new(NoWatch)).unwrap();
        let body = Bytes::from_static(
            b"local a = {} for i = 1, 100000 do a[i] = i end local p = cmsgpack.pack(a) return 1",
        );
        let sha = s.create(&body).unwrap();
        let r = s.run(&sha, &[], &[], &mut Null);
        assert_eq!(r, Reply::Int(1));
    }
    #[test]
    fn after_errors_big_pack() {
        for bad in [
            "for i = 1, 20000 do cmsgpack.pack({1}) end return 1",
            "for i = 1, 20000 do cmsgpack.pack(1) end return 1",
            "local a = {} for i = 1, 9000 do a[i] = i end return 1",
            "return string.rep('x', 2^30)",
            "return foo(",
            "setmetatable(_G, {})",
            "return loadstring(string.dump(function() return 1 end))()",
            "local n = 0 for k in pairs(redis) do n = n + 1 end return n",
            "return ('x'):upper()",
        ] {
            let mut s = Scripts::new(Rc::new(NoWatch)).unwrap();
            for _ in 0..3 {
                if let Ok(sha) = s.create(&Bytes::from_static(bad.as_bytes())) {
                    let _ = s.run(&sha, &[], &[], &mut Null);
                }
            }
            let body = Bytes::from_static(b"local a = {} for i = 1, 100000 do a[i] = i end local p = cmsgpack.pack(a) return 1");
            let sha = s.create(&body).unwrap();
            assert_eq!(
                s.run(&sha, &[], &[], &mut Null),
                Reply::Int(1),
                "after {bad}"
            );
        }
    }
    #[test]
    fn cmsgpack_smoke() {
        let mut s = Scripts::new(Rc::new(NoWatch)).unwrap();
        // Tables far larger than the 8000 references a Rust caller may hold into Lua.
        let body = Bytes::from_static(
            b"local m = {} for i = 1, 100000 do m[tostring(i)] = i end \
              local a = {} for i = 1, 100000 do a[i] = string.rep('x', i % 40) end \
              local t = {m = m, a = a, s = string.rep('y', 100000), d = 0.1, n = -3147483648} \
              local d = cmsgpack.unpack(cmsgpack.pack(t)) \
              assert(d.m['99999'] == 99999 and d.a[100000] == a[100000] and #d.s == 100000) \
              assert(d.d == 0.1 and d.n == -3147483648) \
              local j = cjson.decode(cjson.encode({m = m, a = a})) \
              assert(j.m['5'] == 5 and #j.a == 100000) \
              return nil",
        );
        let sha = s.create(&body).unwrap();
        assert_eq!(s.run(&sha, &[], &[], &mut Null), Reply::Null);
    }
    #[test]
    fn many_runs() {
        let mut s = Scripts::new(Rc::new(NoWatch)).unwrap();
        for body in [
            "return cjson.encode({1,2,{a=1}})",
            "return cjson.decode('[1,{\"a\":2}]')",
            "return cmsgpack.unpack(cmsgpack.pack({1,'a',{x=2}}))",
            "return {struct.unpack('>I2', struct.pack('>I2', 258))}",
            "local function f() return f() + 1 end return f()",
            "return redis.setresp(4)",
            "return bit.band(1,3)",
            "return pcall(redis.call, 'x')",
            "return 1",
            "return {1,2}",
            "return redis.call('x')",
            "error('x')",
            "return redis.pcall('x')",
            "return a",
        ] {
            let sha = s.create(&Bytes::from_static(body.as_bytes())).unwrap();
            for _ in 0..3000 {
                let r = s.run(&sha, &[Bytes::from_static(b"k")], &[], &mut Null);
                assert!(
                    !matches!(&r, Reply::Error(e) if e.starts_with(b"ERR cannot")),
                    "{body}: {r:?}"
                );
            }
        }
    }
}
#[cfg(test)]
mod tests_support {
    use super::*;
    pub struct NoWatch;
    impl Watchdog for NoWatch {
        fn check(&self) -> bool {
            false
        }
        fn killed(&self) -> bool {
            false
        }
    }
    pub struct Null;
    impl Host for Null {
        fn call(&mut self, _argv: Vec<Bytes>, _resp: u8) -> Reply {
            Reply::Null
        }
        fn log(&mut self, _level: i64, _msg: &[u8]) {}
        fn set_repl(&mut self, _flags: u8) {}
    }
}
