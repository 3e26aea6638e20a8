//! `#[derive(DaemonType)]`: names, parsing, and one node per variant.
//!
//! Each variant gets a `static` node holding its entry (the `#[daemon]`'s
//! slot, or the fallback trait's "missing" one); the node's initializer is
//! where a missing entry is reported, at the variant. The enum's
//! `DaemonKind::GRAPH` lists pointers to the nodes, which each entry's own
//! check walks.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;

use crate::ast::DaemonTypeEnum;
use crate::expand::{at, entry_slot, source_position, spanned_fail};

pub fn expand(input: &DaemonTypeEnum) -> TokenStream {
    let krate = &input.krate;
    let ident = &input.ident;
    let vis = &input.vis;
    let ident_str = ident.unraw().to_string();
    let variants: Vec<_> = input.variants.iter().map(|v| &v.ident).collect();
    let count = variants.len();
    let variant_strs: Vec<String> = variants.iter().map(|v| v.unraw().to_string()).collect();
    let names: Vec<&str> = input.variants.iter().map(|v| v.name.as_str()).collect();
    let indices = 0..count;
    let slots: Vec<_> = variants.iter().map(|v| entry_slot(v)).collect();
    let fallback_trait = format_ident!("MissingDaemonEntryOf{}", ident.unraw());
    let enum_location = crate::expand::location(krate, ident.span());

    // Each spelling once: a repeated literal would be an unreachable pattern.
    let mut seen = std::collections::HashSet::new();
    let from_str_arms: Vec<TokenStream> = variants
        .iter()
        .zip(&names)
        .zip(&variant_strs)
        .filter_map(|((v, snake), pascal)| {
            let spellings: Vec<String> = [
                (*snake).to_owned(),
                snake.to_uppercase(),
                pascal.clone(),
                snake.replace('_', "-"),
            ]
            .into_iter()
            .filter(|s| seen.insert(s.clone()))
            .collect();
            (!spellings.is_empty()).then(|| {
                quote! { #(#spellings)|* => ::core::result::Result::Ok(Self::#v), }
            })
        })
        .collect();

    // One static per variant: its initializer reads the variant's entry and,
    // spanned at the variant, reports it missing. Named after the variant, so
    // rustc's "evaluation of `_::AutoSync` failed here" names it too.
    let nodes = input.variants.iter().zip(&slots).map(|(variant, slot)| {
        let v = &variant.ident;
        let (file, line, _) = source_position(v.span());
        let pascal = v.unraw().to_string();
        let name = &variant.name;
        let message = format!(
            "[coord::E0001] {ident_str}::{pascal} ({file}:{line}) has no registry entry\n  \
             help: add one anywhere in this crate, e.g.\n            \
             #[daemon({ident_str}::{pascal}, runner = run_{name})]\n            \
             pub struct {pascal};\n        \
             with `async fn run_{name}(ctx: DaemonContext) -> Result<(), BoxError>`; or remove the variant"
        );
        let panic = spanned_fail(krate, v.span(), v.span(), &quote!(#message));
        quote_spanned! {at(v.span())=>
            #[allow(non_upper_case_globals)]
            static #v: #krate::__private::DaemonNode = {
                let slot = <#ident>::#slot;
                if !slot.is_present() {
                    #panic
                }
                #krate::__private::DaemonNode::new(slot, #pascal, #name)
            };
        }
    });

    quote! {
        impl #ident {
            /// Every variant, in declaration order.
            #vis const ALL: [Self; #count] = [#(Self::#variants),*];

            /// The snake_case name used in config, on the CLI and in logs.
            #[must_use]
            #vis const fn name(&self) -> &'static str {
                match self { #(Self::#variants => #names,)* }
            }
        }

        impl ::core::str::FromStr for #ident {
            type Err = #krate::UnknownName;
            /// Accepts `auto_sync`, `AUTO_SYNC`, `AutoSync` and `auto-sync`.
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    #(#from_str_arms)*
                    _ => ::core::result::Result::Err(
                        #krate::UnknownName::new("daemon", s, [#(#names),*]),
                    ),
                }
            }
        }

        impl ::core::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.name())
            }
        }

        const _: () = {
            // Supplies "missing" for each variant without a `#[daemon]`: an
            // entry's inherent const wins over a trait's in path resolution.
            #[allow(non_snake_case, non_camel_case_types)]
            trait #fallback_trait {
                #(
                    #[allow(non_upper_case_globals)]
                    const #slots: #krate::__private::DaemonSlot = #krate::__private::DaemonSlot::MISSING;
                )*
            }
            impl #fallback_trait for #ident {}

            #(#nodes)*

            #[diagnostic::do_not_recommend]
            impl #krate::DaemonKind for #ident {
                const TYPE_NAME: &'static str = #ident_str;
                const ALL: &'static [Self] = &[#(Self::#variants),*];
                const GRAPH: &'static #krate::__private::DaemonGraph = &#krate::__private::DaemonGraph {
                    type_name: #ident_str,
                    nodes: &[#(#krate::__private::DaemonNodeRef::new(&#variants)),*],
                    discriminants: &[#(Self::#variants as i128),*],
                };
                fn name(&self) -> &'static str {
                    #ident::name(self)
                }
                fn index(&self) -> usize {
                    match self { #(Self::#variants => #indices,)* }
                }
            }

            #krate::__private::inventory::submit! {
                #krate::DaemonKindSpec {
                    type_name: #ident_str,
                    type_id: ::core::any::TypeId::of::<#ident>,
                    graph: <#ident as #krate::DaemonKind>::GRAPH,
                    location: #enum_location,
                }
            }
        };
    }
}
