//! Parses attribute arguments: positional values, then `key = value` pairs.
//!
//! Unrecognized, malformed or duplicated keys get a spanned error and are
//! otherwise ignored, so the user sees every bad key of an attribute at once.
//! Values are kept as tokens and read by kind (path, list, string, word), so
//! a value handed in through a `macro_rules!` fragment (`$x:path`, `$x:ty`,
//! an invisible group) reads the same as one written in place.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Path};

use crate::case::closest;
use crate::ctxt::Ctxt;

/// One argument as written.
pub enum Arg {
    /// `DaemonType::AutoSync`
    Positional(TokenStream),
    /// `runner = run_auto_sync`
    Keyed { key: Ident, value: TokenStream },
}

/// Splits the attribute's tokens at top-level commas into arguments.
pub fn parse_args(tokens: TokenStream) -> Vec<Arg> {
    let mut args = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    let mut flush = |current: &mut Vec<TokenTree>| {
        if current.is_empty() {
            return;
        }
        let tokens = std::mem::take(current);
        let keyed = matches!(
            (&tokens.first(), &tokens.get(1), &tokens.get(2)),
            (Some(TokenTree::Ident(_)), Some(TokenTree::Punct(eq)), next)
                if eq.as_char() == '=' && !matches!(next, Some(TokenTree::Punct(p)) if p.as_char() == '=')
        );
        if keyed {
            let mut iter = tokens.into_iter();
            let Some(TokenTree::Ident(key)) = iter.next() else {
                return;
            };
            iter.next();
            args.push(Arg::Keyed {
                key,
                value: iter.collect(),
            });
        } else {
            args.push(Arg::Positional(tokens.into_iter().collect()));
        }
    };
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => flush(&mut current),
            _ => current.push(tree),
        }
    }
    flush(&mut current);
    args
}

/// Tracks which keys were given, reporting unknown and duplicate ones.
pub struct Keys<'a> {
    attribute: &'static str,
    known: &'a [&'static str],
    seen: Vec<Ident>,
}

impl<'a> Keys<'a> {
    pub fn new(attribute: &'static str, known: &'a [&'static str]) -> Self {
        Self {
            attribute,
            known,
            seen: Vec::new(),
        }
    }

    /// Whether `key` should be read: known and not given before.
    pub fn accept(&mut self, cx: &Ctxt, key: &Ident) -> bool {
        let name = key.to_string();
        if !self.known.contains(&name.as_str()) {
            let hint = match closest(&name, self.known) {
                Some(near) => format!("did you mean `{near}`? "),
                None => String::new(),
            };
            cx.error_spanned_by(
                key,
                format!(
                    "[coord::E0014] unknown key `{name}` in `#[{}(...)]`; {hint}expected one of: {}",
                    self.attribute,
                    self.known.join(", ")
                ),
            );
            return false;
        }
        if self.seen.iter().any(|k| *k == name) {
            cx.error_spanned_by(
                key,
                format!(
                    "[coord::E0014] duplicate key `{name}`: it is already given earlier in this attribute; keep one"
                ),
            );
            return false;
        }
        self.seen.push(key.clone());
        true
    }
}

/// Removes invisible groups (from `macro_rules!` fragments) around `tokens`.
pub fn unwrap_invisible(tokens: TokenStream) -> TokenStream {
    let mut tokens = tokens;
    loop {
        let mut iter = tokens.clone().into_iter();
        match (iter.next(), iter.next()) {
            (Some(TokenTree::Group(group)), None) if group.delimiter() == Delimiter::None => {
                tokens = group.stream();
            }
            _ => return tokens,
        }
    }
}

/// Why a value is not a plain path.
pub enum NotAPath {
    /// A type with generic arguments, e.g. `Arc<Store>`: the innermost named type.
    Generic { suggestion: Option<String> },
    /// Not a path at all.
    Other,
}

/// The value as a path without generic arguments, e.g. `crate::m::Store` or `DaemonType::AutoSync`.
pub fn as_path(tokens: &TokenStream) -> Result<Path, NotAPath> {
    let tokens = unwrap_invisible(tokens.clone());
    let ty: syn::Type = syn::parse2(tokens.clone()).map_err(|_| NotAPath::Other)?;
    type_to_path(ty)
}

fn type_to_path(ty: syn::Type) -> Result<Path, NotAPath> {
    match ty {
        syn::Type::Group(group) => type_to_path(*group.elem),
        syn::Type::Paren(paren) => type_to_path(*paren.elem),
        syn::Type::Path(tp) if tp.qself.is_none() => {
            let generic = tp
                .path
                .segments
                .iter()
                .any(|s| !matches!(s.arguments, syn::PathArguments::None));
            if generic {
                Err(NotAPath::Generic {
                    suggestion: innermost_name(&tp.path),
                })
            } else {
                Ok(tp.path)
            }
        }
        _ => Err(NotAPath::Other),
    }
}

/// `Arc<Store>` -> `Store`: the last type argument, followed inwards.
fn innermost_name(path: &Path) -> Option<String> {
    let last = path.segments.last()?;
    if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
        for arg in args.args.iter().rev() {
            if let syn::GenericArgument::Type(syn::Type::Path(inner)) = arg {
                return innermost_name(&inner.path)
                    .or_else(|| inner.path.segments.last().map(|s| s.ident.to_string()));
            }
        }
    }
    None
}

/// The value as one path, e.g. `runner = run_auto_sync`.
pub fn path(cx: &Ctxt, key: &Ident, value: &TokenStream, example: &str) -> Option<Path> {
    match as_path(value) {
        Ok(path) => Some(path),
        Err(_) => {
            cx.error_spanned_by(
                spanned(key, value),
                format!("[coord::E0014] `{key}` expects a path, e.g. `{key} = {example}`"),
            );
            None
        }
    }
}

/// The value as a bracketed list; each entry's tokens.
pub fn list(
    cx: &Ctxt,
    key: &Ident,
    value: &TokenStream,
    example: &str,
) -> Option<Vec<TokenStream>> {
    let value = unwrap_invisible(value.clone());
    let mut iter = value.clone().into_iter();
    match (iter.next(), iter.next()) {
        (Some(TokenTree::Group(group)), None) if group.delimiter() == Delimiter::Bracket => {
            let mut entries = Vec::new();
            let mut current = TokenStream::new();
            for tree in group.stream() {
                match &tree {
                    TokenTree::Punct(p) if p.as_char() == ',' => {
                        if !current.is_empty() {
                            entries.push(std::mem::take(&mut current));
                        }
                    }
                    _ => current.extend([tree]),
                }
            }
            if !current.is_empty() {
                entries.push(current);
            }
            Some(entries)
        }
        _ => {
            cx.error_spanned_by(
                spanned(key, &value),
                format!(
                    "[coord::E0014] `{key}` expects a list in brackets, e.g. `{key} = [{example}]`"
                ),
            );
            None
        }
    }
}

/// `publishes = [GamesCollected, events::ModelPromoted]`: the event types
/// listed; an entry that is not a plain type path is reported.
pub fn event_types(cx: &Ctxt, key: &Ident, value: &TokenStream) -> Vec<Path> {
    let mut types = Vec::new();
    for entry in list(cx, key, value, "GamesCollected").unwrap_or_default() {
        match as_path(&entry) {
            Ok(path) => types.push(path),
            Err(_) => cx.error_spanned_by(
                &entry,
                format!("[coord::E0014] each entry of `{key}` must be an event type (a `#[derive(Event)]` type), e.g. `{key} = [GamesCollected]`"),
            ),
        }
    }
    types
}

/// The value as a string literal.
pub fn string(cx: &Ctxt, key: &Ident, value: &TokenStream, example: &str) -> Option<LitStr> {
    match syn::parse2::<LitStr>(unwrap_invisible(value.clone())) {
        Ok(lit) => Some(lit),
        Err(_) => {
            cx.error_spanned_by(
                spanned(key, value),
                format!(
                    "[coord::E0014] `{key}` expects a string literal, e.g. `{key} = \"{example}\"`"
                ),
            );
            None
        }
    }
}

/// The value as a count, e.g. `max_restarts = 5`; zero refused unless `zero_ok`.
pub fn count(
    cx: &Ctxt,
    key: &Ident,
    value: &TokenStream,
    example: u32,
    zero_ok: bool,
) -> Option<u32> {
    let parsed = syn::parse2::<syn::LitInt>(unwrap_invisible(value.clone()))
        .ok()
        .and_then(|lit| lit.base10_parse::<u32>().ok());
    match parsed {
        Some(0) if !zero_ok => {
            cx.error_spanned_by(
                spanned(key, value),
                format!("[coord::E0020] `{key} = 0` makes no sense: give at least 1, e.g. `{key} = {example}`"),
            );
            None
        }
        Some(n) => Some(n),
        None => {
            cx.error_spanned_by(
                spanned(key, value),
                format!("[coord::E0020] `{key}` expects a whole number, e.g. `{key} = {example}`"),
            );
            None
        }
    }
}

/// The value as `true` or `false`.
pub fn boolean(cx: &Ctxt, key: &Ident, value: &TokenStream) -> Option<bool> {
    match syn::parse2::<syn::LitBool>(unwrap_invisible(value.clone())) {
        Ok(lit) => Some(lit.value),
        Err(_) => {
            cx.error_spanned_by(
                spanned(key, value),
                format!("[coord::E0014] `{key}` expects `true` or `false`, e.g. `{key} = true`"),
            );
            None
        }
    }
}

/// The value as one of a fixed set of bare words.
pub fn choice(cx: &Ctxt, key: &Ident, value: &TokenStream, choices: &[&str]) -> Option<Ident> {
    if let Ok(ident) = syn::parse2::<Ident>(unwrap_invisible(value.clone()))
        && choices.contains(&ident.to_string().as_str())
    {
        return Some(ident);
    }
    cx.error_spanned_by(
        spanned(key, value),
        format!(
            "[coord::E0014] `{key}` expects one of: {}",
            choices.join(", ")
        ),
    );
    None
}

/// The value of `crate = ...`: a path (`runtime`, `::runtime`) or a string of one.
pub fn crate_path(cx: &Ctxt, key: &Ident, value: &TokenStream) -> Option<TokenStream> {
    let value = unwrap_invisible(value.clone());
    if let Ok(lit) = syn::parse2::<LitStr>(value.clone()) {
        return match lit.parse::<Path>() {
            Ok(path) => Some(path.into_token_stream()),
            Err(_) => {
                cx.error_spanned_by(&lit, "[coord::E0014] `crate` expects the path coord is reachable at, e.g. `crate = runtime`");
                None
            }
        };
    }
    match syn::parse2::<Path>(value.clone()) {
        Ok(path) => Some(path.into_token_stream()),
        Err(_) => {
            cx.error_spanned_by(
                spanned(key, &value),
                "[coord::E0014] `crate` expects the path coord is reachable at, e.g. `crate = runtime` when Cargo.toml says `runtime = { package = \"coord\", ... }`",
            );
            None
        }
    }
}

/// The value's tokens for an error's span, or the key when there is no value.
pub fn spanned(key: &Ident, value: &TokenStream) -> TokenStream {
    if value.is_empty() {
        key.to_token_stream()
    } else {
        value.clone()
    }
}

/// The path's final segment, e.g. `AutoSync` of `DaemonType::AutoSync`.
pub fn last_ident(path: &Path) -> &Ident {
    // A parsed path always has at least one segment.
    &path.segments[path.segments.len() - 1].ident
}

/// A span covering `tokens` as far as rustc can join it: the first token's
/// start to the last token's end (see `expand::spanned_call`).
pub fn first_and_last_span(tokens: &TokenStream) -> (Span, Span) {
    let mut iter = tokens.clone().into_iter();
    let first = iter.next().map_or_else(Span::call_site, |t| t.span());
    let last = iter.last().map_or(first, |t| t.span());
    (first, last)
}

/// The span of a path, for messages that point at all of it.
pub fn path_spans(path: &Path) -> (Span, Span) {
    let tokens = path.to_token_stream();
    let (first, last) = first_and_last_span(&tokens);
    if tokens.is_empty() {
        (path.span(), path.span())
    } else {
        (first, last)
    }
}
