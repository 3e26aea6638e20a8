//! `#[derive(DaemonType)]`

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::ast::DaemonTypeEnum;
use crate::case::snake_case;
use crate::expand::entry_const;

pub fn expand(input: &DaemonTypeEnum) -> TokenStream {
    let ident = &input.ident;
    let ident_str = ident.to_string();
    let variants = &input.variants;
    let count = variants.len();
    let variant_strs: Vec<String> = variants.iter().map(ToString::to_string).collect();
    let names: Vec<String> = variant_strs.iter().map(|v| snake_case(v)).collect();
    let indices = 0..count;
    let entries: Vec<_> = variants.iter().map(entry_const).collect();
    let fallback_trait = format_ident!("__CoordMissingDaemonEntry{}", ident);
    // Spanned at the enum's name, where a missing entry or a cycle is reported.
    let panic = quote_spanned! {ident.span()=> ::core::panic!("{}", error); };

    let from_str_arms = variants.iter().zip(&names).zip(&variant_strs).map(
        |((v, snake), pascal)| {
            let upper = snake.to_uppercase();
            let kebab = snake.replace('_', "-");
            quote! { #snake | #upper | #pascal | #kebab => ::core::result::Result::Ok(Self::#v), }
        },
    );

    quote! {
        impl #ident {
            /// Every variant, in declaration order.
            pub const ALL: [Self; #count] = [#(Self::#variants),*];

            /// The snake_case name used in config, on the CLI and in logs.
            pub const fn name(&self) -> &'static str {
                match self { #(Self::#variants => #names,)* }
            }

            #[doc(hidden)]
            pub const fn __coord_index(&self) -> usize {
                match self { #(Self::#variants => #indices,)* }
            }
        }

        impl ::coord::DaemonKind for #ident {
            const TYPE_NAME: &'static str = #ident_str;
            const ALL: &'static [Self] = &Self::ALL;
            fn name(&self) -> &'static str { #ident::name(self) }
            fn index(&self) -> usize { self.__coord_index() }
        }

        impl ::core::str::FromStr for #ident {
            type Err = ::coord::UnknownName;
            /// Accepts `auto_sync`, `AUTO_SYNC`, `AutoSync` and `auto-sync`.
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    #(#from_str_arms)*
                    _ => ::core::result::Result::Err(
                        ::coord::UnknownName::new("daemon", s, [#(#names),*]),
                    ),
                }
            }
        }

        impl ::core::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.name())
            }
        }

        #[doc(hidden)]
        #[allow(non_upper_case_globals, non_camel_case_types)]
        trait #fallback_trait {
            #(const #entries: ::coord::__private::DaemonEntry = ::coord::__private::DaemonEntry::MISSING;)*
        }
        impl #fallback_trait for #ident {}

        // One registration per enum; its initializer is where the completeness
        // and cycle checks run, so they cost one evaluated item, not one per variant.
        ::coord::__private::inventory::submit! {
            {
                const ENTRIES: [::coord::__private::DaemonEntry; #count] = [#(<#ident>::#entries),*];
                let verdict = ::coord::__private::check_daemon_kind(
                    #ident_str,
                    &[#(#variant_strs),*],
                    &[#(#names),*],
                    &ENTRIES,
                );
                if let ::core::option::Option::Some(error) = verdict.error() {
                    #panic
                }
                ::coord::DaemonKindSpec {
                    type_name: #ident_str,
                    variants: &[#(#variant_strs),*],
                    names: &[#(#names),*],
                    entries: &ENTRIES,
                    location: ::coord::Location {
                        module_path: ::core::module_path!(),
                        file: ::core::file!(),
                        line: ::core::line!(),
                    },
                }
            }
        }
    }
}
