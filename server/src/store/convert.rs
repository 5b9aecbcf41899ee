//! Conversions between the database's integers and the domain's counts.

/// A stored count as a `u32` (negative values, which constraints forbid, read as 0).
pub(crate) fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// A count as the database stores it (saturating).
pub(crate) fn stored(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
