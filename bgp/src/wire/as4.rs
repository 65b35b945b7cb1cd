//! 4-octet AS numbers across 2-octet sessions (RFC 6793 §4.2).
//!
//! On a session without the 4-octet AS capability, AS_PATH and AGGREGATOR
//! carry 2-octet numbers, with AS_TRANS standing in for any that does not
//! fit, and the real path travels in AS4_PATH / AS4_AGGREGATOR. The decoder
//! calls [`reconcile`] to rebuild the real attributes (§4.2.3); the encoder
//! calls [`as4_path_for`] to build AS4_PATH (§4.2.2).

use super::AS_TRANS;
use super::attribute::{Aggregator, AsPath, AsPathSegment, AsPathSegmentKind};

/// Number of ASes in a path as RFC 4271 §9.1.2.2 counts them: a set counts
/// one, confederation segments count nothing (RFC 5065 §5.3).
pub(crate) fn count_asns(path: &AsPath) -> usize {
    path.segments
        .iter()
        .map(|segment| match segment.kind {
            AsPathSegmentKind::Sequence => segment.asns.len(),
            AsPathSegmentKind::Set => 1,
            AsPathSegmentKind::ConfedSequence | AsPathSegmentKind::ConfedSet => 0,
        })
        .sum()
}

/// Whether any AS in the path needs 4 octets.
pub(crate) fn needs_four_octets(path: &AsPath) -> bool {
    path.segments
        .iter()
        .flat_map(|segment| &segment.asns)
        .any(|asn| *asn > u32::from(u16::MAX))
}

/// AS4_PATH for a path: the path without confederation segments, which
/// RFC 6793 §4.2.2 excludes.
pub(crate) fn as4_path_for(path: &AsPath) -> AsPath {
    AsPath {
        segments: path
            .segments
            .iter()
            .filter(|segment| {
                matches!(
                    segment.kind,
                    AsPathSegmentKind::Sequence | AsPathSegmentKind::Set
                ) && !segment.asns.is_empty()
            })
            .cloned()
            .collect(),
    }
}

/// Rebuilds AS_PATH and AGGREGATOR from their AS4_ counterparts (RFC 6793
/// §4.2.3):
///
/// - if AGGREGATOR holds an AS other than AS_TRANS, an OLD speaker
///   aggregated after the last NEW one, so AS4_PATH and AS4_AGGREGATOR are
///   stale and ignored;
/// - otherwise AS4_AGGREGATOR replaces AGGREGATOR, and if AS_PATH has at
///   least as many ASes as AS4_PATH, the path is the leading ASes of AS_PATH
///   that AS4_PATH lacks (the OLD speakers' own, plus any leading
///   confederation segments), followed by AS4_PATH. A longer AS4_PATH is
///   ignored.
pub(crate) fn reconcile(
    as_path: &mut Option<AsPath>,
    aggregator: &mut Option<Aggregator>,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
) {
    if let Some(current) = aggregator {
        if current.asn != u32::from(AS_TRANS) {
            return;
        }
        if let Some(real) = as4_aggregator {
            *current = real;
        }
    }
    let (Some(path), Some(as4)) = (as_path.as_mut(), as4_path) else {
        return;
    };
    let path_count = count_asns(path);
    let as4_count = count_asns(&as4);
    if path_count < as4_count {
        return;
    }
    let mut needed = path_count - as4_count;
    let mut merged: Vec<AsPathSegment> =
        Vec::with_capacity(path.segments.len() + as4.segments.len());
    for segment in &path.segments {
        match segment.kind {
            AsPathSegmentKind::ConfedSequence | AsPathSegmentKind::ConfedSet => {
                merged.push(segment.clone());
            }
            _ if needed == 0 => break,
            AsPathSegmentKind::Set => {
                merged.push(segment.clone());
                needed -= 1;
            }
            AsPathSegmentKind::Sequence => {
                let take = needed.min(segment.asns.len());
                let asns = segment.asns.get(..take).unwrap_or(&[]).to_vec();
                merged.push(AsPathSegment {
                    kind: AsPathSegmentKind::Sequence,
                    asns,
                });
                needed -= take;
            }
        }
    }
    // The last AS taken and the first of AS4_PATH are neighbours in one
    // sequence; everything else keeps its segmentation.
    let mut as4_segments = as4.segments.into_iter();
    if let Some(first) = as4_segments.next() {
        match merged.last_mut() {
            Some(last)
                if last.kind == AsPathSegmentKind::Sequence
                    && first.kind == AsPathSegmentKind::Sequence =>
            {
                last.asns.extend_from_slice(&first.asns);
            }
            _ => merged.push(first),
        }
    }
    merged.extend(as4_segments);
    path.segments = merged;
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn sequence(asns: &[u32]) -> AsPathSegment {
        AsPathSegment {
            kind: AsPathSegmentKind::Sequence,
            asns: asns.to_vec(),
        }
    }

    #[test]
    fn old_speakers_prepended_ases_are_kept_in_front() {
        let mut path = Some(AsPath {
            segments: vec![sequence(&[65001, 65002, 23456, 23456])],
        });
        let as4 = AsPath {
            segments: vec![sequence(&[4_200_000_001, 4_200_000_002])],
        };
        reconcile(&mut path, &mut None, Some(as4), None);
        let expected = AsPath {
            segments: vec![sequence(&[65001, 65002, 4_200_000_001, 4_200_000_002])],
        };
        assert_eq!(path, Some(expected));
    }

    #[test]
    fn longer_as4_path_is_ignored() {
        let original = AsPath {
            segments: vec![sequence(&[23456])],
        };
        let mut path = Some(original.clone());
        reconcile(
            &mut path,
            &mut None,
            Some(AsPath {
                segments: vec![sequence(&[1, 2])],
            }),
            None,
        );
        assert_eq!(path, Some(original));
    }

    #[test]
    fn aggregator_not_as_trans_makes_as4_attributes_stale() {
        let original = AsPath {
            segments: vec![sequence(&[23456])],
        };
        let mut path = Some(original.clone());
        let address = Ipv4Addr::new(198, 18, 0, 1);
        let mut aggregator = Some(Aggregator {
            asn: 65001,
            address,
        });
        let as4_aggregator = Some(Aggregator {
            asn: 4_200_000_000,
            address,
        });
        let as4 = AsPath {
            segments: vec![sequence(&[4_200_000_000])],
        };
        reconcile(&mut path, &mut aggregator, Some(as4), as4_aggregator);
        assert_eq!(path, Some(original));
        assert_eq!(aggregator.map(|aggregator| aggregator.asn), Some(65001));
    }

    #[test]
    fn as_trans_aggregator_takes_the_real_as() {
        let address = Ipv4Addr::new(198, 18, 0, 1);
        let mut aggregator = Some(Aggregator {
            asn: 23456,
            address,
        });
        reconcile(
            &mut None,
            &mut aggregator,
            None,
            Some(Aggregator {
                asn: 4_200_000_000,
                address,
            }),
        );
        assert_eq!(
            aggregator.map(|aggregator| aggregator.asn),
            Some(4_200_000_000)
        );
    }
}
