//! `#[derive(Event)]`

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::EventInput;

pub fn derive_event(input: &EventInput) -> TokenStream {
    let krate = &input.krate;
    let ident = &input.ident;
    let name = &input.name;
    let distributed = input.distributed;
    let external = input.external;
    quote! {
        impl #krate::Event for #ident {
            const NAME: &'static str = #name;
            const DISTRIBUTED: bool = #distributed;
            const EXTERNAL: bool = #external;
        }
    }
}
