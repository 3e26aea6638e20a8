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
    pub category: Option<LitStr>,
    pub restart: Option<Ident>,
    pub krate: TokenStream,
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
                Arg::Positional(value) => cx.error_spanned_by(
                    &value,
                    "[coord::E0014] unexpected argument: after the variant, give `key = value` pairs, e.g. `runner = run_auto_sync`",
                ),
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
                        symbol::CATEGORY => out.category = attr::string(cx, &key, &value, "sync"),
                        symbol::RESTART => {
                            out.restart = attr::choice(cx, &key, &value, symbol::RESTART_POLICIES);
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
