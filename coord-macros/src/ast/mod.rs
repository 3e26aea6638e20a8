//! Typed inputs of each macro, parsed from the attribute and the item: one
//! file per macro, and here what they share.

mod coordinator;
mod daemon;
mod daemon_type;
mod event;
mod subscriptions;

pub use coordinator::CoordinatorAttr;
pub use daemon::{CategoryValue, DaemonAttr, TextKind};
pub use daemon_type::DaemonTypeEnum;
pub use event::EventInput;
pub use subscriptions::Subscriptions;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Ident, LitStr, Path};

use crate::attr::{self, Arg, Keys};
use crate::ctxt::Ctxt;
use crate::symbol;

/// The path generated code reaches coord by: `::coord`, or `crate = ...`.
pub fn default_crate() -> TokenStream {
    quote!(::coord)
}

/// One entry of a `depends_on` list: its tokens as written and, when they
/// are a plain path, that path.
pub struct Dep {
    pub tokens: TokenStream,
    pub path: Option<Path>,
}

/// The entries of a `depends_on` list, each with its path when it is one.
pub(super) fn deps(cx: &Ctxt, key: &Ident, value: &TokenStream, example: &str) -> Vec<Dep> {
    attr::list(cx, key, value, example)
        .unwrap_or_default()
        .into_iter()
        .map(|tokens| Dep {
            path: attr::as_path(&tokens).ok(),
            tokens,
        })
        .collect()
}

/// What a derive's helper attribute (`#[event(...)]`, `#[daemon_type(...)]`) says.
pub struct Helper {
    pub krate: TokenStream,
    pub name: Option<LitStr>,
    /// Bare words given that `flags` allows, e.g. `distributed`.
    pub flags: Vec<Ident>,
}

/// Reads every `#[helper(...)]` attribute of a derive input.
pub(super) fn helper_crate(
    cx: &Ctxt,
    attrs: &[syn::Attribute],
    helper: &'static str,
    known: &[&'static str],
    flags: &[&'static str],
) -> Helper {
    let mut out = Helper {
        krate: default_crate(),
        name: None,
        flags: Vec::new(),
    };
    let mut keys = Keys::new(helper, known);
    for attribute in attrs.iter().filter(|a| a.path().is_ident(helper)) {
        let tokens = match &attribute.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            other => {
                cx.error_spanned_by(
                    other,
                    format!("[coord::E0014] expected `#[{helper}(key = value)]`, e.g. `#[{helper}(crate = coord)]`"),
                );
                continue;
            }
        };
        for arg in attr::parse_args(tokens) {
            match arg {
                Arg::Positional(value) => match syn::parse2::<Ident>(value.clone()) {
                    Ok(word) if flags.contains(&word.to_string().as_str()) => {
                        if out.flags.contains(&word) {
                            cx.error_spanned_by(
                                &word,
                                format!("[coord::E0014] `{word}` is given twice in `#[{helper}(...)]`"),
                            );
                        }
                        out.flags.push(word);
                    }
                    _ if flags.is_empty() => cx.error_spanned_by(
                        &value,
                        format!("[coord::E0014] expected `key = value` in `#[{helper}(...)]`"),
                    ),
                    _ => cx.error_spanned_by(
                        &value,
                        format!(
                            "[coord::E0014] unknown argument{} in `#[{helper}(...)]`; {}expected {}, or `key = value` with a key among: {}",
                            syn::parse2::<Ident>(value.clone())
                                .map_or_else(|_| String::new(), |word| format!(" `{word}`")),
                            syn::parse2::<Ident>(value.clone())
                                .ok()
                                .and_then(|word| crate::case::closest(&word.to_string(), flags))
                                .map_or_else(String::new, |near| format!("did you mean `{near}`? ")),
                            flags.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "),
                            known.join(", ")
                        ),
                    ),
                },
                Arg::Keyed { key, value } => {
                    if !keys.accept(cx, &key) {
                        continue;
                    }
                    match key.to_string().as_str() {
                        symbol::CRATE => {
                            if let Some(krate) = attr::crate_path(cx, &key, &value) {
                                out.krate = krate;
                            }
                        }
                        symbol::NAME => {
                            if let Some(lit) = attr::string(cx, &key, &value, "model_trained") {
                                if lit.value().trim().is_empty() {
                                    cx.error_spanned_by(
                                        &lit,
                                        "[coord::E0014] an event name cannot be empty",
                                    );
                                } else {
                                    out.name = Some(lit);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// The struct under `#[coordinator]` or `#[daemon]`.
pub fn parse_struct(cx: &Ctxt, item: TokenStream, attribute: &str) -> Option<syn::ItemStruct> {
    match syn::parse2::<syn::ItemStruct>(item) {
        Ok(item) => Some(item),
        Err(_) => {
            cx.error_at(
                Span::call_site(),
                format!("[coord::E0014] `#[{attribute}(...)]` goes on a struct"),
            );
            None
        }
    }
}

/// Tokens of `item` for messages: `crate::m::Store` with no spaces.
pub fn describe<T: ToTokens>(item: &T) -> String {
    item.to_token_stream().to_string().replace(' ', "")
}
