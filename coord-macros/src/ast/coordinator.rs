//! `#[coordinator(depends_on = [...], publishes = [...], name = "...")]`.

use proc_macro2::TokenStream;
use syn::{LitStr, Path};

use crate::attr::{self, Arg, Keys, NotAPath};
use crate::ctxt::Ctxt;
use crate::symbol;

use super::default_crate;

/// `#[coordinator(depends_on = [...], name = "...")]`
pub struct CoordinatorAttr {
    /// The dependencies that are plain paths; others were reported.
    pub depends_on: Vec<Path>,
    /// `publishes = [...]`: the event types it publishes.
    pub publishes: Vec<Path>,
    pub name: Option<LitStr>,
    pub krate: TokenStream,
}

impl CoordinatorAttr {
    pub fn parse(cx: &Ctxt, tokens: TokenStream) -> Self {
        let mut out = CoordinatorAttr {
            depends_on: Vec::new(),
            publishes: Vec::new(),
            name: None,
            krate: default_crate(),
        };
        let mut keys = Keys::new("coordinator", symbol::COORDINATOR_KEYS);
        for arg in attr::parse_args(tokens) {
            match arg {
                Arg::Positional(value) => cx.error_spanned_by(
                    &value,
                    "[coord::E0014] expected `key = value`, e.g. `#[coordinator(depends_on = [EventRouterCoordinator])]`",
                ),
                Arg::Keyed { key, value } => {
                    if !keys.accept(cx, &key) {
                        continue;
                    }
                    match key.to_string().as_str() {
                        symbol::DEPENDS_ON => {
                            for entry in
                                attr::list(cx, &key, &value, "EventRouterCoordinator").unwrap_or_default()
                            {
                                match attr::as_path(&entry) {
                                    Ok(path) => out.depends_on.push(path),
                                    Err(NotAPath::Generic { suggestion }) => {
                                        let example = suggestion.unwrap_or_else(|| "Store".to_owned());
                                        cx.error_spanned_by(
                                            &entry,
                                            format!(
                                                "[coord::E0010] `depends_on` names coordinator types themselves; name the coordinator type, e.g. `{example}`: \
                                                 `ctx.dep::<{example}>()` hands you an `Arc<{example}>`"
                                            ),
                                        );
                                    }
                                    Err(NotAPath::Other) => cx.error_spanned_by(
                                        &entry,
                                        "[coord::E0014] each entry of `depends_on` must be a coordinator type, e.g. `EventRouterCoordinator`",
                                    ),
                                }
                            }
                        }
                        symbol::PUBLISHES => {
                            out.publishes.extend(attr::event_types(cx, &key, &value));
                        }
                        symbol::NAME => out.name = attr::string(cx, &key, &value, "store"),
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
        out
    }
}
