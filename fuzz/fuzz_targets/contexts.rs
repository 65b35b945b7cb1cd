//! The codec contexts every target is run under, chosen by the input's first byte.

use bgp::wire::{CodecContext, Family};

/// A context from a selector byte: 2- or 4-octet AS, ADD-PATH for neither,
/// IPv4 or both families, extended messages on or off, IPv6 negotiated or not.
pub fn context(selector: u8) -> CodecContext {
    let mut context = CodecContext::new();
    context.four_octet_as = selector & 1 == 0;
    if selector & 2 != 0 {
        context.add_path.insert(Family::IPV4_UNICAST);
    }
    if selector & 4 != 0 {
        context.add_path.insert(Family::IPV6_UNICAST);
    }
    context.extended_message = selector & 8 != 0;
    if selector & 16 != 0 {
        context.families.remove(&Family::IPV6_UNICAST);
    }
    context
}
