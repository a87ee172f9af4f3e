//! Geohash math for the GEO commands, bit-for-bit as Redis 7.0 computes it: 52-bit interleaved
//! hashes over the Web-Mercator latitude band (±85.05112878°), decoding back to the centre of
//! a cell, the eight neighbouring cells, the cells a radius or box search must scan, and the
//! haversine distance with Redis's earth radius.
//!
//! Every floating-point expression is evaluated in the same order as Redis's (so results,
//! sort orders and `%.4f` distances are identical): do not "simplify" the arithmetic.

/// Longitude and latitude limits of the index (EPSG:900913 cannot reach the poles).
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Steps of a stored hash: 26 per axis, 52 bits.
pub const STEP_MAX: u8 = 26;
/// Redis's earth radius in metres (quadratic mean radius of WGS-84).
pub const EARTH_RADIUS_M: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as the C expression `M_PI / 180.0` folds.
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A hash of `step` bits per axis (longitude bits at odd positions, latitude at even).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// A cell removed from a search (Redis zeroes both fields).
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash left-aligned to 52 bits: a sorted-set score.
    pub fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    fn is_zero(&self) -> bool {
        self.min == 0.0 && self.max == 0.0
    }
}

/// The rectangle covered by a hash.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Area {
    pub hash: HashBits,
    pub longitude: Range,
    pub latitude: Range,
}

const WGS84_LONG: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// Spreads the low 32 bits of `v` to the even bit positions.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555;
    x
}

/// Gathers the even bit positions of `x` into the low 32 bits.
fn gather(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Latitude bits at even positions, longitude bits at odd ones.
fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

/// C's `(uint32_t)` of a double in `[0, 2^32)` (always the case here).
fn c_u32(v: f64) -> u32 {
    v as i64 as u32
}

/// 2^63 as a double.
const TWO63: f64 = 9_223_372_036_854_775_808.0;

/// x86-64's `cvttsd2si`: truncation toward zero, or `i64::MIN` when out of range or NaN.
fn cvtt(v: f64) -> i64 {
    if (-TWO63..TWO63).contains(&v) {
        v as i64
    } else {
        i64::MIN
    }
}

/// C's `(uint64_t)` of a double as x86-64 code compiled by GCC computes it (scores are doubles;
/// a score not written by GEOADD may be negative or huge).
pub fn c_double_to_u64(v: f64) -> u64 {
    // `comisd` treats NaN as "below", so NaN takes the first branch.
    if v.is_nan() || v < TWO63 {
        cvtt(v) as u64
    } else {
        (cvtt(v - TWO63) as u64) ^ (1 << 63)
    }
}

/// Encodes a point in the given ranges at `step` bits per axis. `None` outside the index's
/// limits or the ranges (Redis's geohashEncode failure).
pub fn encode(
    long_range: Range,
    lat_range: Range,
    lon: f64,
    lat: f64,
    step: u8,
) -> Option<HashBits> {
    if step > 32 || step == 0 || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_range.min || lat > lat_range.max || lon < long_range.min || lon > long_range.max {
        return None;
    }
    let mut lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (lon - long_range.min) / (long_range.max - long_range.min);
    let scale = (1u64 << step) as f64;
    lat_offset *= scale;
    long_offset *= scale;
    Some(HashBits {
        bits: interleave(c_u32(lat_offset), c_u32(long_offset)),
        step,
    })
}

/// [`encode`] over the index's ranges.
pub fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    encode(WGS84_LONG, WGS84_LAT, lon, lat, step)
}

/// The score GEOADD stores for a point (already validated against the limits).
pub fn score_of(lon: f64, lat: f64) -> Option<u64> {
    encode_wgs84(lon, lat, STEP_MAX).map(|h| h.align52())
}

/// The cell of `hash` in the given ranges.
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    let ilato = gather(hash.bits);
    let ilono = gather(hash.bits >> 1);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let div = (1u64 << hash.step) as f64;
    let at = |min: f64, i: u32, scale: f64| min + (f64::from(i) * 1.0 / div) * scale;
    Some(Area {
        hash,
        latitude: Range {
            min: at(lat_range.min, ilato, lat_scale),
            max: at(lat_range.min, ilato.wrapping_add(1), lat_scale),
        },
        longitude: Range {
            min: at(long_range.min, ilono, long_scale),
            max: at(long_range.min, ilono.wrapping_add(1), long_scale),
        },
    })
}

/// [`decode`] over the index's ranges.
pub fn decode_wgs84(hash: HashBits) -> Option<Area> {
    decode(WGS84_LONG, WGS84_LAT, hash)
}

/// The centre of a cell, clamped to the index's limits: `[longitude, latitude]`.
pub fn area_center(area: &Area) -> [f64; 2] {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// The position a sorted-set score stands for: `[longitude, latitude]`.
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = HashBits {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    };
    decode_wgs84(hash).map(|a| area_center(&a))
}

/// GEOHASH's 11-character string: the point re-encoded over the standard ±90° latitude range.
pub fn geohash_string(lon: f64, lat: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let std_long = Range {
        min: -180.0,
        max: 180.0,
    };
    let std_lat = Range {
        min: -90.0,
        max: 90.0,
    };
    // Redis ignores a failed encode and uses the zeroed hash it leaves behind.
    let bits = encode(std_long, std_lat, lon, lat, 26).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    hash.bits = x | y;
}

/// The eight cells around a hash (wrapping at the edges of the index).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Neighbors {
    pub north: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub south: HashBits,
    pub north_east: HashBits,
    pub south_east: HashBits,
    pub north_west: HashBits,
    pub south_west: HashBits,
}

pub fn neighbors(hash: HashBits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// The step whose cells are about the size of `range_meters` at latitude `lat`.
pub fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The shape of a search, its centre and the unit conversion (metres per unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub kind: ShapeKind,
    pub conversion: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShapeKind {
    /// Radius in the shape's unit.
    Radius(f64),
    /// Width and height in the shape's unit.
    Box { width: f64, height: f64 },
}

/// The cells to scan for a shape: the centre cell and its neighbours (zeroed when useless).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchAreas {
    pub hash: HashBits,
    pub neighbors: Neighbors,
    pub area: Area,
}

impl SearchAreas {
    /// The cells in Redis's scan order: centre, N, S, E, W, NE, NW, SE, SW.
    pub fn scan_order(&self) -> [HashBits; 9] {
        let n = &self.neighbors;
        [
            self.hash,
            n.north,
            n.south,
            n.east,
            n.west,
            n.north_east,
            n.north_west,
            n.south_east,
            n.south_west,
        ]
    }
}

/// `[min_lon, min_lat, max_lon, max_lat]` around the shape's centre.
pub fn bounding_box(shape: &Shape) -> [f64; 4] {
    let (lon, lat) = (shape.lon, shape.lat);
    let (height, width) = match shape.kind {
        ShapeKind::Radius(r) => (shape.conversion * r, shape.conversion * r),
        ShapeKind::Box { width, height } => (
            shape.conversion * (height / 2.0),
            shape.conversion * (width / 2.0),
        ),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_M);
    let long_delta_top = rad_deg(width / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos());
    let long_delta_bottom = rad_deg(width / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos());
    let south = lat < 0.0;
    let delta = if south {
        long_delta_bottom
    } else {
        long_delta_top
    };
    [lon - delta, lat - lat_delta, lon + delta, lat + lat_delta]
}

/// Redis's geohashCalculateAreasByShapeWGS84.
pub fn areas_by_shape(shape: &Shape) -> SearchAreas {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(shape);
    let (lon, lat) = (shape.lon, shape.lat);
    let radius_meters = match shape.kind {
        ShapeKind::Radius(r) => r,
        ShapeKind::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * shape.conversion;
    let mut steps = estimate_steps_by_radius(radius_meters, lat);
    let cells = |steps: u8| {
        let hash = encode_wgs84(lon, lat, steps).unwrap_or(HashBits {
            bits: 0,
            step: steps,
        });
        let n = neighbors(hash);
        let area = decode_wgs84(hash).unwrap_or_default();
        (hash, n, area)
    };
    let (mut hash, mut nb, mut area) = cells(steps);

    // The estimate can be too coarse near a cell's edge: one step less if a side neighbour
    // does not reach the bounding box.
    let side = |h: HashBits| decode_wgs84(h).unwrap_or_default();
    let decrease = side(nb.north).latitude.max < max_lat
        || side(nb.south).latitude.min > min_lat
        || side(nb.east).longitude.max < max_lon
        || side(nb.west).longitude.min > min_lon;
    if steps > 1 && decrease {
        steps -= 1;
        (hash, nb, area) = cells(steps);
    }

    if steps >= 2 {
        let zero = HashBits::default();
        if area.latitude.min < min_lat {
            nb.south = zero;
            nb.south_west = zero;
            nb.south_east = zero;
        }
        if area.latitude.max > max_lat {
            nb.north = zero;
            nb.north_east = zero;
            nb.north_west = zero;
        }
        if area.longitude.min < min_lon {
            nb.west = zero;
            nb.south_west = zero;
            nb.north_west = zero;
        }
        if area.longitude.max > max_lon {
            nb.east = zero;
            nb.south_east = zero;
            nb.north_east = zero;
        }
    }
    SearchAreas {
        hash,
        neighbors: nb,
        area,
    }
}

/// The score interval `[min, max)` holding every point of a cell.
pub fn score_range_of(hash: HashBits) -> (u64, u64) {
    let min = hash.align52();
    let next = HashBits {
        bits: hash.bits.wrapping_add(1),
        step: hash.step,
    };
    (min, next.align52())
}

/// Distance along a meridian between two latitudes, in metres.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in metres between two points given in degrees.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// Whether the point `(lon, lat)` lies in the shape; its distance from the centre (metres)
/// when it does.
pub fn within_shape(shape: &Shape, lon: f64, lat: f64) -> Option<f64> {
    match shape.kind {
        ShapeKind::Radius(r) => {
            let d = distance(shape.lon, shape.lat, lon, lat);
            (d <= r * shape.conversion).then_some(d)
        }
        ShapeKind::Box { width, height } => {
            let width_m = width * shape.conversion;
            let height_m = height * shape.conversion;
            if lat_distance(lat, shape.lat) > height_m / 2.0 {
                return None;
            }
            if distance(lon, lat, shape.lon, lat) > width_m / 2.0 {
                return None;
            }
            Some(distance(shape.lon, shape.lat, lon, lat))
        }
    }
}

/// Redis's fixedpoint_d2string with 4 digits: a distance as GEODIST and WITHDIST print it.
pub fn fmt_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".to_string();
    }
    let scaled = d * 10000.0;
    // llrint: round half to even; out of range gives i64::MIN on x86-64.
    let s = cvtt(scaled.round_ties_even());
    let (neg, v) = (s < 0, s.unsigned_abs());
    format!(
        "{}{}.{:04}",
        if neg { "-" } else { "" },
        v / 10000,
        v % 10000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (a, b) in [
            (0u32, 0u32),
            (1, 2),
            (0xFFFF_FFFF, 0x1234_5678),
            (0x3FF_FFFF, 7),
        ] {
            let x = interleave(a, b);
            assert_eq!(gather(x), a);
            assert_eq!(gather(x >> 1), b);
        }
    }

    #[test]
    fn double_to_u64_like_gcc() {
        assert_eq!(c_double_to_u64(5.9), 5);
        assert_eq!(c_double_to_u64(-1.0), u64::MAX);
        assert_eq!(c_double_to_u64(f64::NAN), 1 << 63);
        assert_eq!(c_double_to_u64(1e19), 10_000_000_000_000_000_000);
        assert_eq!(c_double_to_u64(1e30), 0);
    }

    #[test]
    fn distance_formatting() {
        assert_eq!(fmt_distance(0.0), "0.0000");
        assert_eq!(fmt_distance(0.25), "0.2500");
        assert_eq!(fmt_distance(0.00001), "0.0000");
        assert_eq!(fmt_distance(1234.0), "1234.0000");
        assert_eq!(fmt_distance(12.5), "12.5000");
    }

    #[test]
    fn neighbors_move_one_cell() {
        let h = encode_wgs84(13.361389, 38.115556, 10).unwrap();
        let n = neighbors(h);
        let c = decode_wgs84(h).unwrap();
        let e = decode_wgs84(n.east).unwrap();
        let s = decode_wgs84(n.south).unwrap();
        assert!((e.longitude.min - c.longitude.max).abs() < 1e-9);
        assert!((s.latitude.max - c.latitude.min).abs() < 1e-9);
    }
}
