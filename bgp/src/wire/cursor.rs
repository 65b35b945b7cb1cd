//! A checked reader over a byte slice that knows its offset in the message.
//!
//! Every codec function reads through a [`Reader`]: it hands out fixed-size
//! fields and sub-slices only after checking the length, so a short input is
//! a [`WireError`] with the field name and absolute offset, never a panic.
//! The reader is created with the NOTIFICATION code and subcode that a
//! truncation means in its context (RFC 4271 §6.2, §6.3).

use super::error::WireError;

/// A position in a byte slice, with the slice's offset from the message start.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    position: usize,
    base: usize,
    code: u8,
    subcode: u8,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, whose first byte is at `base` in the message;
    /// short reads report `code`/`subcode`.
    pub(crate) fn new(data: &'a [u8], base: usize, code: u8, subcode: u8) -> Self {
        Reader {
            data,
            position: 0,
            base,
            code,
            subcode,
        }
    }

    /// Absolute offset of the next unread byte.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.position)
    }

    /// Number of unread bytes.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.position)
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.position..).unwrap_or(&[])
    }

    /// The error a truncated `field` means here.
    pub(crate) fn short(&self, field: &'static str, needed: usize) -> WireError {
        WireError::new(
            self.code,
            self.subcode,
            field,
            self.offset(),
            format!("{needed} bytes needed, {} left", self.remaining()),
        )
    }

    /// Consumes `length` bytes.
    pub(crate) fn bytes(
        &mut self,
        length: usize,
        field: &'static str,
    ) -> Result<&'a [u8], WireError> {
        let end = self
            .position
            .checked_add(length)
            .ok_or_else(|| self.short(field, length))?;
        let slice = self
            .data
            .get(self.position..end)
            .ok_or_else(|| self.short(field, length))?;
        self.position = end;
        Ok(slice)
    }

    /// Consumes `N` bytes as an array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], WireError> {
        let slice = self.bytes(N, field)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    /// Consumes one byte.
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(u8::from_be_bytes(self.array::<1>(field)?))
    }

    /// Consumes a big-endian 16-bit integer.
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array::<2>(field)?))
    }

    /// Consumes a big-endian 32-bit integer.
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array::<4>(field)?))
    }

    /// Consumes `length` bytes as a reader of their own, with the same error codes.
    pub(crate) fn sub(
        &mut self,
        length: usize,
        field: &'static str,
    ) -> Result<Reader<'a>, WireError> {
        let base = self.offset();
        let data = self.bytes(length, field)?;
        Ok(Reader {
            data,
            position: 0,
            base,
            code: self.code,
            subcode: self.subcode,
        })
    }
}
