//! TCP payload to BGP messages. tshark's `follow,tcp,raw` gives each
//! direction of a connection as hex lines (the second endpoint's lines are
//! tab-indented); [`parse_follow`] joins them per direction and
//! [`split_messages`] cuts the bytes at each header's length field
//! (RFC 4271 §4.1: 16-octet marker, 2-octet length, 1-octet type).

use crate::error::{Error, Result};

/// The two directions of one TCP connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FollowedStream {
    /// `address:port` of the endpoint that opened the connection.
    pub client: String,
    /// `address:port` of the other endpoint.
    pub server: String,
    /// Bytes the client sent, in order.
    pub client_bytes: Vec<u8>,
    /// Bytes the server sent, in order.
    pub server_bytes: Vec<u8>,
}

fn decode_hex(text: &str) -> Result<Vec<u8>> {
    let clean = text.trim();
    if clean.len() % 2 != 0 {
        return Err(Error::Parse {
            what: "follow hex".into(),
            detail: clean.to_string(),
        });
    }
    (0..clean.len())
        .step_by(2)
        .map(|index| {
            clean
                .get(index..index + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| Error::Parse {
                    what: "follow hex".into(),
                    detail: clean.to_string(),
                })
        })
        .collect()
}

/// Parses the output of `tshark -q -z follow,tcp,raw,N`.
pub fn parse_follow(text: &str) -> Result<FollowedStream> {
    let mut stream = FollowedStream::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Node 0: ") {
            stream.client = rest.trim().to_string();
        } else if let Some(rest) = line.strip_prefix("Node 1: ") {
            stream.server = rest.trim().to_string();
        } else if line.starts_with('=')
            || line.starts_with("Follow:")
            || line.starts_with("Filter:")
            || line.trim().is_empty()
        {
            continue;
        } else if let Some(rest) = line.strip_prefix('\t') {
            stream.server_bytes.extend(decode_hex(rest)?);
        } else {
            stream.client_bytes.extend(decode_hex(line)?);
        }
    }
    Ok(stream)
}

/// Splits one direction's bytes into whole BGP messages. A trailing partial
/// message (the capture stopped mid-message) is dropped; a malformed header
/// is an error, since real daemons never send one.
pub fn split_messages(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut messages = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 19 {
        let marker = rest.get(..16).unwrap_or_default();
        if marker.iter().any(|byte| *byte != 0xff) {
            return Err(Error::Parse {
                what: "BGP stream".into(),
                detail: "header marker is not all ones".into(),
            });
        }
        let length = match rest.get(16..18) {
            Some([high, low]) => usize::from(u16::from_be_bytes([*high, *low])),
            _ => break,
        };
        if length < 19 {
            return Err(Error::Parse {
                what: "BGP stream".into(),
                detail: format!("header length {length}"),
            });
        }
        let Some(message) = rest.get(..length) else {
            break;
        };
        messages.push(message.to_vec());
        rest = rest.get(length..).unwrap_or_default();
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keepalive() -> Vec<u8> {
        let mut bytes = vec![0xff; 16];
        bytes.extend([0, 19, 4]);
        bytes
    }

    #[test]
    fn messages_are_cut_at_header_lengths() {
        let mut bytes = keepalive();
        bytes.extend(keepalive());
        bytes.extend(&keepalive()[..10]);
        let messages = split_messages(&bytes).unwrap();
        assert_eq!(messages, vec![keepalive(), keepalive()]);
    }

    #[test]
    fn bad_marker_is_an_error() {
        let mut bytes = keepalive();
        bytes[3] = 0;
        assert!(split_messages(&bytes).is_err());
    }

    #[test]
    fn follow_output_is_split_by_direction() {
        let text = "\n===================================================================\nFollow: tcp,raw\n\
                    Filter: tcp.stream eq 3\nNode 0: 198.18.1.2:40000\nNode 1: 198.18.1.3:179\n\
                    ffff\n\t0013\nffff\n===================================================================\n";
        let stream = parse_follow(text).unwrap();
        assert_eq!(stream.client, "198.18.1.2:40000");
        assert_eq!(stream.server, "198.18.1.3:179");
        assert_eq!(stream.client_bytes, vec![0xff; 4]);
        assert_eq!(stream.server_bytes, vec![0x00, 0x13]);
    }
}
