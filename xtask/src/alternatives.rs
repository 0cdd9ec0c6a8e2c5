//! `x-also-accepted` on a JSON answer: the other shapes of it a client must accept (the unwrapped
//! object the public documentation shows, an operation's id alone), which the Rust client accepts
//! too.
//!
//! Generators of other languages see one typed object per answer, the one the service sends: a
//! `oneOf` would make their users unwrap every answer by hand. The Rust side keeps accepting every
//! shape: before any generator here reads the contract, each answer with the extension gets a
//! component schema named by its `as`, a `oneOf` of the answer's schema and the alternatives
//! (typify makes it an untagged enum), and the answer points at it. The extension's `examples`
//! are the alternatives' examples, which the wire tests decode too.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail, ensure};
use openapiv3::{MediaType, OpenAPI, ReferenceOr, Response, Schema, SchemaData, SchemaKind};
use serde::Deserialize;

/// The extension's name.
pub const EXTENSION: &str = "x-also-accepted";

/// What the extension holds.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlsoAccepted {
    /// The name of the component schema that accepts every shape.
    #[serde(rename = "as")]
    name: String,
    /// The other shapes.
    schemas: Vec<ReferenceOr<Schema>>,
    /// Why they are accepted, for the component's description.
    description: String,
    /// Examples of the other shapes (read by the tests, not here).
    #[serde(default)]
    #[allow(dead_code, reason = "the tests read them from openapi.yaml")]
    examples: serde_json::Value,
}

/// The contract with every `x-also-accepted` turned into its component schema.
pub fn expand(mut spec: OpenAPI) -> anyhow::Result<OpenAPI> {
    let mut made: BTreeMap<String, Schema> = BTreeMap::new();
    for (path, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let id = operation
                .operation_id
                .clone()
                .unwrap_or_else(|| path.clone());
            for response in operation.responses.responses.values_mut() {
                if let ReferenceOr::Item(response) = response {
                    expand_response(response, &mut made).with_context(|| id.clone())?;
                }
            }
        }
    }
    if let Some(components) = spec.components.as_mut() {
        for (name, response) in components.responses.iter_mut() {
            if let ReferenceOr::Item(response) = response {
                expand_response(response, &mut made).with_context(|| name.clone())?;
            }
        }
    }
    if made.is_empty() {
        return Ok(spec);
    }
    let components = spec
        .components
        .as_mut()
        .context("an answer accepts other shapes, but the contract has no components")?;
    for (name, schema) in made {
        ensure!(
            !components.schemas.contains_key(&name),
            "{EXTENSION} names {name}, which is already a component schema"
        );
        components.schemas.insert(name, ReferenceOr::Item(schema));
    }
    Ok(spec)
}

fn expand_response(
    response: &mut Response,
    made: &mut BTreeMap<String, Schema>,
) -> anyhow::Result<()> {
    for (media_type, media) in response.content.iter_mut() {
        expand_media(media, made).with_context(|| media_type.clone())?;
    }
    Ok(())
}

fn expand_media(media: &mut MediaType, made: &mut BTreeMap<String, Schema>) -> anyhow::Result<()> {
    let Some(value) = media.extensions.shift_remove(EXTENSION) else {
        return Ok(());
    };
    let also: AlsoAccepted =
        serde_json::from_value(value).with_context(|| format!("reading {EXTENSION}"))?;
    ensure!(!also.schemas.is_empty(), "{EXTENSION} lists no schema");
    let Some(main) = media.schema.take() else {
        bail!("{EXTENSION} on an answer without a schema");
    };
    let schema = Schema {
        schema_data: SchemaData {
            description: Some(also.description),
            ..SchemaData::default()
        },
        schema_kind: SchemaKind::OneOf {
            one_of: std::iter::once(main).chain(also.schemas).collect(),
        },
    };
    if let Some(known) = made.get(&also.name) {
        ensure!(
            *known == schema,
            "{EXTENSION}: two answers name {} with different shapes",
            also.name
        );
    }
    media.schema = Some(ReferenceOr::Reference {
        reference: format!("#/components/schemas/{}", also.name),
    });
    made.insert(also.name, schema);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extension: &str) -> OpenAPI {
        let text = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /x:\n    get:\n      \
             operationId: get_x\n      responses:\n        '200':\n          description: x\n          \
             content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/Wrapped'}}\n{extension}\
             components:\n  schemas:\n    Wrapped: {{type: object}}\n    Bare: {{type: object}}\n"
        );
        serde_yaml::from_str(&text).expect("a valid test spec")
    }

    #[test]
    fn an_answer_with_alternatives_points_at_a_one_of_of_them_all() {
        let expanded = expand(spec(
            "              x-also-accepted:\n                as: XResponse\n                \
             description: either\n                schemas: [{$ref: '#/components/schemas/Bare'}]\n",
        ))
        .expect("expanded");
        let components = expanded.components.expect("components");
        let Some(ReferenceOr::Item(schema)) = components.schemas.get("XResponse") else {
            panic!("no XResponse");
        };
        let SchemaKind::OneOf { one_of } = &schema.schema_kind else {
            panic!("not a oneOf");
        };
        let references: Vec<&str> = one_of
            .iter()
            .filter_map(|schema| match schema {
                ReferenceOr::Reference { reference } => Some(reference.as_str()),
                ReferenceOr::Item(_) => None,
            })
            .collect();
        assert_eq!(
            references,
            ["#/components/schemas/Wrapped", "#/components/schemas/Bare"]
        );
        let text = serde_yaml::to_string(&expanded.paths).expect("yaml");
        assert!(text.contains("#/components/schemas/XResponse"), "{text}");
        assert!(!text.contains(EXTENSION), "{text}");
    }

    #[test]
    fn a_name_that_is_taken_or_an_empty_list_is_refused() {
        let taken = expand(spec(
            "              x-also-accepted:\n                as: Bare\n                \
             description: either\n                schemas: [{$ref: '#/components/schemas/Bare'}]\n",
        ));
        assert!(format!("{:#}", taken.expect_err("refused")).contains("already a component"));
        let empty = expand(spec(
            "              x-also-accepted:\n                as: XResponse\n                \
             description: either\n                schemas: []\n",
        ));
        assert!(format!("{:#}", empty.expect_err("refused")).contains("lists no schema"));
    }
}
