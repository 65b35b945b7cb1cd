//! Decoding the values of fixed-layout attributes (RFC 4271 §4.3, §5):
//! AS paths, AGGREGATOR, and lists of fixed-size items. Each function checks
//! the length first and returns `None` (or a description of the fault) for
//! the caller in `attribute_decode` to turn into the RFC 7606 error.

use std::net::Ipv4Addr;

use super::attribute::{Aggregator, AsPath, AsPathSegment, AsPathSegmentKind};

pub(crate) fn read_u32(value: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(value).ok().map(u32::from_be_bytes)
}

/// A non-empty list of fixed-size items, or None if the length is wrong.
pub(crate) fn decode_list<T>(
    value: &[u8],
    size: usize,
    item: impl Fn(&[u8]) -> Option<T>,
) -> Option<Vec<T>> {
    if value.is_empty() || value.len() % size != 0 {
        return None;
    }
    value.chunks_exact(size).map(item).collect()
}

pub(crate) fn decode_aggregator(value: &[u8], width: usize) -> Option<Aggregator> {
    if value.len() != width + 4 {
        return None;
    }
    let asn = read_asn(value.get(..width)?)?;
    let address = Ipv4Addr::from(read_u32(value.get(width..)?)?);
    Some(Aggregator { asn, address })
}

fn read_asn(bytes: &[u8]) -> Option<u32> {
    match bytes {
        [a, b] => Some(u32::from(u16::from_be_bytes([*a, *b]))),
        [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// Decodes AS_PATH or AS4_PATH with `width`-octet AS numbers. A malformed
/// path (RFC 7606 §7.2: unknown segment type, empty segment, overrun, a
/// lone trailing octet) gives the offset and a description.
///
/// ```text
/// +---------------+---------------+-------------------------------+
/// | Segment type  | Segment length| Segment value: length x AS    |
/// | 1 set 2 seq   | (ASes, not    | (2 or 4 octets each)          |
/// | 3/4 confed    |  octets)      |                               |
/// +---------------+---------------+-------------------------------+
/// ```
pub(crate) fn decode_as_path(
    value: &[u8],
    width: usize,
    base: usize,
) -> Result<AsPath, (usize, String)> {
    let mut segments = Vec::new();
    let mut position = 0usize;
    while position < value.len() {
        let offset = base + position;
        let (Some(&kind), Some(&count)) = (value.get(position), value.get(position + 1)) else {
            return Err((offset, "a segment header needs 2 octets, 1 is left".into()));
        };
        let kind = match kind {
            1 => AsPathSegmentKind::Set,
            2 => AsPathSegmentKind::Sequence,
            3 => AsPathSegmentKind::ConfedSequence,
            4 => AsPathSegmentKind::ConfedSet,
            other => return Err((offset, format!("unknown segment type {other}"))),
        };
        if count == 0 {
            return Err((offset, "segment of length 0".into()));
        }
        let start = position + 2;
        let end = start + usize::from(count) * width;
        let Some(bytes) = value.get(start..end) else {
            return Err((
                offset,
                format!("segment of {count} ASes overruns the attribute"),
            ));
        };
        let asns = bytes.chunks_exact(width).filter_map(read_asn).collect();
        segments.push(AsPathSegment { kind, asns });
        position = end;
    }
    Ok(AsPath { segments })
}
