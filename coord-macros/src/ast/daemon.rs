//! `#[daemon(Enum::Variant, runner = ..., ...)]`.

use proc_macro2::{Span, TokenStream};
use syn::{Ident, LitStr, Path};

use crate::attr::{self, Arg, Keys};
use crate::ctxt::Ctxt;
use crate::symbol;

use super::{Dep, default_crate, deps};

/// `#[daemon(DaemonType::AutoSync, runner = ..., ...)]`
pub struct DaemonAttr {
    /// `DaemonType::AutoSync`
    pub variant: Path,
    pub runner: Option<Path>,
    pub depends_on: Vec<Dep>,
    pub soft_depends_on: Vec<Dep>,
    pub category: Option<CategoryValue>,
    pub restart: Option<Ident>,
    /// Settings written as text, checked by the compiler (see `expand::daemon`):
    /// key, what kind of text, the literal.
    pub texts: Vec<TextSetting>,
    pub max_restarts: Option<u32>,
    pub health_threshold: Option<u32>,
    pub critical: Option<bool>,
    /// `singleton`: one node at a time in cluster mode.
    pub singleton: bool,
    pub health: Option<Path>,
    /// `publishes = [...]`: the event types its runner publishes.
    pub publishes: Vec<Path>,
    /// Every key given, as written (for errors about a key, not its value).
    pub keys: Vec<Ident>,
    pub krate: TokenStream,
}

/// `category = "sync"` or `category = Category::Sync`.
pub enum CategoryValue {
    Text(LitStr),
    Typed(Path),
}

/// What a text setting must read as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A duration longer than zero.
    Duration,
    /// `"FIRST..LONGEST"`.
    Backoff,
    /// `"stop"` or `"retry_every(D)"`.
    GiveUp,
}

/// One setting written as a string literal.
pub struct TextSetting {
    pub key: Ident,
    pub kind: TextKind,
    pub value: LitStr,
}

impl DaemonAttr {
    /// The key `name` as written, if given.
    pub fn key(&self, name: &str) -> Option<&Ident> {
        self.keys.iter().find(|k| *k == name)
    }

    /// The literal given for `key`, if any.
    pub fn text(&self, key: &str) -> Option<&TextSetting> {
        self.texts.iter().find(|t| t.key == key)
    }
}

const DAEMON_EXAMPLE: &str = "#[daemon(DaemonType::AutoSync, runner = run_auto_sync)]";

impl DaemonAttr {
    /// Parses what it can; problems go to `cx`. `None` only if the variant is unusable.
    pub fn parse(cx: &Ctxt, tokens: TokenStream) -> Option<Self> {
        let mut variant = None;
        let mut variant_reported = false;
        let mut out = DaemonAttr {
            variant: Path::from(Ident::new("_", Span::call_site())),
            runner: None,
            depends_on: Vec::new(),
            soft_depends_on: Vec::new(),
            category: None,
            restart: None,
            texts: Vec::new(),
            max_restarts: None,
            health_threshold: None,
            critical: None,
            singleton: false,
            health: None,
            publishes: Vec::new(),
            keys: Vec::new(),
            krate: default_crate(),
        };
        let mut keys = Keys::new("daemon", symbol::DAEMON_KEYS);
        for (position, arg) in attr::parse_args(tokens).into_iter().enumerate() {
            match arg {
                Arg::Positional(value) if position == 0 => match attr::as_path(&value) {
                    Ok(path) if path.segments.len() >= 2 => variant = Some(path),
                    _ => {
                        variant_reported = true;
                        cx.error_spanned_by(
                            &value,
                            format!(
                                "[coord::E0014] expected the daemon's variant with its enum, as `EnumName::Variant`, e.g. `{DAEMON_EXAMPLE}`"
                            ),
                        );
                    }
                },
                Arg::Positional(value)
                    if syn::parse2::<Ident>(value.clone())
                        .is_ok_and(|word| word == symbol::SINGLETON) =>
                {
                    if out.singleton {
                        cx.error_spanned_by(&value, "[coord::E0014] `singleton` is given twice");
                    }
                    out.singleton = true;
                }
                Arg::Positional(value) => {
                    let what = match syn::parse2::<Ident>(value.clone()) {
                        Ok(word) => {
                            let word = word.to_string();
                            let hint = crate::case::closest(&word, &[symbol::SINGLETON])
                                .map_or_else(String::new, |near| {
                                    format!("did you mean `{near}`? ")
                                });
                            format!("unknown argument `{word}` in `#[daemon(...)]`; {hint}")
                        }
                        Err(_) => "unexpected argument: ".to_owned(),
                    };
                    cx.error_spanned_by(
                        &value,
                        format!(
                            "[coord::E0014] {what}after the variant, give `singleton` or `key = value` pairs, e.g. `runner = run_auto_sync`"
                        ),
                    );
                }
                Arg::Keyed { key, value } => {
                    if position == 0 {
                        variant_reported = true;
                        cx.error_spanned_by(
                            &key,
                            format!(
                                "[coord::E0014] the daemon's variant must come first, e.g. `{DAEMON_EXAMPLE}`"
                            ),
                        );
                    }
                    if !keys.accept(cx, &key) {
                        continue;
                    }
                    out.keys.push(key.clone());
                    match key.to_string().as_str() {
                        symbol::RUNNER => {
                            out.runner = attr::path(cx, &key, &value, "run_auto_sync");
                        }
                        symbol::DEPENDS_ON => {
                            out.depends_on = deps(cx, &key, &value, "DaemonType::DataPipeline");
                        }
                        symbol::SOFT_DEPENDS_ON => {
                            out.soft_depends_on = deps(cx, &key, &value, "DaemonType::Evaluation");
                        }
                        symbol::CATEGORY => out.category = category(cx, &key, &value),
                        symbol::RESTART => {
                            out.restart = attr::choice(cx, &key, &value, symbol::RESTART_POLICIES);
                        }
                        symbol::READY_TIMEOUT
                        | symbol::SHUTDOWN_TIMEOUT
                        | symbol::STABLE_AFTER
                        | symbol::HEALTH_INTERVAL => {
                            text(cx, &mut out, key, &value, TextKind::Duration, "30s");
                        }
                        symbol::BACKOFF => {
                            text(cx, &mut out, key, &value, TextKind::Backoff, "1s..5m");
                        }
                        symbol::AFTER_GIVE_UP => {
                            text(
                                cx,
                                &mut out,
                                key,
                                &value,
                                TextKind::GiveUp,
                                "retry_every(30m)",
                            );
                        }
                        symbol::MAX_RESTARTS => {
                            out.max_restarts = attr::count(cx, &key, &value, 5, true);
                        }
                        symbol::HEALTH_THRESHOLD => {
                            out.health_threshold = attr::count(cx, &key, &value, 3, false);
                        }
                        symbol::CRITICAL => out.critical = attr::boolean(cx, &key, &value),
                        // `singleton = true` reads like `critical = true`; the bare word too.
                        symbol::SINGLETON => {
                            if let Some(on) = attr::boolean(cx, &key, &value) {
                                out.singleton = on;
                            }
                        }
                        symbol::HEALTH => {
                            out.health = attr::path(cx, &key, &value, "check_sync");
                        }
                        symbol::PUBLISHES => {
                            out.publishes.extend(attr::event_types(cx, &key, &value));
                        }
                        symbol::CRATE => {
                            if let Some(krate) = attr::crate_path(cx, &key, &value) {
                                out.krate = krate;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        match variant {
            Some(variant) => {
                out.variant = variant;
                Some(out)
            }
            None => {
                if !variant_reported {
                    cx.error_at(
                        Span::call_site(),
                        format!(
                            "[coord::E0014] `#[daemon]` needs the daemon's variant first, e.g. `{DAEMON_EXAMPLE}`"
                        ),
                    );
                }
                None
            }
        }
    }

    /// The enum's path: the variant path without its last segment.
    pub fn enum_path(&self) -> Path {
        let mut path = self.variant.clone();
        path.segments.pop();
        // Popping leaves a trailing `::`; rebuild without it.
        let segments = path.segments.into_iter().collect();
        Path {
            leading_colon: path.leading_colon,
            segments,
        }
    }
}

/// A text setting's literal, kept with its key for the compiler's check.
fn text(
    cx: &Ctxt,
    out: &mut DaemonAttr,
    key: Ident,
    value: &TokenStream,
    kind: TextKind,
    example: &str,
) {
    if let Some(value) = attr::string(cx, &key, value, example) {
        out.texts.push(TextSetting { key, kind, value });
    }
}

/// `category = "sync"` or a variant of the user's own enum, `Category::Sync`.
fn category(cx: &Ctxt, key: &Ident, value: &TokenStream) -> Option<CategoryValue> {
    if let Ok(lit) = syn::parse2::<LitStr>(attr::unwrap_invisible(value.clone())) {
        return Some(CategoryValue::Text(lit));
    }
    match attr::as_path(value) {
        Ok(path) => Some(CategoryValue::Typed(path)),
        Err(_) => {
            cx.error_spanned_by(
                attr::spanned(key, value),
                "[coord::E0014] `category` expects a string or a variant of your category enum, e.g. `category = \"sync\"` or `category = Category::Sync`",
            );
            None
        }
    }
}
