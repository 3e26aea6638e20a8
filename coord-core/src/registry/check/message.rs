//! Text built during const evaluation, and the call that stops compilation with it.

use crate::location::Location;

/// Bytes a compile-time message may take.
pub(super) const MESSAGE_CAPACITY: usize = 8192;
/// Room kept for the advice that ends every message.
const ADVICE_RESERVE: usize = 1024;
/// Longest cycle printed in full; longer ones are elided in the middle.
const CYCLE_MEMBERS_IN_FULL: usize = 24;

/// Text built during const evaluation, where there is no `String`.
///
/// Only whole `&str`s are appended (or a prefix cut at a character boundary),
/// so the text is always valid UTF-8.
pub struct Message {
    buf: [u8; MESSAGE_CAPACITY],
    len: usize,
}

impl Message {
    pub(super) const fn new() -> Self {
        Self {
            buf: [0; MESSAGE_CAPACITY],
            len: 0,
        }
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        let (text, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => text,
            // `push` never splits a character, so this is unreachable.
            Err(_) => "[coord] (a compile-time message was not valid UTF-8: please report this)",
        }
    }

    const fn room(&self) -> usize {
        MESSAGE_CAPACITY - self.len
    }

    /// Whether `len` more bytes fit and still leave room for the closing advice.
    pub(super) const fn fits(&self, len: usize) -> bool {
        self.room() >= len + ADVICE_RESERVE
    }

    /// Appends `s` whole if it fits; else as much as fits, cut at a character boundary.
    pub(super) const fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut take = bytes.len();
        if take > self.room() {
            take = self.room();
            // A UTF-8 continuation byte is 0b10xx_xxxx: back off to a char start.
            while take > 0 && take < bytes.len() && (bytes[take] & 0xC0) == 0x80 {
                take -= 1;
            }
        }
        let mut i = 0;
        while i < take {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
    }

    pub(super) const fn push_u64(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut out = [0u8; 20];
        let mut i = 0;
        while i < count {
            out[i] = digits[count - 1 - i];
            i += 1;
        }
        let (text, _) = out.split_at(count);
        if let Ok(text) = core::str::from_utf8(text) {
            self.push(text);
        }
    }

    pub(super) const fn push_location(&mut self, location: &Location) {
        self.push(" (");
        self.push(location.file);
        self.push(":");
        self.push_u64(location.line as u64);
        self.push(")");
    }
}

/// Stops compilation with `message`, reported where the call is written.
///
/// `#[track_caller]`: the generated code calls this at the token an error is
/// about (an entry, a dependency), and that is where rustc points. Cheaper
/// for the compiler than a `panic!` with its formatting at every such place.
#[track_caller]
pub const fn fail(message: &str) -> ! {
    panic!("{}", message)
}

/// How many members to print at the start and at the end of a cycle of `len`.
pub(super) const fn cycle_window(len: usize) -> (usize, usize) {
    if len <= CYCLE_MEMBERS_IN_FULL {
        (len, len)
    } else {
        (CYCLE_MEMBERS_IN_FULL / 2, CYCLE_MEMBERS_IN_FULL / 2 - 1)
    }
}
