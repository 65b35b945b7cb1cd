//! Finding whole messages in a byte stream (RFC 4271 §4.1).
