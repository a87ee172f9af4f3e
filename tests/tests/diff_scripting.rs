//! Differential test of what crosses between Lua and the server in `redis.call` and
//! `redis.pcall`, against Debian's redis-server 7.0.15: arguments (strings, numbers formatted
//! as `%.17g`, refused types), every reply shape converted for the script (status, error,
//! integer, bulk, null, nested arrays; RESP3 maps, sets, doubles and nulls after
//! `redis.setresp(3)`), and the errors raised or returned, with Redis 7's "script: ..., on
//! @user_script:N." suffix. Replies must match RESP frame for frame.

use ferrodis_tests::diff::{self, Check};

#[test]
fn call_arguments_and_reply_conversions() {
    let mut seq: Vec<(Check, &[&[u8]])> = vec![
        (Check::Exact, &[b"RPUSH", b"l", b"a", b"b", b"c"]),
        (Check::Exact, &[b"HSET", b"h", b"f", b"v"]),
        (Check::Exact, &[b"ZADD", b"z", b"1.5", b"m"]),
        (Check::Exact, &[b"SADD", b"s", b"x", b"y"]),
        (Check::Exact, &[b"SET", b"str", b"text"]),
        (Check::Exact, &[b"XADD", b"x", b"1-1", b"f", b"v"]),
        // Reply shapes in RESP2.
        (Check::Exact, &[b"EVAL", b"return redis.call('set', KEYS[1], 'v')", b"1", b"k"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('ping')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('incr', 'n')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('get', 'missing') == false", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('lrange', 'l', 0, -1)", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('xrange', 'x', '-', '+')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('hgetall', 'h')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('zscore', 'z', 'm')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return type(redis.call('set', 'k', 'v'))", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('set', 'k', 'v').ok", b"0"]),
        // Reply shapes in RESP3.
        (Check::Exact, &[b"EVAL", b"redis.setresp(3) return redis.call('hgetall', 'h').map.f", b"0"]),
        (Check::Exact, &[b"EVAL", b"redis.setresp(3) local n = 0 for _ in pairs(redis.call('smembers', 's').set) do n = n + 1 end return n", b"0"]),
        (Check::Exact, &[b"EVAL", b"redis.setresp(3) return tostring(redis.call('zscore', 'z', 'm').double)", b"0"]),
        (Check::Exact, &[b"EVAL", b"redis.setresp(3) return redis.call('get', 'missing') == nil", b"0"]),
        (Check::Exact, &[b"EVAL", b"redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')[1][2].double", b"0"]),
        // Errors: raised by redis.call, returned by redis.pcall.
        (Check::Exact, &[b"EVAL", b"return redis.call('incr', 'str')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.pcall('incr', 'str')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.pcall('incr', 'str').err", b"0"]),
        // Redis 7.0's pcall hands back an error table's message, as older versions did.
        (Check::Exact, &[b"EVAL", b"local ok, e = pcall(redis.call, 'incr', 'str') return {tostring(ok), type(e), e}", b"0"]),
        (Check::Exact, &[b"EVAL", b"local ok, e = pcall(redis.call, 'nosuch') return e", b"0"]),
        (Check::Exact, &[b"EVAL", b"local ok, e = pcall(error, {err = 'custom'}) return {tostring(ok), e}", b"0"]),
        (Check::Exact, &[b"EVAL", b"local ok, e = pcall(error, {err = 5}) return type(e)", b"0"]),
        (Check::Exact, &[b"EVAL", b"local ok, e = pcall(error, {x = 1}) return type(e)", b"0"]),
        (Check::Exact, &[b"EVAL", b"local ok, e = pcall(error, 'plain') return e", b"0"]),
        (Check::Exact, &[b"EVAL", b"return {pcall(redis.sha1hex)}", b"0"]),
        (Check::Exact, &[b"EVAL", b"local ok, t = xpcall(function() redis.call('incr', 'str') end, function(e) return type(e) end) return {tostring(ok), t}", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call()", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.pcall()", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('get', {})", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.pcall('get', nil)", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('nosuchcommand')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('get')", b"0"]),
        (Check::Exact, &[b"EVAL", b"return redis.call('get', 'a', 'b')", b"0"]),
    ];
    // Numbers as arguments: Redis formats every one with %.17g.
    let numbers = [
        "3",
        "-7",
        "0.1",
        "1e17",
        "123456789012345678",
        "9007199254740993",
        "1e-300",
        "-0.0",
        "2^63",
        "1/0",
        "-1/0",
        "0/0",
        "2.5e-7",
        "1e15",
        "1e16",
        "0.5",
    ];
    let scripts: Vec<Vec<u8>> = numbers
        .iter()
        .map(|n| {
            format!("redis.call('set', KEYS[1], {n}) return redis.call('get', KEYS[1])")
                .into_bytes()
        })
        .collect();
    let argvs: Vec<[&[u8]; 4]> = scripts
        .iter()
        .map(|s| [&b"EVAL"[..], s.as_slice(), b"1", b"num"])
        .collect();
    for a in &argvs {
        seq.push((Check::Exact, a));
    }
    diff::regression(&seq, &[diff::cmd_of(Check::Exact, &["GET", "num"])]);
}
