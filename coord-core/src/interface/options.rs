//! A daemon's settings as written: in `#[daemon(...)]`, in the config file
//! or through the builder. Durations are text like `"500ms"`, `"30s"`,
//! `"5m"`, `"1h"`; the parsers are `const fn`s, so the attribute's values are
//! checked by the compiler and the config file's by the same code at start.

use std::fmt;
use std::time::Duration;

use super::daemon::{DaemonContext, RestartPolicy};
use super::runner::BoxFuture;
use crate::error::BoxError;

/// A health check: called every `health_interval` once the daemon is ready.
#[derive(Clone, Copy)]
pub struct HealthCheck(pub fn(DaemonContext) -> BoxFuture<'static, Result<(), BoxError>>);

impl fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HealthCheck(..)")
    }
}

impl PartialEq for HealthCheck {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

/// Restart delays: the first, doubled after each restart up to the longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first restart.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
}

/// What happens once a daemon has used up its restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GiveUp {
    /// It stays failed until started by hand.
    #[default]
    Stop,
    /// It is tried again every this long, for as long as the service runs
    /// (state `retrying`); a run that lasts `stable_after` ends the tier.
    RetryEvery(Duration),
}

/// What `#[daemon(...)]`, a `[daemons.NAME]` table or the builder says
/// about one daemon; `None` where it says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DaemonOptions {
    /// `restart = always | on_failure | never`.
    pub restart: Option<RestartPolicy>,
    /// `ready_timeout = "30s"`: the daemon is failed if not ready by then.
    pub ready_timeout: Option<Duration>,
    /// `shutdown_timeout = "10s"`: it is aborted if not stopped by then.
    pub shutdown_timeout: Option<Duration>,
    /// `max_restarts = 5`: counted restarts before it gives up.
    pub max_restarts: Option<u32>,
    /// `backoff = "1s..5m"`.
    pub backoff: Option<Backoff>,
    /// `stable_after = "60s"`: a run this long resets backoff and count.
    pub stable_after: Option<Duration>,
    /// `health = path::to::check` (attribute and builder only).
    pub health: Option<HealthCheck>,
    /// `health_interval = "30s"`.
    pub health_interval: Option<Duration>,
    /// `health_threshold = 3`: failed checks in a row that restart it.
    pub health_threshold: Option<u32>,
    /// `critical = true`: the service stops when it fails for good.
    pub critical: Option<bool>,
    /// `after_give_up = "stop"` or `"retry_every(30m)"`.
    pub after_give_up: Option<GiveUp>,
    /// `singleton`: in cluster mode it runs on one node at a time.
    pub singleton: Option<bool>,
}

impl DaemonOptions {
    /// Nothing said.
    pub const NONE: Self = Self {
        restart: None,
        ready_timeout: None,
        shutdown_timeout: None,
        max_restarts: None,
        backoff: None,
        stable_after: None,
        health: None,
        health_interval: None,
        health_threshold: None,
        critical: None,
        after_give_up: None,
        singleton: None,
    };
}

/// Why a setting's text is not usable; the message says what is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingError {
    /// Not a duration.
    NotADuration,
    /// Zero, where zero makes no sense.
    Zero,
    /// `backoff` not written `"FIRST..LONGEST"`, or LONGEST shorter than FIRST.
    NotABackoff,
    /// `after_give_up` neither `"stop"` nor `"retry_every(DURATION)"`.
    NotAGiveUp,
}

impl SettingError {
    /// What to write instead.
    pub const fn expected(self) -> &'static str {
        match self {
            Self::NotADuration => {
                "a duration is a number and a unit, e.g. \"500ms\", \"30s\", \"5m\", \"1h\" (units: ms, s, m, h, d; \"1m30s\" works too)"
            }
            Self::Zero => "zero makes no sense here: give a duration longer than 0",
            Self::NotABackoff => {
                "a backoff is the first and the longest delay, \"FIRST..LONGEST\", e.g. \"1s..5m\", the longest at least the first"
            }
            Self::NotAGiveUp => {
                "expected \"stop\" or \"retry_every(DURATION)\", e.g. \"retry_every(30m)\""
            }
        }
    }
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }
}

/// `"500ms"`, `"30s"`, `"5m"`, `"1h"`, `"2d"`, or a sum like `"1m30s"`.
pub const fn parse_duration(text: &str) -> Result<Duration, SettingError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(SettingError::NotADuration);
    }
    let mut millis: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let mut number: u64 = 0;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            number = match number.checked_mul(10) {
                Some(n) => match n.checked_add((bytes[i] - b'0') as u64) {
                    Some(n) => n,
                    None => return Err(SettingError::NotADuration),
                },
                None => return Err(SettingError::NotADuration),
            };
            i += 1;
        }
        if i == start {
            return Err(SettingError::NotADuration);
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit: u64 = match i - unit_start {
            2 if bytes[unit_start] == b'm' && bytes[unit_start + 1] == b's' => 1,
            1 => match bytes[unit_start] {
                b's' => 1_000,
                b'm' => 60_000,
                b'h' => 3_600_000,
                b'd' => 86_400_000,
                _ => return Err(SettingError::NotADuration),
            },
            _ => return Err(SettingError::NotADuration),
        };
        millis = match number.checked_mul(unit) {
            Some(part) => match millis.checked_add(part) {
                Some(total) => total,
                None => return Err(SettingError::NotADuration),
            },
            None => return Err(SettingError::NotADuration),
        };
    }
    Ok(Duration::from_millis(millis))
}

/// A duration that must be longer than zero.
pub const fn parse_positive_duration(text: &str) -> Result<Duration, SettingError> {
    match parse_duration(text) {
        Ok(d) if d.is_zero() => Err(SettingError::Zero),
        other => other,
    }
}

/// `"1s..5m"`: the first restart delay and the longest.
pub const fn parse_backoff(text: &str) -> Result<Backoff, SettingError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'.' && bytes[i + 1] == b'.' {
            let (first, rest) = bytes.split_at(i);
            let (_, last) = rest.split_at(2);
            let (Ok(first), Ok(last)) = (core::str::from_utf8(first), core::str::from_utf8(last))
            else {
                return Err(SettingError::NotABackoff);
            };
            let initial = match parse_duration(first) {
                Ok(d) => d,
                Err(e) => return Err(e),
            };
            let max = match parse_positive_duration(last) {
                Ok(d) => d,
                Err(e) => return Err(e),
            };
            if max.as_millis() < initial.as_millis() {
                return Err(SettingError::NotABackoff);
            }
            return Ok(Backoff { initial, max });
        }
        i += 1;
    }
    Err(SettingError::NotABackoff)
}

/// `"stop"` or `"retry_every(30m)"`.
pub const fn parse_give_up(text: &str) -> Result<GiveUp, SettingError> {
    let bytes = text.as_bytes();
    const STOP: &[u8] = b"stop";
    const PREFIX: &[u8] = b"retry_every(";
    if bytes.len() == STOP.len() && starts_with(bytes, STOP) {
        return Ok(GiveUp::Stop);
    }
    if bytes.len() > PREFIX.len() + 1
        && starts_with(bytes, PREFIX)
        && bytes[bytes.len() - 1] == b')'
    {
        let (_, rest) = bytes.split_at(PREFIX.len());
        let (inner, _) = rest.split_at(rest.len() - 1);
        let Ok(inner) = core::str::from_utf8(inner) else {
            return Err(SettingError::NotAGiveUp);
        };
        return match parse_positive_duration(inner) {
            Ok(every) => Ok(GiveUp::RetryEvery(every)),
            Err(e) => Err(e),
        };
    }
    Err(SettingError::NotAGiveUp)
}

const fn starts_with(bytes: &[u8], prefix: &[u8]) -> bool {
    if bytes.len() < prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if bytes[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Shows a duration the way it is written: `30s`, `5m`, `1h30m`, `500ms`.
pub fn format_duration(duration: Duration) -> String {
    let mut ms = duration.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        let cases = [
            ("500ms", 500),
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("2d", 172_800_000),
            ("1m30s", 90_000),
            ("0s", 0),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
            assert_eq!(format_duration(Duration::from_millis(ms)), text, "{text}");
        }
        for bad in [
            "",
            "30",
            "s",
            "30 s",
            "3.5s",
            "10x",
            "-1s",
            "99999999999999999999s",
        ] {
            assert_eq!(
                parse_duration(bad),
                Err(SettingError::NotADuration),
                "{bad}"
            );
        }
        assert_eq!(parse_positive_duration("0ms"), Err(SettingError::Zero));
    }

    #[test]
    fn backoffs_and_give_up_rules_read_as_written() {
        assert_eq!(
            parse_backoff("1s..5m"),
            Ok(Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(300)
            })
        );
        assert_eq!(parse_backoff("5m..1s"), Err(SettingError::NotABackoff));
        assert_eq!(parse_backoff("1s"), Err(SettingError::NotABackoff));
        assert_eq!(parse_backoff("1x..5m"), Err(SettingError::NotADuration));
        assert_eq!(parse_give_up("stop"), Ok(GiveUp::Stop));
        assert_eq!(
            parse_give_up("retry_every(30m)"),
            Ok(GiveUp::RetryEvery(Duration::from_secs(1800)))
        );
        assert_eq!(parse_give_up("retry_every(0s)"), Err(SettingError::Zero));
        assert_eq!(parse_give_up("retry"), Err(SettingError::NotAGiveUp));
        assert_eq!(
            parse_give_up("retry_every(30m"),
            Err(SettingError::NotAGiveUp)
        );
    }
}
