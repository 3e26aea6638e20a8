//! The compiler's check of a daemon's settings written as text
//! (`ready_timeout = "30s"`, `backoff = "1s..5m"`, ...), and the values the
//! attribute's options read from them.

use std::time::Duration;

use super::message::Message;
use crate::interface::{Backoff, GiveUp, parse_backoff, parse_give_up, parse_positive_duration};

/// A duration longer than zero.
pub const DURATION: u8 = 0;
/// `"FIRST..LONGEST"`.
pub const BACKOFF: u8 = 1;
/// `"stop"` or `"retry_every(D)"`.
pub const GIVE_UP: u8 = 2;

/// Stops compilation, at the literal, when `text` does not read as `kind`.
#[track_caller]
pub const fn check_setting(kind: u8, key: &str, text: &str) {
    let problem = match kind {
        BACKOFF => match parse_backoff(text) {
            Ok(_) => None,
            Err(e) => Some(e),
        },
        GIVE_UP => match parse_give_up(text) {
            Ok(_) => None,
            Err(e) => Some(e),
        },
        DURATION => match parse_positive_duration(text) {
            Ok(_) => None,
            Err(e) => Some(e),
        },
        _ => None,
    };
    if let Some(problem) = problem {
        let mut msg = Message::new();
        msg.push("[coord::E0020] `");
        msg.push(key);
        msg.push(" = \"");
        msg.push(text);
        msg.push("\"`: ");
        msg.push(problem.expected());
        super::fail(msg.as_str());
    }
}

/// The attribute's duration, or `None` when it does not read (reported by `check_setting`).
pub const fn setting_duration(text: &str) -> Option<Duration> {
    match parse_positive_duration(text) {
        Ok(d) => Some(d),
        Err(_) => None,
    }
}

/// The attribute's backoff, or `None` when it does not read.
pub const fn setting_backoff(text: &str) -> Option<Backoff> {
    match parse_backoff(text) {
        Ok(b) => Some(b),
        Err(_) => None,
    }
}

/// The attribute's rule after giving up, or `None` when it does not read.
pub const fn setting_give_up(text: &str) -> Option<GiveUp> {
    match parse_give_up(text) {
        Ok(g) => Some(g),
        Err(_) => None,
    }
}
