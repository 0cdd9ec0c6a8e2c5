//! Generates `generated_servers.rs`: `Region`, the values of the contract's `region` server
//! variable, and `Server`, each host of the contract (by its `x-name`) with its URL in every
//! region, so no Rust file repeats a host name or an `/api` prefix.

use anyhow::Context as _;
use proc_macro2::TokenStream;
use quote::quote;

use crate::contract::Contract;
use crate::operations::ident;

/// Builds the token stream of the region and server tables.
pub fn generate(contract: &Contract) -> anyhow::Result<TokenStream> {
    let regions = &contract.regions;
    let region_count = regions.len();
    let region_variants: Vec<_> = regions.iter().map(|r| ident(&r.name)).collect();
    let region_names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    let region_docs = regions
        .iter()
        .map(|r| format!(" `{}`: {}.", r.name, r.description));
    let region_descriptions = regions.iter().map(|r| r.description.as_str());
    let default = regions
        .iter()
        .find(|r| r.default)
        .map(|r| ident(&r.name))
        .context("the region variable has no default")?;
    let unknown_region = format!(
        "unknown region `{{}}`; known regions: {}",
        region_names.join(", ")
    );

    let servers = &contract.servers;
    let server_count = servers.len();
    let server_variants: Vec<_> = servers.iter().map(|s| ident(&s.name)).collect();
    let server_docs = servers
        .iter()
        .map(|s| format!(" `{}`: {}", s.url, s.description));
    let server_names = servers.iter().map(|s| s.name.as_str());
    let templates = servers.iter().map(|s| s.url.as_str());
    let prefixes = servers
        .iter()
        .map(|s| url_path(&s.url))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut url_arms = Vec::new();
    for server in servers {
        let variant = ident(&server.name);
        for region in regions {
            let region_variant = ident(&region.name);
            let url = server.url.replace("{region}", &region.name);
            url_arms.push(quote!((Server::#variant, Region::#region_variant) => #url));
        }
    }

    Ok(quote! {
        //! The contract's hosts, by region, as data.

        /// A Scalingo region: the value of the contract's `region` server variable.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Region {
            #( #[doc = #region_docs] #region_variants, )*
        }

        impl Region {
            /// Every region, in the order of the contract.
            pub const ALL: [Region; #region_count] = [#(Region::#region_variants),*];

            /// The region the contract names as the default.
            pub const DEFAULT: Region = Region::#default;

            /// Its name as Scalingo spells it (`osc-fr1`).
            pub const fn name(self) -> &'static str {
                match self { #( Region::#region_variants => #region_names, )* }
            }

            /// Where it is, in words.
            pub const fn description(self) -> &'static str {
                match self { #( Region::#region_variants => #region_descriptions, )* }
            }
        }

        impl ::std::default::Default for Region {
            fn default() -> Self {
                Region::DEFAULT
            }
        }

        impl ::std::fmt::Display for Region {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        /// A name that is not a region of the contract.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct UnknownRegion(pub ::std::string::String);

        impl ::std::fmt::Display for UnknownRegion {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, #unknown_region, self.0)
            }
        }

        impl ::std::error::Error for UnknownRegion {}

        impl ::std::str::FromStr for Region {
            type Err = UnknownRegion;
            fn from_str(name: &str) -> ::std::result::Result<Self, Self::Err> {
                Region::ALL
                    .into_iter()
                    .find(|region| region.name() == name)
                    .ok_or_else(|| UnknownRegion(name.to_owned()))
            }
        }

        /// A host of the contract, by its `x-name`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Server {
            #( #[doc = #server_docs] #server_variants, )*
        }

        impl Server {
            /// Every server, in the order the contract first names them.
            pub const ALL: [Server; #server_count] = [#(Server::#server_variants),*];

            /// Its `x-name`, e.g. `database_api`.
            pub const fn name(self) -> &'static str {
                match self { #( Server::#server_variants => #server_names, )* }
            }

            /// Its URL template, with `{region}` where the region goes.
            pub const fn url_template(self) -> &'static str {
                match self { #( Server::#server_variants => #templates, )* }
            }

            /// The path its URL ends with (`/api` for the Database API, empty otherwise): where
            /// its operations' paths start on a host that serves every server, like the sandbox.
            pub const fn path_prefix(self) -> &'static str {
                match self { #( Server::#server_variants => #prefixes, )* }
            }

            /// Its URL in `region` (the same in every region for a global host).
            pub const fn url(self, region: Region) -> &'static str {
                match (self, region) { #( #url_arms, )* }
            }
        }
    })
}

/// `https://db-api.{region}.scalingo.com/api` → `/api`; `https://auth.scalingo.com` → ``.
fn url_path(url: &str) -> anyhow::Result<String> {
    let after_scheme = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .with_context(|| format!("server URL {url} has no scheme"))?;
    Ok(after_scheme
        .find('/')
        .map(|at| after_scheme[at..].trim_end_matches('/').to_owned())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::url_path;

    #[test]
    fn the_path_prefix_is_what_follows_the_host() {
        assert_eq!(
            url_path("https://db-api.{region}.scalingo.com/api").unwrap(),
            "/api"
        );
        assert_eq!(url_path("https://auth.scalingo.com").unwrap(), "");
        assert!(url_path("auth.scalingo.com").is_err());
    }
}
