/*
 * C `long double` helpers for ferrodis-ds (see src/num.rs).
 *
 * Redis computes INCRBYFLOAT / HINCRBYFLOAT in the platform's C `long double`
 * (80-bit x87 extended precision on x86_64), parses with strtold() and prints
 * with printf("%.17Lf") / ("%.17Lg"). Rust has no such type, so to give
 * bit-identical results we do exactly those few operations in C and keep the
 * values opaque on the Rust side (a 16-byte, 16-aligned blob).
 *
 * Also exposes strtod() (used for the rare hexadecimal-float syntax) and
 * snprintf("%.17g") (used by the tests as an oracle for the Rust formatter).
 *
 * Everything here is reentrant and never allocates; every buffer comes with
 * its capacity from the caller.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(long double) <= 16, "long double must fit the Rust-side blob");
_Static_assert(_Alignof(long double) <= 16, "long double must fit the Rust-side blob alignment");

static long double fd_load(const void *p) {
    long double v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void fd_store(void *p, long double v) {
    /* Zero first so padding bytes are deterministic. */
    memset(p, 0, 16);
    memcpy(p, &v, sizeof(v));
}

/*
 * strtold() with the strictness rules of Redis's string2ld(): the caller
 * passes a NUL-terminated copy `buf` of exactly `len` bytes (len > 0).
 * Rejects leading whitespace, anything not consumed, overflow/underflow to
 * +-HUGE_VAL/zero, and NaN. Returns 1 and stores the value on success.
 */
int fd_string2ld(const char *buf, size_t len, void *out) {
    char *eptr;
    long double value;

    if (len == 0) return 0;
    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (size_t)(eptr - buf) != len ||
        (errno == ERANGE &&
         (value == HUGE_VALL || value == -HUGE_VALL || fpclassify(value) == FP_ZERO)) ||
        errno == EINVAL || isnan(value))
        return 0;
    fd_store(out, value);
    return 1;
}

/* Same contract as fd_string2ld(), with strtod() and Redis's string2d() rules. */
int fd_string2d(const char *buf, size_t len, double *out) {
    char *eptr;
    double value;

    if (len == 0) return 0;
    errno = 0;
    value = strtod(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || (size_t)(eptr - buf) != len ||
        (errno == ERANGE &&
         (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
        isnan(value))
        return 0;
    *out = value;
    return 1;
}

void fd_ld_from_i64(long long v, void *out) { fd_store(out, (long double)v); }

void fd_ld_from_f64(double v, void *out) { fd_store(out, (long double)v); }

double fd_ld_to_f64(const void *a) { return (double)fd_load(a); }

void fd_ld_add(const void *a, const void *b, void *out) {
    fd_store(out, fd_load(a) + fd_load(b));
}

/* 1 if finite, 0 if NaN or infinite. */
int fd_ld_is_finite(const void *a) { return isfinite(fd_load(a)) ? 1 : 0; }

/* -1, 0, 1 for a < b, a == b, a > b; 2 if unordered (NaN involved). */
int fd_ld_cmp(const void *a, const void *b) {
    long double x = fd_load(a), y = fd_load(b);
    if (x < y) return -1;
    if (x > y) return 1;
    if (x == y) return 0;
    return 2;
}

/*
 * Format like Redis's ld2string(): mode 0 = LD_STR_AUTO ("%.17Lg"),
 * mode 1 = LD_STR_HUMAN ("%.17Lf", trailing zeros after the point trimmed,
 * "-0" turned into "0"), mode 2 = LD_STR_HEX ("%La"). Infinities are written
 * as "inf"/"-inf" in every mode. Returns the length written (without the
 * NUL), or 0 if `cap` is too small or the mode is unknown.
 */
size_t fd_ld2string(const void *a, int mode, char *buf, size_t cap) {
    long double value = fd_load(a);
    int n;
    size_t l;

    if (cap == 0) return 0;
    if (isinf(value)) {
        if (cap < 5) return 0;
        l = value > 0 ? 3 : 4;
        memcpy(buf, value > 0 ? "inf" : "-inf", l);
        buf[l] = '\0';
        return l;
    }
    switch (mode) {
    case 0:
        n = snprintf(buf, cap, "%.17Lg", value);
        break;
    case 1:
        n = snprintf(buf, cap, "%.17Lf", value);
        break;
    case 2:
        n = snprintf(buf, cap, "%La", value);
        break;
    default:
        return 0;
    }
    if (n < 0 || (size_t)n + 1 > cap) return 0;
    l = (size_t)n;
    if (mode == 1) {
        if (memchr(buf, '.', l) != NULL) {
            while (l > 0 && buf[l - 1] == '0') l--;
            if (l > 0 && buf[l - 1] == '.') l--;
        }
        if (l == 2 && buf[0] == '-' && buf[1] == '0') {
            buf[0] = '0';
            l = 1;
        }
        buf[l] = '\0';
    }
    return l;
}

/* snprintf("%.17g"): the format of Redis's addReplyDouble() and d2string(). */
size_t fd_fmt_g17(double v, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "%.17g", v);
    if (n < 0 || (size_t)n + 1 > cap) return 0;
    return (size_t)n;
}

/*
 * Redis's blocking-timeout conversion: (long long) ceill(seconds * 1000.0L),
 * in long double. The C conversion of a value outside long long is undefined;
 * x86-64 produces LLONG_MIN there, which we return explicitly.
 */
long long fd_ld_seconds_to_ms_ceil(const void *a) {
    long double v = ceill(fd_load(a) * 1000.0L);
    if (!(v >= -9223372036854775808.0L && v < 9223372036854775808.0L))
        return (-9223372036854775807LL - 1);
    return (long long)v;
}
